"""A small region (hospital, two transport companies, a disposal plant, a regulator) and the
steps of a trip, through the real API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pypdfium2 as pdfium
import zxingcpp
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.auth.models import User
from service.auth.roles import Role
from service.organizations.models import Organization, OrgKind, Site
from tests.conftest import FakeClock
from tests.custody.helpers import Hospital, hospital, register, scan
from tests.factories import login, make_org, make_site, make_user


@dataclass
class Member:
    org: Organization
    user: User
    headers: dict[str, str]
    site: Site | None = None


@dataclass
class Region:
    hospital: Hospital
    transporter: Member
    other_transporter: Member
    plant: Member
    regulator: Member

    def relogin(self, client: TestClient) -> None:
        self.hospital.relogin(client)
        for m in (self.transporter, self.other_transporter, self.plant, self.regulator):
            m.headers = login(client, m.user)


def member(
    session: Session,
    client: TestClient,
    kind: OrgKind,
    role: Role,
    *,
    jurisdiction: str = "CN-15",
    with_site: bool = False,
) -> Member:
    org = make_org(session, kind, jurisdiction=jurisdiction)
    user = make_user(session, role, org)
    site = make_site(session, org) if with_site else None
    return Member(org, user, login(client, user), site)


def region(session: Session, client: TestClient, jurisdiction: str = "CN-15") -> Region:
    return Region(
        hospital=hospital(session, client, jurisdiction),
        transporter=member(session, client, OrgKind.transporter, Role.driver),
        other_transporter=member(session, client, OrgKind.transporter, Role.driver),
        plant=member(session, client, OrgKind.disposal, Role.disposal_operator, with_site=True),
        regulator=member(session, client, OrgKind.regulator, Role.regulator),
    )


def collected(
    client: TestClient, r: Region, clock: FakeClock, weights: list[float]
) -> list[dict[str, Any]]:
    """Containers registered, collected with these weights and put in the hospital store."""
    containers = register(client, r.hospital, count=len(weights))
    for c, weight in zip(containers, weights, strict=True):
        assert (
            scan(
                client, r.hospital.staff, c["qr_payload"], "collect", clock.now, weight_kg=weight
            ).status_code
            == 201
        )
        assert (
            scan(client, r.hospital.staff, c["qr_payload"], "store", clock.now).status_code == 201
        )
    return containers


def new_manifest(
    client: TestClient, r: Region, driver: Member | None = None, **papers: str
) -> dict[str, Any]:
    """A trip from the hospital to the plant; ``papers``: the driver's and the permit's."""
    response = client.post(
        "/api/v1/manifests",
        json={
            "origin_organization_id": str(r.hospital.org.id),
            "destination_organization_id": str(r.plant.org.id),
            "vehicle_plate": "蒙A·12345",
            **papers,
        },
        headers=(driver or r.transporter).headers,
    )
    assert response.status_code == 201, response.text
    manifest: dict[str, Any] = response.json()
    return manifest


def pickup(
    client: TestClient, r: Region, manifest: dict[str, Any], c: dict[str, Any], at: datetime
) -> Any:
    return scan(
        client, r.transporter.headers, c["qr_payload"], "pickup", at, manifest_id=manifest["id"]
    )


def receive(client: TestClient, r: Region, c: dict[str, Any], weight: float, at: datetime) -> Any:
    return scan(client, r.plant.headers, c["qr_payload"], "receive", at, weight_kg=weight)


def sign(client: TestClient, headers: dict[str, str], manifest: dict[str, Any], party: str) -> Any:
    return client.post(
        f"/api/v1/manifests/{manifest['id']}/sign",
        json={"party": party, "printed_name": f"{party} 签字人"},
        headers=headers,
    )


def dispatched(
    client: TestClient, r: Region, clock: FakeClock, weights: list[float]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A manifest with these containers picked up, signed by origin and transporter."""
    containers = collected(client, r, clock, weights)
    manifest = new_manifest(client, r)
    clock.advance(minutes=5)
    for c in containers:
        assert pickup(client, r, manifest, c, clock.now).status_code == 201
    assert sign(client, r.hospital.staff, manifest, "origin").status_code == 200
    response = sign(client, r.transporter.headers, manifest, "transporter")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "in_transit"
    return manifest, containers


def new_id() -> str:
    return str(uuid.uuid4())


def qr_codes(pdf: bytes) -> list[str]:
    """The text of every QR code on a PDF's pages, rendered at 200 dpi and read by zxing."""
    return [
        b.text
        for page in pdfium.PdfDocument(pdf)
        for b in zxingcpp.read_barcodes(
            page.render(scale=200 / 72).to_pil(), formats=zxingcpp.BarcodeFormat.QRCode
        )
        if b.valid
    ]
