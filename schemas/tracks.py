"""Trip tracks: what the phone sends (``/mobile/v1/tracks``) and what readers get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas import examples as ex
from schemas.common import Instant, Strict, example
from schemas.custody import AnomalyBrief

MAX_TRACK_POINTS = 2000


class TrackPointCreate(Strict):
    """One position fix, as the phone's Geolocation API gave it."""

    manifest_id: uuid.UUID
    recorded_at: Instant
    latitude: float = Field(ge=-90, le=90, strict=True)
    longitude: float = Field(ge=-180, le=180, strict=True)
    # coords.accuracy: the radius (metres) the true position lies within, at 95 % confidence.
    accuracy_m: float = Field(gt=0, le=100_000, strict=True)
    speed_mps: float | None = Field(default=None, ge=0, le=150, strict=True)
    heading_deg: float | None = Field(default=None, ge=0, lt=360, strict=True)


class TrackBatch(Strict):
    model_config = example(
        {
            "device_id": "phone-7c1e",
            "points": [
                {
                    "manifest_id": "0f1e2d3c-4b5a-4968-8776-655443322110",
                    "recorded_at": "2026-11-02T10:05:30+08:00",
                    "latitude": 40.8012,
                    "longitude": 111.6523,
                    "accuracy_m": 12.0,
                    "speed_mps": 13.4,
                    "heading_deg": 215.0,
                }
            ],
        }
    )

    device_id: str = Field(min_length=1, max_length=100)
    # Each point is judged on its own: a malformed one is rejected, the others are kept.
    points: list[Any] = Field(max_length=MAX_TRACK_POINTS)


class TrackItemResult(BaseModel):
    manifest_id: str | None
    recorded_at: str | None
    status: Literal["created", "duplicate", "rejected"]
    # An RFC 7807 problem body for a rejected point.
    error: dict[str, Any] | None = None


class TrackBatchResult(BaseModel):
    model_config = example(
        {
            "results": [
                {
                    "manifest_id": ex.MANIFEST_ID,
                    "recorded_at": "2026-11-02T10:05:30+08:00",
                    "status": "created",
                    "error": None,
                },
                {
                    "manifest_id": ex.MANIFEST_ID,
                    "recorded_at": "2026-11-02T10:05:00+08:00",
                    "status": "duplicate",
                    "error": None,
                },
            ],
            "anomalies": [],
        }
    )

    results: list[TrackItemResult]
    # What the new points revealed (each anomaly once, however many points show it).
    anomalies: list[AnomalyBrief] = Field(default_factory=list)


class TrackPointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    recorded_at: datetime
    latitude: float
    longitude: float
    accuracy_m: float
    speed_mps: float | None
    heading_deg: float | None
    device_id: str


class TrackStop(BaseModel):
    """A stretch where the vehicle stood still (fixes within the stop radius)."""

    started_at: datetime
    ended_at: datetime
    minutes: float
    latitude: float
    longitude: float


# The example trip stood 26 minutes on the road, away from every site of its parties.
STOP = {"from": "2026-11-02T02:31:10+00:00", "to": "2026-11-02T02:57:40+00:00", "minutes": 26.5}
STOP_POINT = {"latitude": 40.7935, "longitude": 111.6321}
STOP_ANOMALY = {
    "id": "c8810d20-335f-49d9-84df-067761dd6da3",
    "kind": "unscheduled_stop",
    "severity": "warning",
    "rule": "运营方选择：载有废物的车辆在转移各方登记站点以外停留超过 20 分钟",
    "threshold": "> 20 min stationary away from the parties' sites",
    "facts": {
        **STOP_POINT,
        **STOP,
        "accuracy_m": 14.0,
        "nearest_site_id": ex.HOSPITAL_SITE_ID,
        "nearest_site_m": 5912,
        "containers": [ex.CONTAINER_ID, "d2pwx5nqhr7ea3jmt4vkgyzc6b"],
    },
    "detected_at": "2026-11-02T02:52:03.270914Z",
    "status": "open",
}


class TrackPublic(BaseModel):
    model_config = example(
        {
            "manifest_id": ex.MANIFEST_ID,
            "points": [
                {
                    "recorded_at": "2026-11-02T02:05:30Z",
                    "latitude": 40.8187,
                    "longitude": 111.6705,
                    "accuracy_m": 12.0,
                    "speed_mps": 0.0,
                    "heading_deg": None,
                    "device_id": "phone-7c1e",
                },
                {
                    "recorded_at": "2026-11-02T02:31:10Z",
                    "latitude": 40.7935,
                    "longitude": 111.6321,
                    "accuracy_m": 14.0,
                    "speed_mps": 0.4,
                    "heading_deg": 215.0,
                    "device_id": "phone-7c1e",
                },
                {
                    "recorded_at": "2026-11-02T02:57:40Z",
                    "latitude": 40.7936,
                    "longitude": 111.6323,
                    "accuracy_m": 9.0,
                    "speed_mps": 0.0,
                    "heading_deg": None,
                    "device_id": "phone-7c1e",
                },
                {
                    "recorded_at": "2026-11-02T03:08:15Z",
                    "latitude": 40.7468,
                    "longitude": 111.5527,
                    "accuracy_m": 11.0,
                    "speed_mps": 2.1,
                    "heading_deg": 240.0,
                    "device_id": "phone-7c1e",
                },
            ],
            "stops": [
                {
                    "started_at": "2026-11-02T02:31:10Z",
                    "ended_at": "2026-11-02T02:57:40Z",
                    "minutes": 26.5,
                    **STOP_POINT,
                }
            ],
            "anomalies": [STOP_ANOMALY],
        }
    )

    manifest_id: uuid.UUID
    points: list[TrackPointPublic]
    stops: list[TrackStop]
    anomalies: list[AnomalyBrief]
