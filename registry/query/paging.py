"""Keyset pagination: a page continues after the (sort key, id) of the last row, so
rows added while a client pages never shift it (offsets would repeat or skip rows).
The cursor is that pair, opaque to clients (base64 JSON) and tied to its sort."""

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_

from registry.errors import InvalidInput
from registry.query.fields import Expr


def after_cursor(
    sort_column: Any, id_column: Any, cursor: tuple[Any, int], descending: bool
) -> Expr:
    value, last_id = cursor
    if descending:
        return or_(sort_column < value, and_(sort_column == value, id_column < last_id))
    return or_(sort_column > value, and_(sort_column == value, id_column > last_id))


def encode_cursor(sort: str, order: str, value: Any, row_id: int) -> str:
    if isinstance(value, datetime):
        value = {"time": value.isoformat()}
    raw = json.dumps({"sort": sort, "order": order, "value": value, "id": row_id})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, sort: str, order: str) -> tuple[Any, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        value, row_id = data["value"], data["id"]
        if (data["sort"], data["order"]) != (sort, order):
            raise InvalidInput("this cursor belongs to a query with another sort or order")
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["time"])
        if not isinstance(row_id, int) or not isinstance(value, str | int | float | datetime):
            raise ValueError
    except InvalidInput:
        raise
    except (ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidInput("cursor is not one this service returned") from None
    return value, row_id
