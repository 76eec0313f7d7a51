"""Anomalies: what a rule found, and the regulator's work on it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from service.db import EnumText, UTCDateTime, utcnow


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


class AnomalyStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"
    dismissed = "dismissed"


class Anomaly(SQLModel, table=True):
    __table_args__ = (
        Index("ix_anomaly_jurisdiction_status_detected", "jurisdiction", "status", "detected_at"),
        Index("ix_anomaly_org_status_detected", "organization_id", "status", "detected_at"),
        # The sweep's escalation walks open anomalies by age; the admin queue reads by status.
        Index("ix_anomaly_status_detected", "status", "detected_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(sa_type=String(40))
    severity: Severity = Field(sa_type=EnumText(Severity, 10))
    container_id: str | None = Field(default=None, foreign_key="container.id", index=True)
    manifest_id: uuid.UUID | None = Field(default=None, foreign_key="manifest.id", index=True)
    organization_id: uuid.UUID | None = Field(default=None, foreign_key="organization.id")
    jurisdiction: str = Field(max_length=16)
    event_id: int | None = None
    rule: str = Field(max_length=200)
    threshold: str = Field(max_length=200)
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # One anomaly per (subject, kind, cause): re-running a rule never duplicates.
    dedupe_key: str = Field(max_length=300, unique=True)
    status: AnomalyStatus = Field(default=AnomalyStatus.open, sa_type=EnumText(AnomalyStatus, 20))
    detected_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AnomalyStep(SQLModel, table=True):
    """One step of the workflow (acknowledge, resolve, dismiss, escalate): who, when, why."""

    __tablename__ = "anomaly_step"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    anomaly_id: uuid.UUID = Field(foreign_key="anomaly.id", index=True)
    from_status: AnomalyStatus = Field(sa_type=EnumText(AnomalyStatus, 20))
    to_status: AnomalyStatus = Field(sa_type=EnumText(AnomalyStatus, 20))
    user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    note: str | None = Field(default=None, max_length=2000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookSubscription(SQLModel, table=True):
    """Where new anomalies are announced: one organization's, or a whole jurisdiction's."""

    __tablename__ = "webhook_subscription"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", index=True
    )
    jurisdiction: str | None = Field(default=None, max_length=16, index=True)
    url: str = Field(max_length=2000)
    # The HMAC-SHA256 key of the X-Medwaste-Signature header.
    secret: str = Field(max_length=200)
    # False while paused (by an administrator, or by itself after failing for a long time).
    active: bool = True
    created_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pause_reason: str | None = Field(default=None, max_length=500)
    # The current run of failed attempts (0 after a success), and when it began.
    consecutive_failures: int = 0
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    last_delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class WebhookDelivery(SQLModel, table=True):
    """The outbox: a scan only inserts these rows; a background worker sends them."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_status_due", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscription.id", index=True)
    anomaly_id: uuid.UUID = Field(foreign_key="anomaly.id")
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DeliveryStatus.pending, sa_type=String(20))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A sender's claim: nobody else sends this row before ``leased_until``; the outcome is
    # recorded only by the holder of ``lease_id``.
    lease_id: uuid.UUID | None = None
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
