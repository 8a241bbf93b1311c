"""Checking what a page's form or query string sent, with messages a person can act on."""

from typing import Any

from pydantic import ValidationError

from registry.errors import InvalidInput
from registry.schemas import QueryRequest

MAX_DEPTH = 20


def query_request(**fields: Any) -> QueryRequest:
    """A search request built from page parameters (a cursor pasted by hand included)."""
    try:
        return QueryRequest(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidInput(f"{'.'.join(map(str, error['loc']))}: {error['msg']}") from None


def parse_depth(raw: str) -> int:
    """The lineage depth field: a whole number of edges from 1 to MAX_DEPTH."""
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_DEPTH:
        raise InvalidInput(f"depth must be a whole number from 1 to {MAX_DEPTH}, not {raw!r}")
    return int(text)


def parse_offset(raw: str) -> int:
    text = raw.strip() or "0"
    if not text.isdigit() or len(text) > 12:
        raise InvalidInput(f"offset must be a whole number, not {raw!r}")
    return int(text)
