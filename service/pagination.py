"""Keyset pagination for ``{"items": [...], "next_cursor": ...}`` lists.

A list sorts on a key (an id, or a time and an id, ...); its cursor is that key of the last row
of the page, opaque to the client. :func:`read_cursor` gives the key back, each field checked:
a cursor this service did not give out is a 422 everywhere, never a silent restart.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from schemas.common import instant_or_none
from service.errors import InvalidInput

MAX_LIMIT = 500

T = TypeVar("T")


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> InvalidInput:
    return InvalidInput(
        "the cursor is not one this service gave out",
        errors=[{"field": "query.cursor", "message": "unknown cursor", "type": "cursor"}],
    )


def _decode(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad_cursor() from None
    if not isinstance(value, dict):
        raise _bad_cursor()
    return value


def read_cursor(cursor: str | None, **fields: Callable[[Any], Any]) -> tuple[Any, ...] | None:
    """The sort key ``cursor`` carries, one value per named field in the order given, each
    passed through its converter (None for the first page)."""
    if not cursor:
        return None
    values = _decode(cursor)
    try:
        return tuple(convert(values[name]) for name, convert in fields.items())
    except (KeyError, ValueError, TypeError, OverflowError):
        raise _bad_cursor() from None


def a_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(str(value))


# Row ids and ranks are 64-bit signed integers in both databases.
_MAX_INT = 2**63 - 1


def an_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer")
    if not -_MAX_INT <= value <= _MAX_INT:
        raise ValueError("out of the database's range")
    return value


def a_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def an_aware_time(value: Any) -> datetime:
    """A time with its offset, within the range requests may use (see schemas.common)."""
    moment = instant_or_none(a_str(value))
    if moment is None:
        raise ValueError("a cursor time carries its offset and lies between 1970 and 9000")
    return moment


def page_of(
    rows: Sequence[T], limit: int, cursor_of: Callable[[T], dict[str, Any]]
) -> tuple[list[T], str | None]:
    """Split rows fetched with ``limit + 1`` into the page and the cursor of the next one
    (None on the last page). ``cursor_of`` gives the sort key of a row."""
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, encode_cursor(cursor_of(page[-1])) if more else None
