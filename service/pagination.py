"""Opaque cursors for ``{"items": [...], "next_cursor": ...}`` lists."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from service.errors import InvalidInput

MAX_LIMIT = 500

T = TypeVar("T")


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("the cursor is not one this service gave out") from None
    if not isinstance(value, dict):
        raise InvalidInput("the cursor is not one this service gave out")
    return value


def page_of(
    rows: Sequence[T], limit: int, cursor_of: Callable[[T], dict[str, Any]]
) -> tuple[list[T], str | None]:
    """Split rows fetched with ``limit + 1`` into the page and the cursor of the next one
    (None on the last page). ``cursor_of`` gives the sort key of a row."""
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, encode_cursor(cursor_of(page[-1])) if more else None
