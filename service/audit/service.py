"""Reading the audit log: administrators see all of it, regulators their jurisdiction's."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from service.audit.models import AuditEntry
from service.auth.actor import Actor
from service.auth.scope import in_jurisdiction


def list_entries(
    *,
    session: Session,
    actor: Actor,
    user_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    since: datetime | None,
    after_id: int | None,
    limit: int,
) -> list[AuditEntry]:
    """Entries in the order they were written (oldest first), after ``after_id``."""
    query = select(AuditEntry).order_by(col(AuditEntry.id)).limit(limit)
    if not actor.is_admin:
        query = query.where(in_jurisdiction(actor, AuditEntry.organization_id))
    if user_id is not None:
        query = query.where(AuditEntry.user_id == user_id)
    if organization_id is not None:
        query = query.where(AuditEntry.organization_id == organization_id)
    if since is not None:
        query = query.where(col(AuditEntry.occurred_at) >= since)
    if after_id is not None:
        query = query.where(col(AuditEntry.id) > after_id)
    return list(session.exec(query))
