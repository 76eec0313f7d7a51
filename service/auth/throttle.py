"""Login throttling: too many failures for one username or one client address within the
window answer 429 until the window has moved past them. Failures live in the database so that
every process counts the same ones, and the window runs on the service clock."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete
from sqlmodel import Session, col, select

from service.auth.errors import LoginThrottled
from service.auth.models import LoginFailure


def throttle_key(username: str) -> str:
    """Usernames are counted case-insensitively, so case variants share one budget."""
    return username.strip().lower()[:64]


def check(
    *,
    session: Session,
    username: str,
    client_address: str,
    now: datetime,
    max_failures: int,
    window: timedelta,
) -> None:
    """Raise :class:`LoginThrottled` (with the seconds to wait) if either key is locked."""
    waits = [
        _seconds_locked(session, condition, now=now, max_failures=max_failures, window=window)
        for condition in (
            col(LoginFailure.username) == throttle_key(username),
            col(LoginFailure.client_address) == client_address,
        )
    ]
    longest = max(waits)
    if longest > 0:
        raise LoginThrottled(longest)


def record_failure(
    *, session: Session, username: str, client_address: str, now: datetime, window: timedelta
) -> None:
    key = throttle_key(username)
    # Failures older than the window count for nothing any more: drop this key's stale rows.
    session.execute(
        delete(LoginFailure).where(
            col(LoginFailure.username) == key, col(LoginFailure.failed_at) <= now - window
        )
    )
    session.add(LoginFailure(username=key, client_address=client_address, failed_at=now))
    session.flush()


def clear_username(*, session: Session, username: str) -> None:
    """A successful login clears its username's failures (not its address's)."""
    session.execute(
        delete(LoginFailure).where(col(LoginFailure.username) == throttle_key(username))
    )


def _seconds_locked(
    session: Session,
    condition: ColumnElement[bool],
    *,
    now: datetime,
    max_failures: int,
    window: timedelta,
) -> int:
    recent = list(
        session.exec(
            select(LoginFailure.failed_at)
            .where(condition, col(LoginFailure.failed_at) > now - window)
            .order_by(col(LoginFailure.failed_at).desc())
            .limit(max_failures)
        )
    )
    if len(recent) < max_failures:
        return 0
    # Unlocked once the oldest of the last ``max_failures`` failures leaves the window.
    unlock_at = recent[-1] + window
    return max(1, math.ceil((unlock_at - now).total_seconds()))
