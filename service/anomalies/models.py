"""Anomalies: what a rule found, and the regulator's work on it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime, utcnow


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
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(sa_type=String(40))
    severity: str = Field(sa_type=String(10))
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
    status: str = Field(default=AnomalyStatus.open, sa_type=String(20))
    detected_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AnomalyStep(SQLModel, table=True):
    """One step of the workflow (acknowledge, resolve, dismiss, escalate): who, when, why."""

    __tablename__ = "anomaly_step"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    anomaly_id: uuid.UUID = Field(foreign_key="anomaly.id", index=True)
    from_status: str = Field(sa_type=String(20))
    to_status: str = Field(sa_type=String(20))
    user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    note: str | None = Field(default=None, max_length=2000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
