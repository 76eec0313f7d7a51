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
    # GS1 keys, when the organization has them: its containers are then named in EPCIS as
    # GS1 Digital Links (GIAI under the company prefix) and the organization by its GLN.
    gs1_company_prefix: str | None = Field(default=None, max_length=12, unique=True)
    gln: str | None = Field(default=None, max_length=13, unique=True)
    # Printed on transfer manifests: where the organization is, and a phone that answers.
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Site(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    name: str = Field(max_length=200)
    latitude: float
    longitude: float
    radius_m: float = 300.0
    # The site's GS1 Global Location Number, if it has one (its EPCIS location then).
    gln: str | None = Field(default=None, max_length=13, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
