"""`Results`: the lazy answer of a search. Pages are fetched as iteration reaches
them; `len()` and indexing fetch what they need and keep it."""

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from sdk.connection import Connection

T = TypeVar("T")
PAGE_SIZE = 500


class Results(Generic[T]):
    def __init__(
        self,
        conn: Connection,
        target: str,
        body: dict[str, Any],
        wrap: Callable[[dict[str, Any]], T],
    ) -> None:
        self._conn = conn
        self._target = target
        self._body = {key: value for key, value in body.items() if value is not None}
        self._wrap = wrap
        self._items: list[T] = []
        self._cursor: str | None = None
        self._done = False

    def __iter__(self) -> Iterator[T]:
        index = 0
        while True:
            while index < len(self._items):
                yield self._items[index]
                index += 1
            if self._done:
                return
            self._fetch_page()

    def __len__(self) -> int:
        while not self._done:
            self._fetch_page()
        return len(self._items)

    def __getitem__(self, index: int) -> T:
        if index < 0:
            len(self)
        while index >= len(self._items) and not self._done:
            self._fetch_page()
        return self._items[index]

    def _fetch_page(self) -> None:
        body = {"limit": PAGE_SIZE, **self._body, "cursor": self._cursor}
        page = self._conn.client.post(f"/query/{self._target}", json=body)
        self._items += [self._wrap(item) for item in page["items"]]
        self._cursor = page["next_cursor"]
        self._done = self._cursor is None

    def __repr__(self) -> str:
        return f"<Results {self._target} {self._body.get('filter') or {}}>"
