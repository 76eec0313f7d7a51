"""Containers, their append-only custody events, refused scans, and scan receipts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    literal_column,
    not_,
)
from sqlmodel import Field, SQLModel

from service.custody.machine import Action, CorrectionReason, DisposalMethod, Incident, State
from service.db import EnumText, UTCDateTime, utcnow

COURSE_COLUMNS = (
    "collect_us",
    "collect_kg",
    "pickup_us",
    "receive_us",
    "receive_kg",
    "dispose_us",
)


class Container(SQLModel, table=True):
    __table_args__ = (
        # The sweep walks open containers by state and age; lists filter by origin and state.
        Index("ix_container_state_stage_since", "state", "stage_since"),
        Index("ix_container_origin_state", "origin_organization_id", "state"),
        Index("ix_container_custodian_state", "custodian_organization_id", "state"),
        Index("ix_container_holder_state", "holder_organization_id", "state"),
        Index("ix_container_current_manifest", "current_manifest_id"),
        Index("ix_container_created_at", "created_at"),
        # The reports' aggregates over a period's containers read nothing else (a covering
        # index: a province's year is read from it without touching the table).
        Index(
            "ix_container_course",
            "created_at",
            "origin_organization_id",
            "holder_organization_id",
            "custodian_organization_id",
            "epidemic",
            "state",
            *COURSE_COLUMNS,
        ),
    )

    id: str = Field(primary_key=True, max_length=32)
    category: str = Field(sa_type=String(20))
    origin_organization_id: uuid.UUID = Field(foreign_key="organization.id")
    origin_site_id: uuid.UUID | None = Field(default=None, foreign_key="site.id")
    department: str | None = Field(default=None, max_length=200)
    epidemic: bool = False
    state: State = Field(sa_type=EnumText(State, 20))
    # The legal custodian: changes with the manifest's signatures (SPEC §3).
    custodian_organization_id: uuid.UUID = Field(foreign_key="organization.id")
    # Who physically holds it: changes with the scans (collect, pickup, receive).
    holder_organization_id: uuid.UUID = Field(foreign_key="organization.id")
    # The trip it is on or last arrived by.
    current_manifest_id: uuid.UUID | None = Field(default=None, foreign_key="manifest.id")
    batch_id: uuid.UUID = Field(index=True)
    label_key_id: str = Field(max_length=32)
    # The signed QR payload printed on the label (not secret: anyone may read a label).
    qr_payload: str | None = Field(default=None, max_length=300)
    # The code printed under the QR code (``ABCD-EF23``), to find a label typed by hand.
    short_code: str = Field(max_length=9, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Event time at which the container entered its current state (drives the overdue rules).
    state_since: datetime = Field(sa_type=UTCDateTime)
    # Event time at which its current stage began: at the hospital from collection (a store
    # scan does not stop that clock), in transit from pickup, at a plant from receipt. The
    # overdue rules time stages; the sweep finds them through (state, stage_since).
    stage_since: datetime = Field(sa_type=UTCDateTime)
    # The chain head: the last event's number and hash (also detects a truncated chain).
    last_seq: int = 0
    last_hash: str = Field(default="0" * 64, max_length=64)
    last_event_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The state before a loss report, so that a found container goes back to it.
    state_before_loss: State | None = Field(default=None, sa_type=EnumText(State, 20))
    # Its course (service.custody.course): when the first standing collect, pickup, receive
    # and dispose happened, in microseconds since 1970 UTC, and the weights collected and
    # received after corrections.
    collect_us: int | None = Field(default=None, sa_type=BigInteger)
    pickup_us: int | None = Field(default=None, sa_type=BigInteger)
    receive_us: int | None = Field(default=None, sa_type=BigInteger)
    dispose_us: int | None = Field(default=None, sa_type=BigInteger)
    collect_kg: float | None = None
    receive_kg: float | None = None


_c = Container.__table__.c  # type: ignore[attr-defined]
# A container whose course is over: disposed, with its pickup, receipt and disposal on record.
# Its stays have all ended; only a new event on it, or a manifest moving its custody, changes
# its figures (service/reports/settled.py). Written out, not bound, so that the planner
# matches a query's condition with the index's; every term has statistics to estimate it by.
SETTLED: ColumnElement[bool] = and_(
    _c.state == literal_column(f"'{State.disposed.value}'"),
    *(_c[f"{a}_us"].is_not(None) for a in (Action.pickup, Action.receive, Action.dispose)),
)
UNSETTLED: ColumnElement[bool] = not_(SETTLED)
Index("ix_container_unsettled", _c.created_at, sqlite_where=UNSETTLED, postgresql_where=UNSETTLED)


class CustodyEvent(SQLModel, table=True):
    """One hand of custody. Append-only: never updated, never deleted (triggers refuse it)."""

    __tablename__ = "custody_event"
    __table_args__ = (
        UniqueConstraint("container_id", "seq"),
        Index("ix_custody_event_actor_org_occurred", "actor_organization_id", "occurred_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    container_id: str = Field(foreign_key="container.id", max_length=32)
    seq: int
    action: Action = Field(sa_type=EnumText(Action, 20))
    from_state: State | None = Field(default=None, sa_type=EnumText(State, 20))
    to_state: State = Field(sa_type=EnumText(State, 20))
    actor_user_id: uuid.UUID = Field(foreign_key="user.id")
    actor_organization_id: uuid.UUID | None = Field(default=None, foreign_key="organization.id")
    custodian_before: uuid.UUID | None = None
    custodian_after: uuid.UUID
    site_id: uuid.UUID | None = Field(default=None, foreign_key="site.id")
    latitude: float | None = None
    longitude: float | None = None
    # The radius of the phone's GPS fix, metres (absent: not sent).
    accuracy_m: float | None = None
    weight_kg: float | None = None
    manifest_id: uuid.UUID | None = Field(default=None, foreign_key="manifest.id", index=True)
    method: DisposalMethod | None = Field(default=None, sa_type=EnumText(DisposalMethod, 20))
    incident: Incident | None = Field(default=None, sa_type=EnumText(Incident, 20))
    corrects_event_id: int | None = Field(
        default=None,
        sa_type=BigInteger().with_variant(Integer(), "sqlite"),
        foreign_key="custody_event.id",
    )
    correction_reason: CorrectionReason | None = Field(
        default=None, sa_type=EnumText(CorrectionReason, 20)
    )
    # For an ``incorrect_data`` correction: the fields as they should have been recorded.
    correction_data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Event time: when it happened (the phone's clock, clamped if in the future).
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    # The phone's clock as sent, kept even when clamped.
    client_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    device_id: str | None = Field(default=None, max_length=100)
    client_event_id: str | None = Field(default=None, max_length=100, unique=True)
    note: str | None = Field(default=None, max_length=2000)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class ScanRejection(SQLModel, table=True):
    """A scan the service refused. Kept as evidence (a refused scan at a dumping site matters)."""

    __tablename__ = "scan_rejection"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    container_id: str | None = Field(default=None, max_length=32, index=True)
    qr_payload: str | None = Field(default=None, max_length=300)
    action: str | None = Field(default=None, max_length=32)
    actor_user_id: uuid.UUID = Field(foreign_key="user.id")
    actor_organization_id: uuid.UUID | None = Field(default=None, foreign_key="organization.id")
    device_id: str | None = Field(default=None, max_length=100)
    client_event_id: str | None = Field(default=None, max_length=100)
    occurred_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    status_code: int
    problem_type: str = Field(max_length=100)
    detail: str = Field(max_length=2000)


class ScanReceipt(SQLModel, table=True):
    """The answer given for a ``client_event_id``: a retried scan gets the same answer back."""

    __tablename__ = "scan_receipt"

    client_event_id: str = Field(primary_key=True, max_length=100)
    user_id: uuid.UUID = Field(foreign_key="user.id")
    status_code: int
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
