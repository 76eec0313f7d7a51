"""Containers, custody events and scans."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, model_validator

from schemas import examples as ex
from schemas.common import Instant, Strict, example, example_of
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
            "qr_payload": ex.LABEL,
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
    model_config = example(
        {
            "id": 1184,
            "container_id": ex.CONTAINER_ID,
            "seq": 2,
            "action": "collect",
            "from_state": "labelled",
            "to_state": "collected",
            "actor_user_id": ex.STAFF_USER_ID,
            "actor_organization_id": ex.HOSPITAL_ID,
            "custodian_before": ex.HOSPITAL_ID,
            "custodian_after": ex.HOSPITAL_ID,
            "site_id": ex.HOSPITAL_SITE_ID,
            "latitude": 40.8426,
            "longitude": 111.749,
            "weight_kg": 4.6,
            "manifest_id": None,
            "method": None,
            "incident": None,
            "corrects_event_id": None,
            "correction_reason": None,
            "correction_data": None,
            "occurred_at": ex.COLLECTED_AT,
            "client_time": ex.COLLECTED_AT,
            "recorded_at": "2026-11-02T00:15:01.482913Z",
            "device_id": "phone-7c1e",
            "client_event_id": "phone-7c1e-000123",
            "note": None,
            "prev_hash": ex.REGISTER_HASH,
            "hash": ex.COLLECT_HASH,
            "log_index": 1183,
        },
        from_attributes=True,
    )

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


def _event(**changes: Any) -> dict[str, Any]:
    return {**example_of(EventPublic), **changes}


# The example container's chain is register, collect (EventPublic's example), pickup, receive.
EXAMPLE_REGISTER = _event(
    id=1102,
    seq=1,
    action="register",
    from_state=None,
    to_state="labelled",
    custodian_before=None,
    latitude=None,
    longitude=None,
    weight_kg=None,
    occurred_at=ex.REGISTERED_AT,
    client_time=None,
    recorded_at=ex.REGISTERED_AT,
    device_id=None,
    client_event_id=None,
    prev_hash=ex.GENESIS_HASH,
    hash=ex.REGISTER_HASH,
    log_index=1101,
)
EXAMPLE_PICKUP = _event(
    id=1247,
    seq=3,
    action="pickup",
    from_state="collected",
    to_state="in_transit",
    actor_user_id=ex.DRIVER_USER_ID,
    actor_organization_id=ex.TRANSPORTER_ID,
    site_id=None,
    latitude=None,
    longitude=None,
    weight_kg=None,
    manifest_id=ex.MANIFEST_ID,
    occurred_at=ex.PICKED_UP_AT,
    client_time=ex.PICKED_UP_AT,
    recorded_at="2026-11-02T02:20:06.904127Z",
    device_id="phone-7c1e",
    client_event_id="phone-7c1e-000124",
    prev_hash=ex.COLLECT_HASH,
    hash=ex.PICKUP_HASH,
    log_index=1246,
)
# At the plant, 0.7 kg lighter than collected.
EXAMPLE_RECEIPT = _event(
    id=1311,
    seq=4,
    action="receive",
    from_state="in_transit",
    to_state="received",
    actor_user_id=ex.OPERATOR_USER_ID,
    actor_organization_id=ex.PLANT_ID,
    custodian_before=ex.TRANSPORTER_ID,
    custodian_after=ex.TRANSPORTER_ID,
    site_id=ex.PLANT_SITE_ID,
    latitude=40.747,
    longitude=111.553,
    weight_kg=3.9,
    manifest_id=ex.MANIFEST_ID,
    occurred_at=ex.RECEIVED_AT,
    client_time=ex.RECEIVED_AT,
    recorded_at=ex.RECEIVED_AT_RECORDED,
    device_id="phone-3a9d",
    client_event_id="phone-3a9d-000871",
    prev_hash=ex.PICKUP_HASH,
    hash=ex.RECEIVE_HASH,
    log_index=1310,
)
EXAMPLE_CHAIN = [EXAMPLE_REGISTER, example_of(EventPublic), EXAMPLE_PICKUP, EXAMPLE_RECEIPT]


class ContainerPublic(BaseModel):
    model_config = example(
        {
            "id": ex.CONTAINER_ID,
            "short_code": ex.SHORT_CODE,
            "category": "infectious",
            "origin_organization_id": ex.HOSPITAL_ID,
            "origin_site_id": ex.HOSPITAL_SITE_ID,
            "department": "外科 Surgery",
            "epidemic": False,
            "state": "collected",
            "state_since": ex.COLLECTED_AT,
            "stage_since": ex.COLLECTED_AT,
            "custodian_organization_id": ex.HOSPITAL_ID,
            "holder_organization_id": ex.HOSPITAL_ID,
            "current_manifest_id": None,
            "batch_id": ex.BATCH_ID,
            "created_at": ex.REGISTERED_AT,
            "last_event_at": ex.COLLECTED_AT,
        },
        from_attributes=True,
    )

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


_LABELLED = {
    **example_of(ContainerPublic),
    "state": "labelled",
    "state_since": ex.REGISTERED_AT,
    "stage_since": ex.REGISTERED_AT,
    "last_event_at": ex.REGISTERED_AT,
}


class ContainerWithLabel(ContainerPublic):
    model_config = example({**_LABELLED, "qr_payload": ex.LABEL})

    qr_payload: str


class ContainersCreated(BaseModel):
    model_config = example(
        {"batch_id": ex.BATCH_ID, "containers": [example_of(ContainerWithLabel)]}
    )

    batch_id: uuid.UUID
    containers: list[ContainerWithLabel]


class AnomalyBrief(BaseModel):
    model_config = example(
        {
            "id": ex.ANOMALY_ID,
            "kind": "weight_discrepancy",
            "severity": "warning",
            "rule": "运营方选择（国家未规定数值）：差异超过 10 % 视为重大，参照美国 40 CFR 264.72；"
            "每个容器至少相差 0.2 千克",
            "threshold": "> 10 % and > 0.2 kg",
            "facts": {"collected_kg": 4.6, "received_kg": 3.9, "diff_kg": -0.7, "diff_pct": -15.22},
            "detected_at": ex.RECEIVED_AT_RECORDED,
            "status": "open",
        },
        from_attributes=True,
    )

    id: uuid.UUID
    kind: str
    severity: str
    rule: str
    threshold: str
    facts: dict[str, Any]
    detected_at: datetime
    status: str


class ScanResult(BaseModel):
    model_config = example(
        {
            "event": EXAMPLE_RECEIPT,
            "container": {
                **example_of(ContainerPublic),
                "state": "received",
                "state_since": ex.RECEIVED_AT,
                "stage_since": ex.RECEIVED_AT,
                "custodian_organization_id": ex.TRANSPORTER_ID,
                "holder_organization_id": ex.PLANT_ID,
                "current_manifest_id": ex.MANIFEST_ID,
                "last_event_at": ex.RECEIVED_AT,
            },
            "anomalies": [example_of(AnomalyBrief)],
        }
    )

    event: EventPublic
    container: ContainerPublic
    anomalies: list[AnomalyBrief]


class ChainEvent(EventPublic):
    model_config = example({**example_of(EventPublic), "corrected_by": []})

    corrected_by: list[int] = Field(default_factory=list)


class EventChain(BaseModel):
    model_config = example(
        {
            "container_id": ex.CONTAINER_ID,
            "events": [{**event, "corrected_by": []} for event in EXAMPLE_CHAIN],
            "verified": True,
            "first_bad_event_id": None,
            "verification_detail": None,
        }
    )

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

    model_config = example(
        {
            "states": [
                "labelled",
                "collected",
                "hospital_storage",
                "in_transit",
                "received",
                "stored",
                "disposed",
                "lost",
            ],
            "terminal_states": ["disposed", "lost"],
            "actions": [
                {
                    "action": "collect",
                    "from_states": {"hospital_staff": ["labelled"]},
                    "requires": ["weight_kg"],
                    "description": "collect a labelled container",
                },
                {
                    "action": "pickup",
                    "from_states": {"driver": ["collected", "hospital_storage", "stored"]},
                    "requires": ["manifest_id"],
                    "description": "pick up a collected or stored container",
                },
                {
                    "action": "receive",
                    "from_states": {
                        "storage_operator": ["in_transit"],
                        "disposal_operator": ["in_transit"],
                    },
                    "requires": ["weight_kg"],
                    "description": "receive a container in transit",
                },
                {
                    "action": "dispose",
                    "from_states": {"disposal_operator": ["received", "stored"]},
                    "requires": ["method"],
                    "description": "dispose of a received container",
                },
            ],
            "stages": [
                {
                    "stage": "storage",
                    "begins": "collect",
                    "ends": "pickup",
                    "states": ["collected", "hospital_storage"],
                },
                {
                    "stage": "transit",
                    "begins": "pickup",
                    "ends": "receive",
                    "states": ["in_transit"],
                },
                {
                    "stage": "disposal",
                    "begins": "receive",
                    "ends": "dispose",
                    "states": ["received", "stored"],
                },
            ],
            "categories": ["infectious", "sharps", "pathological", "pharmaceutical", "chemical"],
            "disposal_methods": ["incineration", "autoclave", "microwave", "chemical", "other"],
            "incidents": ["damaged", "leaking", "lost", "found"],
            "correction_reasons": ["did_not_occur", "incorrect_data"],
        }
    )

    states: list[str]
    terminal_states: list[str]
    actions: list[ActionRule]
    stages: list[StageRule]
    categories: list[str]
    disposal_methods: list[DisposalMethod]
    incidents: list[Incident]
    correction_reasons: list[CorrectionReason]
