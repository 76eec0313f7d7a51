"""What every detection trigger (an accepted scan, a refused scan, a manifest receipt) shares:
the small conversions facts need (whose profile judges is :class:`Profiles`' to say)."""

from __future__ import annotations

from typing import Any


def as_str(value: Any) -> str | None:
    return None if value is None else str(value)
