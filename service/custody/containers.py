"""Containers: registering labelled ones, and keeping their current-state columns in step with
the events of their chain."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlmodel import Session

from schemas.custody import ContainersCreate
from service.auth.actor import Actor
from service.auth.roles import Role
from service.custody.course import follow_course
from service.custody.ledger import EVENT_COLUMNS, append_event, chain_next
from service.custody.machine import Action, Incident, State
from service.custody.models import COURSE_COLUMNS, Container, CustodyEvent
from service.custody.stages import STAGE_STARTS
from service.db import as_loaded
from service.direct_sql import DirectStatement
from service.errors import Forbidden, NotFound
from service.labels.keys import LabelSigner
from service.labels.signing import short_code
from service.organizations.models import Site


def new_container_id() -> str:
    """128 random bits as 26 lowercase base32 characters: opaque and unguessable."""
    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()


def register_containers(
    *,
    session: Session,
    actor: Actor,
    signer: LabelSigner,
    request: ContainersCreate,
    now: datetime,
) -> tuple[uuid.UUID, list[tuple[Container, str]]]:
    """Make ``request.count`` labelled containers at one of the actor's sites.

    Returns the batch id and each container with its signed QR payload.
    """
    if actor.role is not Role.hospital_staff or actor.organization_id is None:
        raise Forbidden("only hospital staff register containers")
    site = session.get(Site, request.site_id)
    if site is None or site.organization_id != actor.organization_id:
        raise NotFound(f"site {request.site_id} not found")
    batch_id = uuid.uuid4()
    made: list[tuple[Container, str]] = []
    for _ in range(request.count):
        container, _event = register_container(
            session=session,
            actor=actor,
            signer=signer,
            container_id=new_container_id(),
            category=request.category,
            site_id=site.id,
            department=request.department,
            epidemic=request.epidemic,
            batch_id=batch_id,
            occurred_at=now,
            recorded_at=now,
        )
        made.append((container, container.qr_payload or ""))
    session.flush()
    return batch_id, made


def register_container(
    *,
    session: Session,
    actor: Actor,
    signer: LabelSigner,
    container_id: str,
    category: str,
    site_id: uuid.UUID,
    department: str | None,
    epidemic: bool,
    batch_id: uuid.UUID,
    occurred_at: datetime,
    recorded_at: datetime,
    client_time: datetime | None = None,
    client_event_id: str | None = None,
    device_id: str | None = None,
) -> tuple[Container, CustodyEvent]:
    """One labelled container of ``actor``'s organization at one of its sites, with its signed
    label and its ``register`` event (the caller checks the site and flushes)."""
    assert actor.organization_id is not None
    container = Container(
        id=container_id,
        category=category,
        origin_organization_id=actor.organization_id,
        origin_site_id=site_id,
        department=department,
        epidemic=epidemic,
        state=State.labelled,
        custodian_organization_id=actor.organization_id,
        holder_organization_id=actor.organization_id,
        batch_id=batch_id,
        label_key_id=signer.key_id,
        qr_payload=signer.sign(container_id),
        short_code=short_code(container_id),
        created_at=occurred_at,
        state_since=occurred_at,
        stage_since=occurred_at,
    )
    session.add(container)
    event = append_event(
        session,
        container,
        action=Action.register,
        from_state=None,
        to_state=State.labelled,
        actor_user_id=actor.user_id,
        actor_organization_id=actor.organization_id,
        custodian_before=None,
        custodian_after=actor.organization_id,
        site_id=site_id,
        occurred_at=occurred_at,
        client_time=client_time,
        recorded_at=recorded_at,
        device_id=device_id or actor.device_id,
        client_event_id=client_event_id,
        note=None,
    )
    return container, event


def apply_event(container: Container, event: CustodyEvent) -> None:
    """Move the container's current-state columns along with an accepted event."""
    if event.to_state != container.state:
        if event.to_state == State.lost:
            container.state_before_loss = container.state
        elif container.state == State.lost:
            container.state_before_loss = None
        container.state = event.to_state
        container.state_since = event.occurred_at
        if event.action in STAGE_STARTS:
            container.stage_since = event.occurred_at
    container.custodian_organization_id = event.custodian_after
    if event.action in (Action.pickup, Action.receive):
        assert event.actor_organization_id is not None
        container.holder_organization_id = event.actor_organization_id
    if event.action == Action.pickup and event.manifest_id is not None:
        container.current_manifest_id = event.manifest_id
    follow_course(container, event)


def rebuild_current(
    container: Container, standing: Sequence[CustodyEvent], correction: CustodyEvent
) -> None:
    """After an event is voided, the current-state columns follow the events still standing."""
    last = standing[-1]
    if container.state != correction.to_state:
        container.state = correction.to_state
        container.state_since = last.occurred_at
    container.custodian_organization_id = correction.custodian_after
    holder = container.origin_organization_id
    manifest_id = None
    before_loss = None
    for e in standing:
        if e.action in STAGE_STARTS:
            container.stage_since = e.occurred_at
        if e.action in (Action.pickup, Action.receive) and e.actor_organization_id is not None:
            holder = e.actor_organization_id
        if e.action == Action.pickup:
            manifest_id = e.manifest_id
        if e.incident == Incident.lost:
            before_loss = e.from_state
    container.holder_organization_id = holder
    container.current_manifest_id = manifest_id
    container.state_before_loss = before_loss if container.state == State.lost else None


# The columns an accepted event moves: those :func:`apply_event` keeps (the course included)
# and the chain head.
_MOVED = (
    "state",
    "state_since",
    "stage_since",
    "custodian_organization_id",
    "holder_organization_id",
    "current_manifest_id",
    "state_before_loss",
    "last_seq",
    "last_hash",
    "last_event_at",
    *COURSE_COLUMNS,
)
_TABLE = Container.__table__  # type: ignore[attr-defined]
_EVENT = CustodyEvent.__table__  # type: ignore[attr-defined]
# The container's moved columns, only where its chain head is still the one locked.
_MOVE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("locked_id"), _TABLE.c.last_seq == bindparam("locked_seq"))
    .values({name: bindparam(name, type_=_TABLE.c[name].type) for name in _MOVED})
)
_ADVANCE = DirectStatement(_MOVE)
_INSERT_EVENT = DirectStatement(
    insert(_EVENT).values(
        {name: bindparam(name, type_=_EVENT.c[name].type) for name in EVENT_COLUMNS}
    )
)
# PostgreSQL, one round trip for both writes of a scan: WITH moved AS (UPDATE container …
# WHERE the head is still the one locked RETURNING id) INSERT INTO custody_event … SELECT …
# FROM moved RETURNING id. The event is inserted only if the container moved.
_MOVED_ROW = _MOVE.returning(_TABLE.c.id).cte("moved")
_ADVANCE_AND_CHAIN = DirectStatement(
    insert(_EVENT)
    .from_select(
        EVENT_COLUMNS,
        select(
            *(bindparam(f"event_{name}", type_=_EVENT.c[name].type) for name in EVENT_COLUMNS)
        ).select_from(_MOVED_ROW),
    )
    .returning(_EVENT.c.id)
    .add_cte(_MOVED_ROW)
)


def advance(connection: Connection, container: Container, **fields: Any) -> CustodyEvent:
    """Chain a new event onto ``container`` (locked by the caller, outside the session), move
    the container's current columns along with it, and write both straight on the driver
    (:mod:`service.direct_sql`): the container only if its stored head is still the one it was
    locked at, the event only then. One statement on PostgreSQL (a round trip saved on every
    scan); two on SQLite. Returns the event, outside the session."""
    locked_seq = container.last_seq
    row = chain_next(container, fields)
    event = as_loaded(CustodyEvent, {**row, "id": None})
    apply_event(container, event)
    params = _advance_params(container, locked_seq)
    if connection.dialect.name == "postgresql":
        params.update((f"event_{name}", value) for name, value in row.items())
        event.id = _ADVANCE_AND_CHAIN.scalar(connection, params)
        if event.id is None:
            raise _moved_on(container)
        return event
    if _ADVANCE.write(connection, params).rowcount != 1:
        raise _moved_on(container)
    event.id = _INSERT_EVENT.write(connection, row).lastrowid
    return event


def _advance_params(container: Container, locked_seq: int) -> dict[str, Any]:
    values = {name: getattr(container, name) for name in _MOVED}
    return {"locked_id": container.id, "locked_seq": locked_seq, **values}


def _moved_on(container: Container) -> RuntimeError:
    return RuntimeError(f"container {container.id} moved on while locked")
