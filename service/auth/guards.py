"""Which write routes a regulator may use. Regulators are read-only across their jurisdiction
except for inspection scans (the scan service lets them do nothing but ``inspect``), the
anomaly workflow, and ending their own session.

:func:`service.deps.current_actor` applies :func:`regulator_may_write` to every write request,
so a new write route is closed to regulators by construction; opening one means adding its
route template here (and its row in the authorization matrix, tests/auth/test_matrix.py).
"""

from __future__ import annotations

import re

REGULATOR_WRITE_ROUTES: tuple[re.Pattern[str], ...] = (
    re.compile(r"^/api/v1/scans$"),
    re.compile(r"^/mobile/v1/sync$"),
    re.compile(r"^/api/v1/anomalies/\{[^}/]+\}/(acknowledge|resolve|dismiss)$"),
    re.compile(r"^/api/v1/auth/logout$"),
)


def regulator_may_write(route_template: str | None) -> bool:
    """Whether a regulator may send a write request to the route with this template."""
    if route_template is None:
        return False
    return any(p.match(route_template) for p in REGULATOR_WRITE_ROUTES)
