"""Trip tracks: the positions a driver's phone records while a trip is open."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime, utcnow


class TrackPoint(SQLModel, table=True):
    """One position fix of a trip. Append-only (triggers refuse updates and deletes); a point
    sent again (same manifest, device and fix time) is a duplicate, never a second row."""

    __tablename__ = "track_point"
    # Also the index a trip's track is read by, in time order.
    __table_args__ = (UniqueConstraint("manifest_id", "recorded_at", "device_id"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    manifest_id: uuid.UUID = Field(foreign_key="manifest.id")
    device_id: str = Field(max_length=100)
    user_id: uuid.UUID = Field(foreign_key="user.id")
    # When the phone took the fix (its clock), and when the server stored it.
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    latitude: float
    longitude: float
    # The fix's accuracy radius in metres (Geolocation ``coords.accuracy``).
    accuracy_m: float
    speed_mps: float | None = None
    heading_deg: float | None = None
