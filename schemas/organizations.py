"""Organizations and sites."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from schemas import examples as ex
from schemas.common import Strict, example
from schemas.custody import Category
from service.organizations.models import OrgKind

# A Global Location Number: 13 digits, the last one the GS1 check digit (which the
# organizations service checks: the GS1 arithmetic lives in that domain).
Gln = Annotated[str, Field(pattern=r"^\d{13}$")]
# A GS1 company prefix: 4 to 12 digits.
CompanyPrefix = Annotated[str, Field(pattern=r"^\d{4,12}$")]
# A postal address as it is written on a manifest, in one line.
Address = Annotated[str, Field(min_length=1, max_length=300)]
# A phone number as dialled: digits, with an optional leading + and spaces, dashes, parentheses.
Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ()\-]{3,38}$", max_length=40)]


class OrganizationCreate(Strict):
    model_config = example(
        {
            "name": "内蒙古自治区人民医院",
            "kind": "hospital",
            "jurisdiction": "CN-15",
            "address": "内蒙古自治区呼和浩特市赛罕区昭乌达路20号",
            "phone": "0471-3280000",
        }
    )

    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,6})?$", max_length=16)
    license_number: str | None = Field(default=None, max_length=64)
    license_expires: date | None = None
    licensed_categories: list[Category] = Field(default_factory=list, max_length=5)
    epidemic_mode: bool = False
    anomaly_profile: str | None = Field(
        default=None, max_length=40, description="an anomaly profile instead of the jurisdiction's"
    )
    gs1_company_prefix: CompanyPrefix | None = Field(
        default=None, description="names its containers as GS1 Digital Links in EPCIS"
    )
    gln: Gln | None = Field(default=None, description="the organization's GS1 party GLN")
    address: Address | None = Field(default=None, description="printed on transfer manifests")
    phone: Phone | None = Field(default=None, description="printed on transfer manifests")


class ContactUpdate(Strict):
    """An organization's address and phone: a field left out is kept, a null one cleared."""

    model_config = example({"address": "呼和浩特市新城区东二环路1号", "phone": "+86 471 6620000"})

    address: Address | None = None
    phone: Phone | None = None


class OrganizationPublic(BaseModel):
    model_config = example(
        {
            "id": ex.HOSPITAL_ID,
            "name": ex.HOSPITAL,
            "kind": "hospital",
            "jurisdiction": "CN-15",
            "license_number": None,
            "license_expires": None,
            "licensed_categories": [],
            "epidemic_mode": False,
            "anomaly_profile": None,
            "gs1_company_prefix": None,
            "gln": None,
            "address": "呼和浩特市新城区示范路20号",
            "phone": "0471-0000120",
            "created_at": "2026-03-02T01:20:44.106355Z",
        },
        from_attributes=True,
    )

    id: uuid.UUID
    name: str
    kind: OrgKind
    jurisdiction: str
    license_number: str | None
    license_expires: date | None
    licensed_categories: list[str]
    epidemic_mode: bool
    anomaly_profile: str | None
    gs1_company_prefix: str | None = None
    gln: str | None = None
    address: str | None = None
    phone: str | None = None
    created_at: datetime


class SiteCreate(Strict):
    model_config = example(
        {"name": "住院部医疗废物暂存间", "latitude": 40.8426, "longitude": 111.749, "radius_m": 300}
    )

    name: str = Field(min_length=1, max_length=200)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    radius_m: float = Field(default=300.0, gt=0, le=50_000)
    gln: Gln | None = Field(default=None, description="the site's GS1 Global Location Number")


class SitePublic(BaseModel):
    model_config = example(
        {
            "id": ex.HOSPITAL_SITE_ID,
            "organization_id": ex.HOSPITAL_ID,
            "name": "医废暂存间 Temporary waste store",
            "latitude": 40.8186,
            "longitude": 111.6708,
            "radius_m": 300.0,
            "gln": None,
            "created_at": "2026-03-02T01:22:10.530871Z",
        },
        from_attributes=True,
    )

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    latitude: float
    longitude: float
    radius_m: float
    gln: str | None = None
    created_at: datetime
