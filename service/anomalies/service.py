"""The regulators' queue: who sees which anomalies, and the workflow open → acknowledged →
resolved | dismissed, each step recorded (append-only) with who, when and why.

Visibility: an admin sees all; a regulator sees their jurisdiction; anyone else sees the
anomalies of their own organization (read-only). Only regulators of the anomaly's
jurisdiction and admins move it along the workflow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, or_, true
from sqlmodel import Session, col, select

from service.anomalies.errors import AnomalyNotFound, IllegalAnomalyStep
from service.anomalies.models import Anomaly, AnomalyStatus, AnomalyStep, Severity
from service.auth.actor import Actor
from service.custody.models import CustodyEvent
from service.errors import Forbidden
from service.pagination import a_uuid, an_aware_time, an_int, page_of, read_cursor

# Legal workflow steps: from → the statuses it may move to.
TRANSITIONS: dict[AnomalyStatus, frozenset[AnomalyStatus]] = {
    AnomalyStatus.open: frozenset(
        {AnomalyStatus.acknowledged, AnomalyStatus.resolved, AnomalyStatus.dismissed}
    ),
    AnomalyStatus.acknowledged: frozenset({AnomalyStatus.resolved, AnomalyStatus.dismissed}),
    AnomalyStatus.resolved: frozenset(),
    AnomalyStatus.dismissed: frozenset(),
}

SEVERITY_RANK = {Severity.info: 0, Severity.warning: 1, Severity.critical: 2}


def can_step(current: AnomalyStatus, target: AnomalyStatus) -> bool:
    return target in TRANSITIONS[current]


def anomaly_scope(actor: Actor) -> ColumnElement[bool]:
    if actor.is_admin:
        return true()
    if actor.is_regulator:
        return col(Anomaly.jurisdiction) == actor.jurisdiction
    if actor.organization_id is None:
        return false()
    return col(Anomaly.organization_id) == actor.organization_id


def _rank() -> Any:
    return case(
        {s.value: rank for s, rank in SEVERITY_RANK.items()}, value=col(Anomaly.severity), else_=0
    )


@dataclass(frozen=True)
class AnomalyFilter:
    status: AnomalyStatus | None = None
    kind: str | None = None
    severity: Severity | None = None
    organization_id: uuid.UUID | None = None
    since: datetime | None = None
    container_id: str | None = None


def list_anomalies(
    *, session: Session, actor: Actor, filters: AnomalyFilter, cursor: str | None, limit: int
) -> tuple[list[Anomaly], str | None]:
    """Most severe first, then newest first; keyset-paginated."""
    rank = _rank()
    query = select(Anomaly).where(anomaly_scope(actor))
    if filters.status is not None:
        query = query.where(col(Anomaly.status) == filters.status)
    if filters.kind is not None:
        query = query.where(col(Anomaly.kind) == filters.kind)
    if filters.severity is not None:
        query = query.where(col(Anomaly.severity) == filters.severity)
    if filters.organization_id is not None:
        query = query.where(col(Anomaly.organization_id) == filters.organization_id)
    if filters.container_id is not None:
        # The container's own, and those of the trips it travelled on (a late trip is one
        # anomaly about its manifest, not one per bag).
        trips = select(CustodyEvent.manifest_id).where(
            col(CustodyEvent.container_id) == filters.container_id,
            col(CustodyEvent.manifest_id).is_not(None),
        )
        query = query.where(
            or_(
                col(Anomaly.container_id) == filters.container_id,
                col(Anomaly.manifest_id).in_(trips),
            )
        )
    if filters.since is not None:
        query = query.where(col(Anomaly.detected_at) >= filters.since)
    after = read_cursor(cursor, r=an_int, at=an_aware_time, id=a_uuid)
    if after is not None:
        r, at, last = after
        query = query.where(
            or_(
                rank < r,
                and_(rank == r, col(Anomaly.detected_at) < at),
                and_(rank == r, col(Anomaly.detected_at) == at, col(Anomaly.id) < last),
            )
        )
    rows = list(
        session.exec(
            query.order_by(
                rank.desc(), col(Anomaly.detected_at).desc(), col(Anomaly.id).desc()
            ).limit(limit + 1)
        )
    )
    rows, next_cursor = page_of(
        rows,
        limit,
        lambda last: {
            "r": SEVERITY_RANK[last.severity],
            "at": last.detected_at.isoformat(),
            "id": str(last.id),
        },
    )
    return rows, next_cursor


def get_anomaly(*, session: Session, actor: Actor, anomaly_id: uuid.UUID) -> Anomaly:
    anomaly = session.exec(
        select(Anomaly).where(col(Anomaly.id) == anomaly_id, anomaly_scope(actor))
    ).first()
    if anomaly is None:
        raise AnomalyNotFound(f"anomaly {anomaly_id} not found")
    return anomaly


def steps_of(session: Session, anomaly_id: uuid.UUID) -> list[AnomalyStep]:
    return list(
        session.exec(
            select(AnomalyStep)
            .where(col(AnomalyStep.anomaly_id) == anomaly_id)
            .order_by(col(AnomalyStep.at), col(AnomalyStep.id))
        )
    )


def step_anomaly(
    *,
    session: Session,
    actor: Actor,
    anomaly_id: uuid.UUID,
    to: AnomalyStatus,
    note: str | None,
    now: datetime,
) -> Anomaly:
    """Acknowledge, resolve or dismiss; 404 outside the actor's view, 403 for a reader who may
    not work the queue, 409 for a step the workflow does not allow."""
    anomaly = get_anomaly(session=session, actor=actor, anomaly_id=anomaly_id)
    if not (actor.is_admin or (actor.is_regulator and actor.jurisdiction == anomaly.jurisdiction)):
        raise Forbidden("only regulators of the jurisdiction and admins work the anomaly queue")
    locked = session.exec(
        select(Anomaly).where(col(Anomaly.id) == anomaly.id).with_for_update()
    ).one()
    session.refresh(locked)
    current = AnomalyStatus(locked.status)
    if not can_step(current, to):
        raise IllegalAnomalyStep(f"an anomaly that is {current} cannot be {to}")
    session.add(
        AnomalyStep(
            anomaly_id=locked.id,
            from_status=current,
            to_status=to,
            user_id=actor.user_id,
            note=note,
            at=now,
        )
    )
    locked.status = to
    locked.updated_at = now
    session.add(locked)
    session.flush()
    return locked
