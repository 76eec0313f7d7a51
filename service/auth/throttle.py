"""Login throttling: logins are slowed down, never locked for everyone.

Failures are counted per (username, client address) pair. A pair may fail
``free_failures`` times; from then on each attempt must wait ``base`` seconds after the pair's
last failure, doubling with every further failure up to ``longest`` (429 with
``Retry-After``). A guesser from one address thus slows only itself: the account's owner,
logging in from elsewhere, is not held back. A second, looser count per address alone slows
one address that tries many usernames (password spraying), again only that address.

A failure counts for ``window`` after it happened; a successful login forgets its pair's
failures. Failures live in the database so that every process counts the same ones, and the
times run on the service clock. The client address is the one the app was given: behind a
reverse proxy in ``MEDWASTE_TRUSTED_PROXIES``, the address that proxy forwarded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete
from sqlmodel import Session, col, select

from service.auth.errors import LoginThrottled
from service.auth.models import LoginFailure

# Beyond this many failures the wait has long reached its ceiling: no need to read more rows.
_MOST_COUNTED = 40


@dataclass(frozen=True)
class Backoff:
    """How failures slow down further attempts (from the settings)."""

    free_failures: int
    free_failures_per_address: int
    base: timedelta
    longest: timedelta
    window: timedelta

    def wait_after(self, failures: int, *, free: int) -> timedelta:
        """The pause a key with ``failures`` recent failures must keep after its last one."""
        if failures < free:
            return timedelta(0)
        doublings = min(failures - free, _MOST_COUNTED)
        return min(self.longest, self.base * (1 << doublings))


def throttle_key(username: str) -> str:
    """Usernames are counted case-insensitively, so case variants share one budget."""
    return username.strip().lower()[:64]


def check(
    *, session: Session, username: str, client_address: str, now: datetime, backoff: Backoff
) -> None:
    """Raise :class:`LoginThrottled` (with the seconds to wait) if this pair, or this address,
    must still wait."""
    pair = (
        col(LoginFailure.username) == throttle_key(username),
        col(LoginFailure.client_address) == client_address,
    )
    waits = (
        _seconds_to_wait(session, pair, now=now, backoff=backoff, free=backoff.free_failures),
        _seconds_to_wait(
            session,
            (col(LoginFailure.client_address) == client_address,),
            now=now,
            backoff=backoff,
            free=backoff.free_failures_per_address,
        ),
    )
    longest = max(waits)
    if longest > 0:
        raise LoginThrottled(longest)


def record_failure(
    *, session: Session, username: str, client_address: str, now: datetime, window: timedelta
) -> None:
    key = throttle_key(username)
    # Failures older than the window count for nothing any more: drop this username's and this
    # address's stale rows.
    for stale in (
        col(LoginFailure.username) == key,
        col(LoginFailure.client_address) == client_address,
    ):
        session.execute(
            delete(LoginFailure).where(stale, col(LoginFailure.failed_at) <= now - window)
        )
    session.add(LoginFailure(username=key, client_address=client_address, failed_at=now))
    session.flush()


def clear_pair(*, session: Session, username: str, client_address: str) -> None:
    """A successful login forgets its pair's failures (not those from other addresses, nor
    its address's failures for other usernames)."""
    session.execute(
        delete(LoginFailure).where(
            col(LoginFailure.username) == throttle_key(username),
            col(LoginFailure.client_address) == client_address,
        )
    )


def _seconds_to_wait(
    session: Session,
    conditions: tuple[ColumnElement[bool], ...],
    *,
    now: datetime,
    backoff: Backoff,
    free: int,
) -> int:
    recent = list(
        session.exec(
            select(LoginFailure.failed_at)
            .where(*conditions, col(LoginFailure.failed_at) > now - backoff.window)
            .order_by(col(LoginFailure.failed_at).desc())
            .limit(free + _MOST_COUNTED)
        )
    )
    wait = backoff.wait_after(len(recent), free=free)
    if not wait:
        return 0
    allowed_at = recent[0] + wait
    if allowed_at <= now:
        return 0
    return max(1, math.ceil((allowed_at - now).total_seconds()))
