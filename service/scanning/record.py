"""The custody write of one scan: verify the label, lock the container, apply the state machine
and the custody checks, append the chained event. A refused scan is recorded as evidence (with
what the anomaly rules make of it) and raised."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from schemas.custody import AnomalyBrief, ScanCreate
from service.anomalies.refusal import RefusedScan
from service.anomalies.scan import AcceptedScan, PriorEvent
from service.auth.actor import Actor
from service.custody.containers import advance
from service.custody.corrections import correct
from service.custody.errors import (
    EventTimeRefused,
    ScanRefusal,
    UnregisteredContainer,
    label_refusal,
    transition_refusal,
)
from service.custody.event_time import event_time_problem
from service.custody.machine import Action, ScanFacts, TransitionError, next_state
from service.custody.models import Container, ScanRejection
from service.labels.signing import LabelError
from service.scanning.checks import check_custody, check_site
from service.scanning.held import Held, ScanBatch, load_held

# A phone clock this far ahead of the server is wrong (SPEC §4, clock_skew).
MAX_CLOCK_AHEAD = timedelta(minutes=10)

# Flags a refused scan; returns the anomalies it raised or named (each with the attributes of
# schemas.custody.AnomalyBrief), which the refusal's problem body lists.
OnRefusal = Callable[[Session, RefusedScan], Sequence[Any]]


def record_scan(
    *,
    session: Session,
    actor: Actor,
    scan: ScanCreate,
    batch: ScanBatch,
    now: datetime,
    custody_on_receipt_scan: bool = False,
    on_refusal: OnRefusal | None = None,
) -> AcceptedScan:
    """Apply one scan. A refused scan is recorded, flagged through ``on_refusal``, and raised
    as its :class:`ScanRefusal`. ``batch`` holds what the scans of this transaction read once
    (label verdicts, locked containers)."""
    container: Container | None = None
    try:
        label = batch.label(scan.qr_payload)
        if isinstance(label, LabelError):
            raise label_refusal(label) from None
        if scan.action is Action.correct:
            # Corrections recompute the container from its chain through the session.
            batch.held.pop(label.container_id, None)
            container = _lock_container(session, label.container_id)
            held = Held(container, None) if container is not None else None
        else:
            held = _held(session, batch, label.container_id)
            container = held.container if held is not None else None
        if held is None or container is None:
            raise UnregisteredContainer("no container is registered under this label")
        time_problem = event_time_problem(
            scanned_at=scan.scanned_at, registered_at=container.created_at, now=now
        )
        if time_problem is not None:
            raise EventTimeRefused(time_problem)
        accepted = _apply_scan(session, actor, scan, held, now, custody_on_receipt_scan)
    except ScanRefusal as refusal:
        _record_refusal(session, actor, scan, now, container, refusal, on_refusal)
        raise
    if scan.action is not Action.correct:
        event = accepted.event
        batch.held[container.id] = Held(
            container,
            PriorEvent(
                event.occurred_at,
                event.latitude,
                event.longitude,
                event.accuracy_m,
                event.site_id,
            ),
        )
    return accepted


def _held(session: Session, batch: ScanBatch, container_id: str) -> Held | None:
    """The container locked for this scan, from the batch when it read it already."""
    found = batch.held.get(container_id)
    if found is not None:
        return found
    held = load_held(session.connection(), [container_id]).get(container_id)
    if held is not None:
        batch.held[container_id] = held
    return held


def _apply_scan(
    session: Session,
    actor: Actor,
    scan: ScanCreate,
    held: Held,
    now: datetime,
    custody_on_receipt_scan: bool,
) -> AcceptedScan:
    container = held.container
    occurred_at = min(scan.scanned_at, now)
    ahead = scan.scanned_at - now
    clock_ahead = ahead if ahead > MAX_CLOCK_AHEAD else None

    if scan.action is Action.correct:
        event = correct(
            session=session,
            actor=actor,
            scan=scan,
            container=container,
            occurred_at=occurred_at,
            now=now,
        )
        return AcceptedScan(event=event, container=container, clock_ahead=clock_ahead)

    state = container.state
    facts = ScanFacts(
        weight_kg=scan.weight_kg,
        method=scan.method,
        incident=scan.incident,
        has_manifest=scan.manifest_id is not None,
    )
    try:
        to_state = next_state(
            state=state,
            action=scan.action,
            role=actor.role,
            facts=facts,
            state_before_loss=container.state_before_loss,
        )
    except TransitionError as exc:
        raise transition_refusal(exc, state) from None

    manifest = check_custody(session, actor, scan, container, held.trip)
    site = check_site(session, actor, scan)

    custodian_before = container.custodian_organization_id
    custodian_after = custodian_before
    if scan.action is Action.receive and custody_on_receipt_scan:
        assert actor.organization_id is not None
        custodian_after = actor.organization_id

    # The event and the container's moved columns, written with Core, no flush: one statement
    # on PostgreSQL, guarded by the chain head locked.
    stage_since_before = container.stage_since
    event = advance(
        session.connection(),
        container,
        action=scan.action,
        from_state=state,
        to_state=to_state,
        actor_user_id=actor.user_id,
        actor_organization_id=actor.organization_id,
        custodian_before=custodian_before,
        custodian_after=custodian_after,
        site_id=site.id if site else None,
        latitude=scan.latitude,
        longitude=scan.longitude,
        accuracy_m=scan.accuracy_m,
        weight_kg=scan.weight_kg,
        manifest_id=scan.manifest_id,
        method=scan.method,
        incident=scan.incident,
        occurred_at=occurred_at,
        client_time=scan.scanned_at,
        recorded_at=now,
        device_id=actor.device_id or scan.device_id,
        client_event_id=scan.client_event_id,
        note=scan.note,
    )
    return AcceptedScan(
        event=event,
        container=container,
        previous_event=held.previous,
        stage_since_before=stage_since_before,
        site=site,
        manifest=manifest,
        clock_ahead=clock_ahead,
    )


def _lock_container(session: Session, container_id: str) -> Container | None:
    """Load a container into the session for writing (a correction): row-locked on PostgreSQL
    (SQLite writes are serialized), and read afresh, whatever the session held of it."""
    return session.exec(
        select(Container)
        .where(Container.id == container_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _record_refusal(
    session: Session,
    actor: Actor,
    scan: ScanCreate,
    now: datetime,
    container: Container | None,
    refusal: ScanRefusal,
    on_refusal: OnRefusal | None,
) -> None:
    """Keep the refused scan as evidence; its problem lists the anomalies it raised."""
    rejection = ScanRejection(
        container_id=container.id if container else None,
        qr_payload=scan.qr_payload[:300],
        action=scan.action,
        actor_user_id=actor.user_id,
        actor_organization_id=actor.organization_id,
        device_id=actor.device_id or scan.device_id,
        client_event_id=scan.client_event_id,
        occurred_at=min(scan.scanned_at, now),
        recorded_at=now,
        latitude=scan.latitude,
        longitude=scan.longitude,
        accuracy_m=scan.accuracy_m,
        status_code=refusal.status,
        problem_type=refusal.code,
        detail=refusal.detail[:2000],
    )
    session.add(rejection)
    session.flush()
    flagged = (
        on_refusal(session, RefusedScan(rejection=rejection, container=container, error=refusal))
        if on_refusal is not None
        else []
    )
    refusal.extra["anomalies"] = [
        AnomalyBrief.model_validate(a).model_dump(mode="json") for a in flagged
    ]
