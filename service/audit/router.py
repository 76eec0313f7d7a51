"""GET /api/v1/audit: the write log, for administrators (all) and regulators (their
jurisdiction)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from schemas.audit import AuditEntryPublic
from schemas.common import Instant, Page
from service.audit import service
from service.auth.dependencies import RegulatorOrAdmin
from service.deps import SessionDep
from service.pagination import MAX_LIMIT, an_int, page_of, read_cursor

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=Page[AuditEntryPublic])
def list_audit(
    session: SessionDep,
    actor: RegulatorOrAdmin,
    user_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    since: Instant | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[AuditEntryPublic]:
    """Every write request (who, organization, method, route, target, time, address,
    outcome), oldest first; regulators see the entries of organizations in their
    jurisdiction."""
    after = read_cursor(cursor, id=an_int)
    after_id = after[0] if after else None
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
