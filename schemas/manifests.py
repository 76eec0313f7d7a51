"""Transfer manifests (转移联单): trips, their containers, signatures and discrepancies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas import examples as ex
from schemas.common import Strict, example, example_of
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


# When each party signed the example trip.
_ORIGIN_SIGNED = "2026-11-02T02:04:37Z"
_TRANSPORTER_SIGNED = "2026-11-02T02:05:12Z"
_DESTINATION_SIGNED = "2026-11-02T03:14:55Z"


class ManifestSummary(BaseModel):
    model_config = example(
        {
            "id": ex.MANIFEST_ID,
            "number": ex.MANIFEST_NUMBER,
            "state": "received",
            "origin_organization_id": ex.HOSPITAL_ID,
            "transporter_organization_id": ex.TRANSPORTER_ID,
            "destination_organization_id": ex.PLANT_ID,
            "vehicle_plate": ex.VEHICLE_PLATE,
            "driver_user_id": ex.DRIVER_USER_ID,
            "driver_name": ex.DRIVER,
            "driver_licence_number": "150102198001011234",
            "transport_permit_number": "蒙交运管许可呼字150100001234号",
            "created_by_user_id": ex.DRIVER_USER_ID,
            "created_at": "2026-11-02T01:48:20.310554Z",
            "dispatched_at": _TRANSPORTER_SIGNED,
            "received_at": _DESTINATION_SIGNED,
            "closed_at": None,
        },
        from_attributes=True,
    )

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


# The second bag of the example trip, weighed within tolerance.
_OTHER_ID = "d2pwx5nqhr7ea3jmt4vkgyzc6b"


class ManifestPublic(ManifestSummary):
    model_config = example(
        {
            **example_of(ManifestSummary),
            "origin": {
                "organization_id": ex.HOSPITAL_ID,
                "name": ex.HOSPITAL,
                "kind": "hospital",
                "jurisdiction": "CN-15",
                "license_number": None,
                "address": "呼和浩特市新城区示范路20号",
                "phone": "0471-0000120",
            },
            "transporter": {
                "organization_id": ex.TRANSPORTER_ID,
                "name": ex.TRANSPORTER,
                "kind": "transporter",
                "jurisdiction": "CN-15",
                "license_number": "NMG-YF-T-2024-017",
                "address": "呼和浩特市新城区示范路8号",
                "phone": "0471-0000108",
            },
            "destination": {
                "organization_id": ex.PLANT_ID,
                "name": ex.PLANT,
                "kind": "disposal",
                "jurisdiction": "CN-15",
                "license_number": "NMG-WF-D-2023-004",
                "address": "呼和浩特市土默特左旗示范路99号",
                "phone": "0471-0000199",
            },
            "containers": [
                {
                    "container_id": ex.CONTAINER_ID,
                    "short_code": ex.SHORT_CODE,
                    "category": "infectious",
                    "epidemic": False,
                    "state": "received",
                    "picked_up_at": ex.PICKED_UP_AT,
                    "collection_weight_kg": 4.6,
                    "pickup_weight_kg": None,
                    "received_at": ex.RECEIVED_AT,
                    "receipt_weight_kg": 3.9,
                },
                {
                    "container_id": _OTHER_ID,
                    "short_code": "D2PW-X5NQ",
                    "category": "sharps",
                    "epidemic": False,
                    "state": "received",
                    "picked_up_at": "2026-11-02T02:02:41Z",
                    "collection_weight_kg": 3.1,
                    "pickup_weight_kg": 3.1,
                    "received_at": "2026-11-02T03:10:24Z",
                    "receipt_weight_kg": 3.0,
                },
            ],
            "signatures": [
                {
                    "party": "origin",
                    "user_id": ex.STAFF_USER_ID,
                    "organization_id": ex.HOSPITAL_ID,
                    "printed_name": ex.STAFF,
                    "signed_at": _ORIGIN_SIGNED,
                },
                {
                    "party": "transporter",
                    "user_id": ex.DRIVER_USER_ID,
                    "organization_id": ex.TRANSPORTER_ID,
                    "printed_name": ex.DRIVER,
                    "signed_at": _TRANSPORTER_SIGNED,
                },
                {
                    "party": "destination",
                    "user_id": ex.OPERATOR_USER_ID,
                    "organization_id": ex.PLANT_ID,
                    "printed_name": ex.OPERATOR,
                    "signed_at": _DESTINATION_SIGNED,
                },
            ],
            "totals": {
                "containers": 2,
                "received_containers": 2,
                "collection_weight_kg": 7.7,
                "receipt_weight_kg": 6.9,
            },
            "discrepancies": {
                "missing": {"count": 0, "container_ids": []},
                "unexpected": {"count": 0, "container_ids": []},
                "weight": [
                    {
                        "container_id": ex.CONTAINER_ID,
                        "collection_weight_kg": 4.6,
                        "receipt_weight_kg": 3.9,
                        "difference_kg": -0.7,
                        "difference_pct": -15.22,
                    }
                ],
                "total": {
                    "collection_weight_kg": 7.7,
                    "receipt_weight_kg": 6.9,
                    "difference_kg": -0.8,
                    "difference_pct": -10.39,
                    "flagged": True,
                },
                "tolerance": {"percent": 10.0, "floor_kg": 0.2},
                "any": True,
            },
            "content_sha256": ex.MANIFEST_SHA256,
        }
    )

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

    # A genuine copy printed at pickup, checked after the receipt: the record as it stood then
    # has the printed digest; what was recorded since is listed.
    model_config = example(
        {
            "manifest_id": ex.MANIFEST_ID,
            "number": ex.MANIFEST_NUMBER,
            "state": "received",
            "vehicle_plate": ex.VEHICLE_PLATE,
            "jurisdiction": "CN-15",
            "origin": ex.HOSPITAL,
            "transporter": ex.TRANSPORTER,
            "destination": ex.PLANT,
            "containers": 2,
            "content_sha256": ex.MANIFEST_SHA256,
            "printed_sha256": "676736c47fc99b2de8018d26c362d4d980703789a196fdfbd212e973ec428e84",
            "printed_at": "2026-11-02T02:06:03Z",
            "verdict": "matches",
            "changes_since": [
                {"recorded_at": ex.RECEIVED_AT, "change": "receipt", "subject": ex.SHORT_CODE},
                {
                    "recorded_at": "2026-11-02T03:10:24Z",
                    "change": "receipt",
                    "subject": "D2PW-X5NQ",
                },
                {
                    "recorded_at": _DESTINATION_SIGNED,
                    "change": "signature",
                    "subject": "destination",
                },
            ],
        }
    )

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
