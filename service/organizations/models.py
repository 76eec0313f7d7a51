"""Organizations (hospitals, transporters, storage sites, disposal plants, regulators) and sites."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from service.db import EnumText, UTCDateTime, utcnow


class OrgKind(StrEnum):
    hospital = "hospital"
    transporter = "transporter"
    storage = "storage"
    disposal = "disposal"
    regulator = "regulator"


class Organization(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    kind: OrgKind = Field(sa_type=EnumText(OrgKind, 20), index=True)
    jurisdiction: str = Field(max_length=16, index=True)
    license_number: str | None = Field(default=None, max_length=64)
    license_expires: date | None = None
    licensed_categories: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # Epidemic mode: the stricter limits of the jurisdiction's epidemic profile apply.
    epidemic_mode: bool = False
    # An anomaly profile of the organization's own, instead of its jurisdiction's.
    anomaly_profile: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Site(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    name: str = Field(max_length=200)
    latitude: float
    longitude: float
    radius_m: float = 300.0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
