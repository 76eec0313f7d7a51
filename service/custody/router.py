"""Containers and their chains over HTTP: parse, call one service function, answer."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select

from schemas.common import Page
from schemas.custody import (
    Category,
    ChainEvent,
    ContainerPublic,
    ContainersCreate,
    ContainersCreated,
    ContainerWithLabel,
    EventChain,
    EventPublic,
    Vocabulary,
)
from service.audit_context import note_target
from service.auth.dependencies import CurrentActor
from service.custody.containers import register_containers
from service.custody.ledger import chain_of, verify_container_chain
from service.custody.machine import State
from service.custody.models import Container
from service.custody.scope import container_scope, visible_container
from service.custody.vocabulary import vocabulary
from service.deps import ClockDep, SessionDep
from service.labels.dependencies import SignerDep
from service.pagination import MAX_LIMIT, a_str, page_of, read_cursor
from service.tlog.service import log_indexes

router = APIRouter(prefix="/api/v1", tags=["custody"])


@router.get("/vocabulary", response_model=Vocabulary)
def get_vocabulary() -> Vocabulary:
    """The custody rules (who may take which action from which state, what each scan must
    carry, the timed stages) and the words scans use. Public, like the label keys: phones keep
    a copy to work offline."""
    return vocabulary()


@router.post("/containers", status_code=201, response_model=ContainersCreated)
def create_containers(
    body: ContainersCreate,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
    signer: SignerDep,
) -> ContainersCreated:
    """Register a batch of labelled containers at one of the caller's sites (hospital staff): each
    gets an id, a short code and a signed QR label; print them from the label sheet."""
    batch_id, made = register_containers(
        session=session,
        actor=actor,
        signer=signer,
        request=body,
        now=clock(),
    )
    note_target(request.scope, batch_id)
    return ContainersCreated(
        batch_id=batch_id,
        containers=[
            ContainerWithLabel(
                **ContainerPublic.model_validate(c).model_dump(),
                qr_payload=payload,
            )
            for c, payload in made
        ],
    )


@router.get("/containers", response_model=Page[ContainerPublic])
def list_containers(
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
    state: State | None = None,
    category: Category | None = None,
    organization_id: uuid.UUID | None = None,
    short_code: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z2-7]{4}-?[A-Za-z2-7]{4}$",
            description="the code printed under the QR code, e.g. ABCD-EF23",
        ),
    ] = None,
    stage_older_than_hours: Annotated[
        float | None,
        Query(gt=0, le=24 * 3650, description="only containers whose stage began longer ago"),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[ContainerPublic]:
    """The containers the caller may see, filtered by state, category, organization, short code
    or how long their stage has lasted, a page at a time."""
    query = select(Container).where(container_scope(actor))
    if short_code is not None:
        compact = short_code.replace("-", "").upper()
        query = query.where(Container.short_code == f"{compact[:4]}-{compact[4:]}")
    if stage_older_than_hours is not None:
        cutoff = clock() - timedelta(hours=stage_older_than_hours)
        query = query.where(col(Container.stage_since) < cutoff)
    if state is not None:
        query = query.where(Container.state == state)
    if category is not None:
        query = query.where(Container.category == category)
    if organization_id is not None:
        query = query.where(Container.origin_organization_id == organization_id)
    after = read_cursor(cursor, id=a_str)
    if after is not None:
        query = query.where(col(Container.id) > after[0])
    rows, next_cursor = page_of(
        list(session.exec(query.order_by(col(Container.id)).limit(limit + 1))),
        limit,
        lambda c: {"id": c.id},
    )
    return Page[ContainerPublic](
        items=[ContainerPublic.model_validate(c) for c in rows], next_cursor=next_cursor
    )


@router.get("/containers/{container_id}", response_model=ContainerPublic)
def get_container(container_id: str, session: SessionDep, actor: CurrentActor) -> Container:
    """One container: its state, custodian, holder and label."""
    return visible_container(session, actor, container_id)


@router.get("/containers/{container_id}/events", response_model=EventChain)
def container_events(container_id: str, session: SessionDep, actor: CurrentActor) -> EventChain:
    """A container's whole chain of custody events, oldest first, with the verdict of verifying its
    hash chain."""
    container = visible_container(session, actor, container_id)
    events = chain_of(session, container.id)
    verdict = verify_container_chain(container, events)
    in_log = log_indexes(session, [e.id for e in events if e.id is not None])
    corrected_by: dict[int, list[int]] = {}
    for e in events:
        if e.corrects_event_id is not None and e.id is not None:
            corrected_by.setdefault(e.corrects_event_id, []).append(e.id)
    return EventChain(
        container_id=container.id,
        events=[
            ChainEvent(
                **EventPublic.model_validate(e).model_dump(exclude={"log_index"}),
                log_index=in_log.get(e.id or 0),
                corrected_by=corrected_by.get(e.id or 0, []),
            )
            for e in events
        ],
        verified=verdict.verified,
        first_bad_event_id=verdict.first_bad_event_id,
        verification_detail=verdict.reason,
    )
