"""The compliance report."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel

from schemas import examples as ex
from schemas.common import example


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


_ON_TIME = [
    {"rule": "storage_overdue", "limit_hours": 48.0, "total": 412, "late": 3, "rate": 0.9927},
    {"rule": "transit_overdue", "limit_hours": 24.0, "total": 405, "late": 0, "rate": 1.0},
    {"rule": "disposal_overdue", "limit_hours": 48.0, "total": 398, "late": 1, "rate": 0.9975},
]
_WEIGHTS = {"collected_kg": 1873.4, "received_kg": 1851.9, "disposed_kg": 1826.2}


class ComplianceReport(BaseModel):
    # The example hospital's October, by the national profile.
    model_config = example(
        {
            "organization_id": ex.HOSPITAL_ID,
            "organization_name": ex.HOSPITAL,
            "jurisdiction": "CN-15",
            "profile": "cn-national",
            "period_from": "2026-09-30T16:00:00Z",
            "period_to": "2026-10-31T16:00:00Z",
            "containers": 418,
            "containers_by_state": {"disposed": 398, "received": 7, "collected": 6, "labelled": 7},
            "on_time": _ON_TIME,
            "dwell": {
                "storage": {"count": 412, "median_hours": 19.5, "p90_hours": 40.25},
                "transit": {"count": 405, "median_hours": 1.12, "p90_hours": 2.4},
                "disposal": {"count": 398, "median_hours": 6.75, "p90_hours": 22.0},
            },
            "weights": _WEIGHTS,
            "open_anomalies_by_kind": {"storage_overdue": 1, "weight_discrepancy": 2},
        }
    )

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

    # Three days of the demo region: one hospital shown of each list, for brevity.
    model_config = example(
        {
            "jurisdiction": "CN-15",
            "period_from": "2026-10-30T16:00:00Z",
            "period_to": "2026-11-02T16:00:00Z",
            "days": ["2026-10-31", "2026-11-01", "2026-11-02"],
            "containers": 41,
            "weights_per_day": {
                "collected": [58.2, 61.7, 49.9],
                "received": [57.1, 60.8, 47.4],
                "disposed": [55.0, 59.3, 40.2],
            },
            "anomalies_per_day": {"storage_overdue": [0, 1, 0], "weight_discrepancy": [0, 0, 1]},
            "stages": [
                {
                    "stage": "storage",
                    "rule": "storage_overdue",
                    "limit_hours": 48.0,
                    "edges_hours": [6.0, 12.0, 24.0, 48.0, 72.0, 96.0, 168.0],
                    "ended": [9, 11, 13, 5, 1, 0, 0, 0],
                    "ongoing": [2, 0, 0, 0, 0, 0, 0, 0],
                }
            ],
            "organizations": [
                {
                    "organization_id": ex.HOSPITAL_ID,
                    "name": ex.HOSPITAL,
                    "kind": "hospital",
                    "jurisdiction": "CN-15",
                    "license_number": None,
                    "license_expires": None,
                    "profile": "cn-national",
                    "containers": 41,
                    "on_time": [
                        {
                            "rule": "storage_overdue",
                            "limit_hours": 48.0,
                            "total": 39,
                            "late": 1,
                            "rate": 0.9744,
                        },
                        {
                            "rule": "transit_overdue",
                            "limit_hours": 24.0,
                            "total": 37,
                            "late": 0,
                            "rate": 1.0,
                        },
                        {
                            "rule": "disposal_overdue",
                            "limit_hours": 48.0,
                            "total": 35,
                            "late": 0,
                            "rate": 1.0,
                        },
                    ],
                    "weights": {"collected_kg": 169.8, "received_kg": 165.3, "disposed_kg": 154.5},
                    "open_anomalies": 2,
                    "critical_open_anomalies": 0,
                }
            ],
            "sites": [
                {
                    "site_id": ex.HOSPITAL_SITE_ID,
                    "organization_id": ex.HOSPITAL_ID,
                    "name": "医废暂存间 Temporary waste store",
                    "latitude": 40.8186,
                    "longitude": 111.6708,
                }
            ],
        }
    )

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
