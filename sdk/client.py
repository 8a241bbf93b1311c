"""The one HTTP client of the SDK: explicit timeouts, errors translated in one place.

Requests ride out a server restart: for up to `STRATA_RETRY_SECONDS` a request is sent
again when the server could not be reached (nothing was sent, so any request may be),
and, for idempotent ones, when the connection broke before the answer arrived or the
server answered 502/503/504. Idempotent are GET, HEAD, PUT, DELETE, and the POSTs and
PATCHes a caller marks `idempotent=True` (asking which blobs are missing, uploading
a batch of blobs, committing a version: a commit of content the collection already
holds returns that version; asking for upload or download URLs; finishing a run).
A body given as a callable is produced afresh for every attempt.
"""

import itertools
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from sdk import errors
from sdk.settings import ClientSettings

API_PREFIX = "/api/v1"
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE"}
RETRY_STATUSES = {502, 503, 504}
BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 2.0
STATUS_ERRORS: dict[int, type[errors.StrataError]] = {
    400: errors.ValidationError,
    401: errors.UnauthorizedError,
    403: errors.UnauthorizedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    413: errors.ValidationError,
    422: errors.ValidationError,
}


class Client:
    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        headers = {"strata-author": settings.author}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._http = httpx.Client(
            base_url=settings.url.rstrip("/") + API_PREFIX,
            headers=headers,
            timeout=httpx.Timeout(settings.timeout, connect=10.0),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
            # Plain-http URLs never use TLS: skip loading the CA bundle (~40 ms per client).
            verify=settings.url.startswith("https://"),
        )

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return its decoded JSON (None for an empty body)."""
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, *, idempotent: bool = False, **kwargs: Any) -> Any:
        return self.request("POST", path, idempotent=idempotent, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, *, idempotent: bool = False, **kwargs: Any) -> Any:
        return self.request("PATCH", path, idempotent=idempotent, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[Iterable[bytes]]:
        """Yield the response body as chunks; HTTP errors are raised before the first chunk.

        A body cut short after a good start raises IntegrityError: what arrived is
        incomplete, whatever the cause."""
        try:
            with self._http.stream(method, path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_status(response)
                yield _complete_body(response, path)
        except httpx.TransportError as exc:
            raise _unavailable(self.settings.url, exc) from None

    def _send(
        self, method: str, path: str, *, idempotent: bool = False, **kwargs: Any
    ) -> httpx.Response:
        content = kwargs.pop("content", None)
        replayable = content is None or callable(content) or isinstance(content, bytes | str)
        may_repeat = replayable and (idempotent or method in IDEMPOTENT)
        deadline = time.monotonic() + self.settings.retry_seconds
        for attempt in itertools.count():
            body = content() if callable(content) else content
            try:
                response = self._http.request(method, path, content=body, **kwargs)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if not (may_repeat or (never_sent and replayable)) or not _wait(attempt, deadline):
                    raise _unavailable(self.settings.url, exc) from None
                continue
            if response.status_code in RETRY_STATUSES and may_repeat and _wait(attempt, deadline):
                continue
            raise_for_status(response)
            return response
        raise AssertionError("unreachable")


def _wait(attempt: int, deadline: float) -> bool:
    """Sleep before the next attempt; False when none is left before `deadline`."""
    pause = min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2**attempt)
    if time.monotonic() + pause > deadline:
        return False
    time.sleep(pause)
    return True


def _complete_body(response: httpx.Response, path: str) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes()
    except httpx.TransportError as exc:
        raise errors.IntegrityError(f"response to {path} arrived incomplete: {exc}") from None


def raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    if isinstance(detail, list):  # FastAPI request validation errors
        detail = "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}" for item in detail
        )
    status = response.status_code
    error_type = STATUS_ERRORS.get(status)
    if error_type is None:
        error_type = errors.ServerError if status >= 500 else errors.ValidationError
    raise error_type(f"{detail} (HTTP {status})", status_code=status)


def _unavailable(url: str, exc: Exception) -> errors.ServerUnavailableError:
    return errors.ServerUnavailableError(f"cannot reach the Strata server at {url}: {exc}")
