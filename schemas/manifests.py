"""Transfer manifests (转移联单): trips, their containers, signatures and discrepancies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import Strict, example
from service.manifests.models import ManifestState, Party


class ManifestCreate(Strict):
    model_config = example(
        {
            "origin_organization_id": "3f2c8a4e-6b1d-4c0e-9a57-2d8e1f0b7c61",
            "destination_organization_id": "8a1e5b3c-2f4d-4e6a-b7c8-9d0e1f2a3b4c",
            "transporter_organization_id": "c4d5e6f7-0a1b-4c2d-8e3f-4a5b6c7d8e9f",
            "vehicle_plate": "蒙A·D1234",
            "driver_name": "张伟",
            "driver_licence_number": "150102198001011234",
            "transport_permit_number": "蒙交运管许可呼字150100001234号",
        }
    )

    origin_organization_id: uuid.UUID
    destination_organization_id: uuid.UUID
    # A driver's own company fills this in; others must name the transporter.
    transporter_organization_id: uuid.UUID | None = None
    vehicle_plate: str = Field(min_length=1, max_length=20)
    driver_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="defaults to the creating driver's display name",
    )
    driver_licence_number: str | None = Field(default=None, min_length=1, max_length=32)
    transport_permit_number: str | None = Field(
        default=None, min_length=1, max_length=64, description="道路运输许可证号"
    )


class SignatureCreate(Strict):
    model_config = example({"party": "origin", "printed_name": "王芳"})

    party: Party
    printed_name: str = Field(min_length=1, max_length=200)


class PartyPublic(BaseModel):
    organization_id: uuid.UUID
    name: str
    kind: str
    jurisdiction: str
    license_number: str | None
    address: str | None = None
    phone: str | None = None


class SignaturePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    party: Party
    user_id: uuid.UUID
    organization_id: uuid.UUID
    printed_name: str
    signed_at: datetime


class ManifestContainer(BaseModel):
    container_id: str
    short_code: str
    category: str
    epidemic: bool
    state: str
    picked_up_at: datetime
    # The weight recorded at collection (or, on a further leg, the last weight before pickup).
    collection_weight_kg: float | None
    pickup_weight_kg: float | None
    received_at: datetime | None
    receipt_weight_kg: float | None


class ManifestTotals(BaseModel):
    containers: int
    received_containers: int
    collection_weight_kg: float
    receipt_weight_kg: float


class ContainerSet(BaseModel):
    count: int
    container_ids: list[str]


class WeightDifference(BaseModel):
    """A container whose receipt weight differs from its collection weight beyond tolerance."""

    container_id: str
    collection_weight_kg: float
    receipt_weight_kg: float
    difference_kg: float
    # Signed: a container lighter at receipt than at collection has a negative difference.
    difference_pct: float | None


class TotalWeight(BaseModel):
    """The manifest's total over containers weighed at both ends."""

    collection_weight_kg: float
    receipt_weight_kg: float
    difference_kg: float
    difference_pct: float | None
    flagged: bool


class Tolerance(BaseModel):
    percent: float
    floor_kg: float


class Discrepancies(BaseModel):
    """What left against what arrived, computed when the destination signs (SPEC §4)."""

    missing: ContainerSet
    unexpected: ContainerSet
    weight: list[WeightDifference]
    total: TotalWeight
    tolerance: Tolerance
    any: bool


class ManifestSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    state: ManifestState
    origin_organization_id: uuid.UUID
    transporter_organization_id: uuid.UUID
    destination_organization_id: uuid.UUID
    vehicle_plate: str
    driver_user_id: uuid.UUID | None
    driver_name: str | None = None
    driver_licence_number: str | None = None
    transport_permit_number: str | None = None
    created_by_user_id: uuid.UUID
    created_at: datetime
    dispatched_at: datetime | None
    received_at: datetime | None
    closed_at: datetime | None


class ManifestPublic(ManifestSummary):
    origin: PartyPublic
    transporter: PartyPublic
    destination: PartyPublic
    containers: list[ManifestContainer]
    signatures: list[SignaturePublic]
    totals: ManifestTotals
    # Computed when the destination signs (SPEC §2); null before.
    discrepancies: Discrepancies | None
    # SHA-256 of the manifest's canonical content (service/manifests/digest.py), as printed on
    # the PDF beside its QR code: a paper copy matches the record when the two agree.
    content_sha256: str


class Verdict(StrEnum):
    """What a paper copy's digest says about it."""

    matches = "matches"  # the record, as it stood when the copy was printed, has this digest
    differs = "differs"  # it does not: the copy was altered, or is not of this record
    unchecked = "unchecked"  # no digest given: compare the record's digest with the paper


class RecordChange(BaseModel):
    """Something recorded on the manifest after the copy was printed."""

    recorded_at: datetime
    change: Literal["pickup", "receipt", "correction", "signature"]
    # The container's short code, or the signing party.
    subject: str


class ManifestVerification(BaseModel):
    """A paper manifest checked against its record, for anyone holding the copy (no sign-in):
    only what the paper already shows, and no personal names."""

    manifest_id: uuid.UUID
    number: str
    state: ManifestState
    vehicle_plate: str
    jurisdiction: str = Field(description="the origin's, whose time zone the page shows")
    origin: str
    transporter: str
    destination: str
    containers: int
    content_sha256: str = Field(description="the record's digest now")
    printed_sha256: str | None
    printed_at: datetime | None
    verdict: Verdict
    # What was recorded after the copy was printed (which is why its digest may differ).
    changes_since: list[RecordChange]
