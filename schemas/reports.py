"""The compliance report."""

from __future__ import annotations

import uuid
from datetime import date, datetime

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


class StageStays(BaseModel):
    """How long containers stayed in one stage: counts per bucket of ``edges_hours``
    (bucket i holds stays shorter than ``edges_hours[i]``; the last, all longer ones), stays
    that ended and stays still going (counted up to now)."""

    stage: str
    rule: str
    limit_hours: float | None
    edges_hours: list[float]
    ended: list[int]
    ongoing: list[int]


class OrganizationFigures(BaseModel):
    organization_id: uuid.UUID
    name: str
    kind: str
    jurisdiction: str
    license_number: str | None
    license_expires: date | None
    profile: str
    containers: int
    on_time: list[OnTime]
    weights: Weights
    open_anomalies: int
    critical_open_anomalies: int


class SiteFigures(BaseModel):
    site_id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    latitude: float
    longitude: float


class RegionFigures(BaseModel):
    """Everything the regulators' region view draws, for the containers registered in the
    period. Days are the jurisdiction's local days."""

    jurisdiction: str | None
    period_from: datetime
    period_to: datetime
    days: list[date]
    containers: int
    weights_per_day: dict[str, list[float]]
    anomalies_per_day: dict[str, list[int]]
    stages: list[StageStays]
    organizations: list[OrganizationFigures]
    sites: list[SiteFigures]
