"""Containers, custody events and scans."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.common import EXAMPLE_LABEL, Instant, Strict, example
from service.custody.machine import Action, CorrectionReason, DisposalMethod, Incident

Category = Literal["infectious", "sharps", "pathological", "pharmaceutical", "chemical"]
CATEGORIES: tuple[str, ...] = get_args(Category)


class ContainersCreate(Strict):
    model_config = example(
        {
            "count": 20,
            "category": "infectious",
            "site_id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
            "department": "外科",
        }
    )

    count: int = Field(ge=1, le=500)
    category: Category
    site_id: uuid.UUID
    department: str | None = Field(default=None, max_length=200)
    epidemic: bool = False


class CorrectionData(Strict):
    """The fields of an event as they should have been recorded (``incorrect_data``)."""

    weight_kg: float | None = Field(default=None, gt=0, le=1000, strict=True)
    site_id: uuid.UUID | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90, strict=True)
    longitude: float | None = Field(default=None, ge=-180, le=180, strict=True)
    method: DisposalMethod | None = None
    note: str | None = Field(default=None, max_length=2000)


class ScanCreate(Strict):
    model_config = example(
        {
            "qr_payload": EXAMPLE_LABEL,
            "action": "collect",
            "client_event_id": "phone-7c1e-000123",
            "scanned_at": "2026-11-02T08:15:00+08:00",
            "weight_kg": 4.6,
            "latitude": 40.8426,
            "longitude": 111.749,
            "accuracy_m": 12.0,
        }
    )

    qr_payload: str = Field(min_length=1, max_length=300)
    action: Action
    client_event_id: str = Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$")
    scanned_at: Instant
    manifest_id: uuid.UUID | None = None
    weight_kg: float | None = Field(default=None, gt=0, le=1000, strict=True)
    latitude: float | None = Field(default=None, ge=-90, le=90, strict=True)
    longitude: float | None = Field(default=None, ge=-180, le=180, strict=True)
    accuracy_m: float | None = Field(
        default=None,
        gt=0,
        le=100_000,
        strict=True,
        description="the radius of the phone's GPS fix, metres (with latitude and longitude)",
    )
    site_id: uuid.UUID | None = None
    method: DisposalMethod | None = None
    incident: Incident | None = None
    note: str | None = Field(default=None, max_length=2000)
    corrects_event_id: int | None = Field(default=None, ge=1)
    correction_reason: CorrectionReason | None = None
    correction_data: CorrectionData | None = None
    device_id: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> ScanCreate:
        if self.action is Action.register:
            raise ValueError("containers are registered with POST /api/v1/containers")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        if self.accuracy_m is not None and self.latitude is None:
            raise ValueError("accuracy_m is the accuracy of a position: send one with it")
        if self.action is Action.correct:
            if self.corrects_event_id is None or self.correction_reason is None:
                raise ValueError("a correction needs corrects_event_id and correction_reason")
            if (self.correction_reason is CorrectionReason.incorrect_data) != (
                self.correction_data is not None
            ):
                raise ValueError("correction_data goes with reason incorrect_data, and only then")
        elif self.corrects_event_id is not None or self.correction_reason is not None:
            raise ValueError("corrects_event_id and correction_reason belong to 'correct' only")
        return self


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    container_id: str
    seq: int
    action: str
    from_state: str | None
    to_state: str
    actor_user_id: uuid.UUID
    actor_organization_id: uuid.UUID | None
    custodian_before: uuid.UUID | None
    custodian_after: uuid.UUID
    site_id: uuid.UUID | None
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None = None
    weight_kg: float | None
    manifest_id: uuid.UUID | None
    method: str | None
    incident: str | None
    corrects_event_id: int | None
    correction_reason: str | None
    correction_data: dict[str, Any] | None
    occurred_at: datetime
    client_time: datetime | None
    recorded_at: datetime
    device_id: str | None
    client_event_id: str | None
    note: str | None
    prev_hash: str
    hash: str
    # Its leaf in the public transparency log (SPEC §6); null until it is in the log.
    log_index: int | None = None


class ContainerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    # What staff type in when a label cannot be scanned (printed under the QR code).
    short_code: str
    category: str
    origin_organization_id: uuid.UUID
    origin_site_id: uuid.UUID | None
    department: str | None
    epidemic: bool
    state: str
    state_since: datetime
    stage_since: datetime
    custodian_organization_id: uuid.UUID
    holder_organization_id: uuid.UUID
    current_manifest_id: uuid.UUID | None
    batch_id: uuid.UUID
    created_at: datetime
    last_event_at: datetime | None


class ContainerWithLabel(ContainerPublic):
    qr_payload: str


class ContainersCreated(BaseModel):
    batch_id: uuid.UUID
    containers: list[ContainerWithLabel]


class AnomalyBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    severity: str
    rule: str
    threshold: str
    facts: dict[str, Any]
    detected_at: datetime
    status: str


class ScanResult(BaseModel):
    event: EventPublic
    container: ContainerPublic
    anomalies: list[AnomalyBrief]


class ChainEvent(EventPublic):
    corrected_by: list[int] = Field(default_factory=list)


class EventChain(BaseModel):
    container_id: str
    events: list[ChainEvent]
    verified: bool
    first_bad_event_id: int | None = None
    verification_detail: str | None = None


class ActionRule(BaseModel):
    """Who may take an action, from which states (per role: hospital staff store collected
    waste, operators received waste), and what its scan must carry."""

    action: Action
    from_states: dict[str, list[str]]
    requires: list[str]
    description: str


class StageRule(BaseModel):
    """A stage the law times: the action that begins it, the one that ends it, its states."""

    stage: str
    begins: Action
    ends: Action
    states: list[str]


class Vocabulary(BaseModel):
    """The custody rules and the words scans use, served so that phones and tools read them
    instead of keeping copies."""

    states: list[str]
    terminal_states: list[str]
    actions: list[ActionRule]
    stages: list[StageRule]
    categories: list[str]
    disposal_methods: list[DisposalMethod]
    incidents: list[Incident]
    correction_reasons: list[CorrectionReason]
