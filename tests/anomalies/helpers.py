"""A whole chain (hospital → transporter → plant) set up for anomaly tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.auth.models import User
from service.auth.roles import Role
from service.manifests.models import Manifest, ManifestState
from service.organizations.models import Organization, OrgKind, Site
from tests.custody.helpers import scan
from tests.factories import login, make_org, make_site, make_user

HOHHOT = (40.8426, 111.7490)
PLANT = (40.70, 111.55)  # about 25 km away


@dataclass
class Chain:
    client: TestClient
    session: Session
    hospital: Organization
    ward: Site
    staff: User
    transporter: Organization
    driver: User
    plant: Organization
    plant_site: Site
    operator: User
    regulator: User
    admin: User
    _tokens: dict[uuid.UUID, dict[str, str]] = field(default_factory=dict)

    def headers(self, user: User) -> dict[str, str]:
        return login(self.client, user)

    def register(self, **extra: Any) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/containers",
            json={"count": 1, "category": "infectious", "site_id": str(self.ward.id), **extra},
            headers=self.headers(self.staff),
        )
        assert response.status_code == 201, response.text
        container: dict[str, Any] = response.json()["containers"][0]
        return container

    def scan(self, user: User, c: dict[str, Any], action: str, at: datetime, **extra: Any) -> Any:
        return scan(self.client, self.headers(user), c["qr_payload"], action, at, **extra)

    def correct_weight(
        self, c: dict[str, Any], event: dict[str, Any], kg: float, at: datetime
    ) -> None:
        """The hospital corrects the weight its ``event`` (a collect) recorded to ``kg``."""
        fixed = self.scan(
            self.staff,
            c,
            "correct",
            at,
            corrects_event_id=event["id"],
            correction_reason="incorrect_data",
            correction_data={"weight_kg": kg},
        )
        assert fixed.status_code == 201, fixed.text

    def manifest(self, state: ManifestState = ManifestState.open, **extra: Any) -> Manifest:
        m = Manifest(
            number=str(uuid.uuid4().int)[:14],
            origin_organization_id=self.hospital.id,
            transporter_organization_id=self.transporter.id,
            destination_organization_id=self.plant.id,
            vehicle_plate="蒙A12345",
            state=state,
            created_by_user_id=self.staff.id,
            **extra,
        )
        self.session.add(m)
        self.session.flush()
        return m


def chain(
    session: Session, client: TestClient, *, jurisdiction: str = "CN-15", **plant: Any
) -> Chain:
    hospital = make_org(session, OrgKind.hospital, jurisdiction=jurisdiction)
    ward = make_site(session, hospital, latitude=HOHHOT[0], longitude=HOHHOT[1])
    transporter = make_org(session, OrgKind.transporter, jurisdiction=jurisdiction)
    plant_org = make_org(session, OrgKind.disposal, jurisdiction=jurisdiction, **plant)
    plant_site = make_site(session, plant_org, latitude=PLANT[0], longitude=PLANT[1])
    regulator_org = make_org(session, OrgKind.regulator, jurisdiction=jurisdiction)
    return Chain(
        client=client,
        session=session,
        hospital=hospital,
        ward=ward,
        staff=make_user(session, Role.hospital_staff, hospital),
        transporter=transporter,
        driver=make_user(session, Role.driver, transporter),
        plant=plant_org,
        plant_site=plant_site,
        operator=make_user(session, Role.disposal_operator, plant_org),
        regulator=make_user(session, Role.regulator, regulator_org),
        admin=make_user(session, Role.admin),
    )


def kinds(response: Any) -> list[str]:
    assert response.status_code in (200, 201), response.text
    return sorted(a["kind"] for a in response.json()["anomalies"])
