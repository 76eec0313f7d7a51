"""Which event times a scan may carry.

A phone stamps each scan with its own clock (``scanned_at``) and may send it days later from
its offline queue. Durations are measured on that time, so a time that cannot be true would
become the start of a stage the sweep measures from (a scan dated year 1 makes every limit
look blown). Refused:

- a time before the container was registered (less the clock-skew tolerance: a phone clock a
  few minutes behind the server's is normal and only flagged ``clock_skew``);
- a time older than ``MAX_OFFLINE_AGE`` before the server receives it. 30 days: the lifetime
  of a session by default, far beyond the longest offline stretch the phones see (a basement
  or a long road trip is hours), and still inside every regulatory clock (storage 48 h,
  manifest confirmation 5 working days), so a scan held longer is of no use for them and
  more likely a wrong clock than a late phone.

A refused scan is still recorded as a refused attempt, like every refusal.
"""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_OFFLINE_AGE = timedelta(days=30)
# How far behind the server a phone's clock may be before it counts as wrong.
CLOCK_TOLERANCE = timedelta(minutes=10)


def event_time_problem(
    *, scanned_at: datetime, registered_at: datetime, now: datetime
) -> str | None:
    """Why ``scanned_at`` cannot be this container's event time, or None if it can."""
    if scanned_at < registered_at - CLOCK_TOLERANCE:
        return (
            f"scanned_at {scanned_at.isoformat()} is before the container was registered "
            f"({registered_at.isoformat()}); check the phone's clock"
        )
    if scanned_at < now - MAX_OFFLINE_AGE:
        return (
            f"scanned_at {scanned_at.isoformat()} is more than {MAX_OFFLINE_AGE.days} days "
            "before the server received the scan, longer than a phone's offline queue holds "
            "scans; check the phone's clock"
        )
    return None
