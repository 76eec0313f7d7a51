"""What a request tells the audit log about itself: who made it and what it was aimed at.

Kept in the ASGI scope's ``state`` dict (what ``request.state`` wraps), which the audit
middleware reads once the response status is known. Functions take ``request.scope``.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

STATE_KEY = "medwaste_audit"


@dataclass
class AuditContext:
    user_id: uuid.UUID | None = None
    username: str | None = None
    organization_id: uuid.UUID | None = None
    device_id: str | None = None
    target_id: str | None = None
    # The status of the entry the request wrote in its own transaction (the scan routes do):
    # the middleware then writes no second row for that outcome.
    recorded_status: int | None = None


def audit_context(scope: MutableMapping[str, Any]) -> AuditContext:
    state: dict[str, Any] = scope.setdefault("state", {})
    ctx = state.get(STATE_KEY)
    if not isinstance(ctx, AuditContext):
        ctx = AuditContext()
        state[STATE_KEY] = ctx
    return ctx


def note_who(
    scope: MutableMapping[str, Any],
    *,
    user_id: uuid.UUID | None,
    username: str | None,
    organization_id: uuid.UUID | None,
    device_id: str | None = None,
) -> None:
    ctx = audit_context(scope)
    ctx.user_id, ctx.username, ctx.organization_id = user_id, username, organization_id
    ctx.device_id = device_id


def note_target(scope: MutableMapping[str, Any], target_id: object) -> None:
    """Name what a write acted on when the path does not (e.g. the id of what it created)."""
    audit_context(scope).target_id = str(target_id)[:100]
