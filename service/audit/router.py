"""GET /api/v1/audit: the write log, for administrators (all) and regulators (their
jurisdiction)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from schemas.audit import AuditEntryPublic
from schemas.common import Page
from service.audit import service
from service.deps import RegulatorOrAdmin, SessionDep
from service.errors import InvalidInput
from service.pagination import MAX_LIMIT, decode_cursor, page_of

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=Page[AuditEntryPublic])
def list_audit(
    session: SessionDep,
    actor: RegulatorOrAdmin,
    user_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    since: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[AuditEntryPublic]:
    """Every write request (who, organization, method, route, target, time, address,
    outcome), oldest first; regulators see the entries of organizations in their
    jurisdiction."""
    if since is not None and since.tzinfo is None:
        raise InvalidInput("since needs a UTC offset (RFC 3339)")
    after = decode_cursor(cursor)
    after_id = after.get("id") if after else None
    if after_id is not None and not isinstance(after_id, int):
        raise InvalidInput("the cursor is not one this service gave out")
    rows = service.list_entries(
        session=session,
        actor=actor,
        user_id=user_id,
        organization_id=organization_id,
        since=since,
        after_id=after_id,
        limit=limit + 1,
    )
    rows, next_cursor = page_of(rows, limit, lambda r: {"id": r.id})
    return Page[AuditEntryPublic](
        items=[AuditEntryPublic.model_validate(r) for r in rows], next_cursor=next_cursor
    )
