"""The compliance report."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class DwellStats(BaseModel):
    count: int
    median_hours: float | None
    p90_hours: float | None


class OnTime(BaseModel):
    rule: str
    limit_hours: float | None
    total: int
    late: int
    rate: float | None


class Weights(BaseModel):
    collected_kg: float
    received_kg: float
    disposed_kg: float


class ComplianceReport(BaseModel):
    organization_id: uuid.UUID
    organization_name: str
    jurisdiction: str
    profile: str
    period_from: datetime
    period_to: datetime
    containers: int
    containers_by_state: dict[str, int]
    on_time: list[OnTime]
    dwell: dict[str, DwellStats]
    weights: Weights
    open_anomalies_by_kind: dict[str, int]
