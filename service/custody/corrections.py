"""Corrections: a mistake is fixed by a ``correct`` event that points at the event it corrects
and says why (``did_not_occur`` | ``incorrect_data``), as GS1 EPCIS does; both stay visible.

Voiding an event (``did_not_occur``) recomputes the container's state and current columns from
the events still standing; every correction rebuilds the container's course (the times and
weights the reports count) from the chain it completes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from schemas.custody import ScanCreate
from service.auth.actor import Actor
from service.custody.containers import rebuild_current
from service.custody.course import set_course
from service.custody.errors import (
    AlreadyVoided,
    CorrectedEventNotFound,
    NotCorrectable,
    NotYourEvent,
)
from service.custody.ledger import append_event, chain_of, standing_events
from service.custody.machine import Action, ChainStep, CorrectionReason, replay
from service.custody.models import Container, CustodyEvent


def correct(
    *,
    session: Session,
    actor: Actor,
    scan: ScanCreate,
    container: Container,
    occurred_at: datetime,
    now: datetime,
) -> CustodyEvent:
    """Append the correction ``scan`` asks for to ``container`` (locked by the caller). Raises
    a :class:`service.custody.errors.ScanRefusal` when it cannot be made."""
    assert scan.corrects_event_id is not None and scan.correction_reason is not None
    target = session.get(CustodyEvent, scan.corrects_event_id)
    if target is None or target.container_id != container.id:
        raise CorrectedEventNotFound("no such event on this container")
    if not actor.is_admin and actor.organization_id != target.actor_organization_id:
        raise NotYourEvent("only the organization that recorded an event (or an admin) corrects it")
    if target.action in (Action.correct, Action.register):
        raise NotCorrectable(f"a '{target.action}' event cannot be corrected")
    events = chain_of(session, container.id)
    if any(
        e.corrects_event_id == target.id and e.correction_reason == CorrectionReason.did_not_occur
        for e in events
    ):
        raise AlreadyVoided("the event is already marked as one that did not occur")

    state = container.state
    standing = (
        standing_events(events, also_voiding=target.id)
        if scan.correction_reason is CorrectionReason.did_not_occur
        else None
    )
    to_state = state
    if standing is not None:
        if not standing:
            raise NotCorrectable("nothing would be left of the chain")
        to_state = replay(_steps(standing))
    custodian_after = container.custodian_organization_id
    if standing is not None and target.custodian_before != target.custodian_after:
        # Voiding the event that moved custody moves it back.
        custodian_after = target.custodian_before or custodian_after
    data = (
        scan.correction_data.model_dump(mode="json", exclude_none=True)
        if scan.correction_data
        else None
    )
    event = append_event(
        session,
        container,
        action=Action.correct,
        from_state=state,
        to_state=to_state,
        actor_user_id=actor.user_id,
        actor_organization_id=actor.organization_id,
        custodian_before=container.custodian_organization_id,
        custodian_after=custodian_after,
        corrects_event_id=target.id,
        correction_reason=scan.correction_reason,
        correction_data=data,
        occurred_at=occurred_at,
        client_time=scan.scanned_at,
        recorded_at=now,
        device_id=actor.device_id or scan.device_id,
        client_event_id=scan.client_event_id,
        note=scan.note,
    )
    if standing is not None:
        rebuild_current(container, standing, event)
    set_course(container, [*events, event])
    session.add(container)
    session.flush()
    return event


def _steps(events: Iterable[CustodyEvent]) -> list[ChainStep]:
    assert all(e.id is not None for e in events)
    return [ChainStep(event_id=e.id or 0, action=e.action, to_state=e.to_state) for e in events]
