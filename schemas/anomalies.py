"""Anomalies, their workflow, and webhook subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from schemas.common import Strict, example


class AnomalyStepPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    from_status: str
    to_status: str
    user_id: uuid.UUID | None
    note: str | None
    at: datetime


class AnomalyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
    model_config = ConfigDict(from_attributes=True)

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
    secret: str
