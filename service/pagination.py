"""Opaque cursors for ``{"items": [...], "next_cursor": ...}`` lists."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from service.errors import InvalidInput

MAX_LIMIT = 500


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
