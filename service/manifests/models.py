"""Transfer manifests (转移联单): one trip of one vehicle, with each party's signature."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db import EnumText, UTCDateTime, utcnow


class ManifestState(StrEnum):
    open = "open"
    in_transit = "in_transit"
    received = "received"
    closed = "closed"


class Party(StrEnum):
    origin = "origin"
    transporter = "transporter"
    destination = "destination"


class Manifest(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    origin_organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    transporter_organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    destination_organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    vehicle_plate: str = Field(max_length=20)
    driver_user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    # Who drives and under which papers, as the 转移联单 prints them.
    driver_name: str | None = Field(default=None, max_length=100)
    driver_licence_number: str | None = Field(default=None, max_length=32)
    transport_permit_number: str | None = Field(default=None, max_length=64)
    state: ManifestState = Field(sa_type=EnumText(ManifestState, 20), index=True)
    created_by_user_id: uuid.UUID = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    discrepancies: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class ManifestSignature(SQLModel, table=True):
    __tablename__ = "manifest_signature"
    __table_args__ = (UniqueConstraint("manifest_id", "party"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    manifest_id: uuid.UUID = Field(foreign_key="manifest.id")
    party: Party = Field(sa_type=EnumText(Party, 20))
    user_id: uuid.UUID = Field(foreign_key="user.id")
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    printed_name: str = Field(max_length=200)
    signed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ManifestSerial(SQLModel, table=True):
    """The last manifest serial handed out per (year, region): incremented under a row lock."""

    __tablename__ = "manifest_serial"

    scope: str = Field(primary_key=True, max_length=16)
    last_serial: int = 0
