"""Anomalies, their workflow, and webhook subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from schemas import examples as ex
from schemas.common import Strict, example, example_of

_ACKNOWLEDGED = "2026-11-02T05:41:09.662015Z"


class AnomalyStepPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    from_status: str
    to_status: str
    user_id: uuid.UUID | None
    note: str | None
    at: datetime


class AnomalyPublic(BaseModel):
    # The trip's lighter bag (schemas.custody.AnomalyBrief), as the regulators' queue lists it.
    model_config = example(
        {
            "id": ex.ANOMALY_ID,
            "kind": "weight_discrepancy",
            "severity": "warning",
            "status": "acknowledged",
            "container_id": ex.CONTAINER_ID,
            "manifest_id": ex.MANIFEST_ID,
            "organization_id": ex.PLANT_ID,
            "jurisdiction": "CN-15",
            "event_id": 1311,
            "rule": "运营方选择（国家未规定数值）：差异超过 10 % 视为重大，参照美国 40 CFR 264.72；"
            "每个容器至少相差 0.2 千克",
            "threshold": "> 10 % and > 0.2 kg",
            "facts": {"collected_kg": 4.6, "received_kg": 3.9, "diff_kg": -0.7, "diff_pct": -15.22},
            "detected_at": ex.RECEIVED_AT_RECORDED,
            "escalated_at": None,
            "updated_at": _ACKNOWLEDGED,
        },
        from_attributes=True,
    )

    id: uuid.UUID
    kind: str
    severity: str
    status: str
    container_id: str | None
    manifest_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    jurisdiction: str
    event_id: int | None
    rule: str
    threshold: str
    facts: dict[str, Any]
    detected_at: datetime
    escalated_at: datetime | None
    updated_at: datetime


class AnomalyDetail(AnomalyPublic):
    model_config = example(
        {
            **example_of(AnomalyPublic),
            "steps": [
                {
                    "id": "8c5fcb87-15f4-43da-a70b-d6d5edbc5009",
                    "from_status": "open",
                    "to_status": "acknowledged",
                    "user_id": ex.REGULATOR_USER_ID,
                    "note": "已与处置中心核实：该袋在运输途中渗漏，司机已上报。",
                    "at": _ACKNOWLEDGED,
                }
            ],
        }
    )

    steps: list[AnomalyStepPublic] = Field(default_factory=list)


class AnomalyNote(Strict):
    model_config = example({"note": "已与医院核实：暂存间冰柜故障，已转移。"})

    note: str | None = Field(default=None, max_length=2000)


class WebhookCreate(Strict):
    model_config = example(
        {"url": "https://alerts.example.gov.cn/medwaste", "jurisdiction": "CN-15"}
    )

    url: AnyHttpUrl
    organization_id: uuid.UUID | None = None
    jurisdiction: str | None = Field(default=None, min_length=2, max_length=16)
    # The signing secret, "whsec_" + base64 of 24-64 random bytes (Standard Webhooks);
    # generated when absent (and shown once, in the answer).
    secret: str | None = Field(default=None, min_length=16, max_length=200)

    @model_validator(mode="after")
    def _one_scope(self) -> WebhookCreate:
        if (self.organization_id is None) == (self.jurisdiction is None):
            raise ValueError("give exactly one of organization_id and jurisdiction")
        return self


class WebhookPublic(BaseModel):
    model_config = example(
        {
            "id": "84878fa9-781c-499e-a543-3b494bb0e4fe",
            "url": "https://alerts.example.gov.cn/medwaste",
            "organization_id": None,
            "jurisdiction": "CN-15",
            "active": True,
            "created_at": "2026-10-12T02:00:31.052178Z",
            "paused_at": None,
            "pause_reason": None,
            "consecutive_failures": 0,
            "failing_since": None,
            "last_error": None,
            "last_delivered_at": "2026-11-02T03:10:02.338410Z",
            "pending": 0,
        },
        from_attributes=True,
    )

    id: uuid.UUID
    url: str
    organization_id: uuid.UUID | None
    jurisdiction: str | None
    # False while paused; pause_reason says by whom or why (a receiver that kept failing).
    active: bool
    created_at: datetime
    paused_at: datetime | None = None
    pause_reason: str | None = None
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    last_error: str | None = None
    last_delivered_at: datetime | None = None
    # Notifications waiting to be delivered.
    pending: int = 0


class WebhookPause(Strict):
    model_config = example({"reason": "receiver under maintenance"})

    reason: str | None = Field(default=None, max_length=300)


class WebhookCreated(WebhookPublic):
    # The secret is shown once, here; a new subscription has delivered nothing yet.
    model_config = example(
        {
            **example_of(WebhookPublic),
            "last_delivered_at": None,
            "secret": "whsec_EZqiJ2SmLbYwCQFmVFJQLEVmE/5zNgmTlEb++4BXVL0=",
        }
    )

    secret: str
