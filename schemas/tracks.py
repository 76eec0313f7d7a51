"""Trip tracks: what the phone sends (``/mobile/v1/tracks``) and what readers get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class TrackPublic(BaseModel):
    manifest_id: uuid.UUID
    points: list[TrackPointPublic]
    stops: list[TrackStop]
    anomalies: list[AnomalyBrief]
