"""A small two-jurisdiction region with one user of every role, for authorization tests.

Jurisdiction A (CN-15): hospital, transporter, storage site, disposal plant, regulator.
Jurisdiction B (CN-37): a hospital and a regulator. Tokens are minted directly (the token
endpoint has its own tests) so that a matrix of hundreds of requests stays fast.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.anomalies.models import Anomaly
from service.auth.models import User
from service.auth.roles import Role
from service.auth.tokens import issue_access_token
from service.config import Settings
from service.custody.models import Container
from service.manifests.models import Manifest, ManifestState
from service.organizations.models import Organization, OrgKind, Site
from tests.factories import make_org, make_site, make_user

ROLE_ORG: dict[Role, str | None] = {
    Role.hospital_staff: "hospital",
    Role.driver: "transporter",
    Role.storage_operator: "storage",
    Role.disposal_operator: "disposal",
    Role.regulator: "regulator",
    Role.admin: None,
}


def bearer(
    settings: Settings, user: User, now: datetime, device_id: str | None = None
) -> dict[str, str]:
    token, _ = issue_access_token(
        settings=settings,
        user_id=user.id,
        role=user.role,
        organization_id=user.organization_id,
        device_id=device_id,
        now=now,
    )
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    orgs: dict[str, Organization]
    sites: dict[str, Site]
    users: dict[Role, User]
    headers: dict[Role, dict[str, str]]
    other_users: dict[str, User]
    other_headers: dict[str, dict[str, str]]
    bystander: User
    # Per role: a container / manifest the role may read; and one of jurisdiction B nobody
    # of jurisdiction A may read.
    own_container: dict[Role, str] = field(default_factory=dict)
    other_container: str = ""
    own_manifest: dict[Role, uuid.UUID] = field(default_factory=dict)
    other_manifest: uuid.UUID | None = None
    own_anomaly: dict[Role, uuid.UUID] = field(default_factory=dict)
    other_anomaly: uuid.UUID | None = None

    def other(self, kind: str) -> object:
        """Jurisdiction B's object of ``kind``: invisible to everyone of jurisdiction A."""
        return {
            "container": self.other_container,
            "manifest": self.other_manifest,
            "anomaly": self.other_anomaly,
        }[kind]


def _register(client: TestClient, headers: dict[str, str], site: Site, count: int) -> list[str]:
    response = client.post(
        "/api/v1/containers",
        json={"count": count, "category": "infectious", "site_id": str(site.id)},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return [c["id"] for c in response.json()["containers"]]


def _manifest(
    session: Session,
    origin: Organization,
    transporter: Organization,
    destination: Organization,
    creator: User,
) -> uuid.UUID:
    manifest = Manifest(
        number=str(uuid.uuid4().int)[:14],
        origin_organization_id=origin.id,
        transporter_organization_id=transporter.id,
        destination_organization_id=destination.id,
        vehicle_plate="蒙A12345",
        state=ManifestState.open,
        created_by_user_id=creator.id,
    )
    session.add(manifest)
    session.flush()
    return manifest.id


def build_world(client: TestClient, session: Session, settings: Settings, now: datetime) -> World:
    orgs = {
        "hospital": make_org(session, OrgKind.hospital, jurisdiction="CN-15"),
        "transporter": make_org(session, OrgKind.transporter, jurisdiction="CN-15"),
        "storage": make_org(session, OrgKind.storage, jurisdiction="CN-15"),
        "disposal": make_org(session, OrgKind.disposal, jurisdiction="CN-15"),
        "regulator": make_org(session, OrgKind.regulator, jurisdiction="CN-15"),
        "hospital_b": make_org(session, OrgKind.hospital, jurisdiction="CN-37"),
        "transporter_b": make_org(session, OrgKind.transporter, jurisdiction="CN-37"),
        "disposal_b": make_org(session, OrgKind.disposal, jurisdiction="CN-37"),
        "regulator_b": make_org(session, OrgKind.regulator, jurisdiction="CN-37"),
    }
    sites = {
        name: make_site(session, orgs[name])
        for name in ("hospital", "storage", "disposal", "hospital_b")
    }
    users = {role: make_user(session, role, orgs[k] if k else None) for role, k in ROLE_ORG.items()}
    other_users = {
        "hospital_b": make_user(session, Role.hospital_staff, orgs["hospital_b"]),
        "regulator_b": make_user(session, Role.regulator, orgs["regulator_b"]),
    }
    world = World(
        orgs=orgs,
        sites=sites,
        users=users,
        headers={role: bearer(settings, u, now) for role, u in users.items()},
        other_users=other_users,
        other_headers={k: bearer(settings, u, now) for k, u in other_users.items()},
        bystander=make_user(session, Role.hospital_staff, orgs["hospital"]),
    )
    own_a, for_driver, for_storage, for_disposal = _register(
        client, world.headers[Role.hospital_staff], sites["hospital"], 4
    )
    [world.other_container] = _register(
        client, world.other_headers["hospital_b"], sites["hospital_b"], 1
    )
    # Containers further down the chain, placed directly (the scan flow has its own tests).
    for container_id, holder in (
        (for_driver, "transporter"),
        (for_storage, "storage"),
        (for_disposal, "disposal"),
    ):
        container = session.get(Container, container_id)
        assert container is not None
        container.custodian_organization_id = orgs[holder].id
        container.holder_organization_id = orgs[holder].id
        session.add(container)
    session.flush()
    world.own_container = {
        Role.hospital_staff: own_a,
        Role.driver: for_driver,
        Role.storage_operator: for_storage,
        Role.disposal_operator: for_disposal,
        Role.regulator: own_a,
        Role.admin: own_a,
    }
    trip = _manifest(
        session, orgs["hospital"], orgs["transporter"], orgs["disposal"], users[Role.hospital_staff]
    )
    to_store = _manifest(
        session, orgs["hospital"], orgs["transporter"], orgs["storage"], users[Role.hospital_staff]
    )
    world.own_manifest = dict.fromkeys(Role, trip)
    world.own_manifest[Role.storage_operator] = to_store
    world.other_manifest = _manifest(
        session,
        orgs["hospital_b"],
        orgs["transporter_b"],
        orgs["disposal_b"],
        other_users["hospital_b"],
    )
    anomalies = {
        name: _anomaly(session, orgs[name])
        for name in ("hospital", "transporter", "storage", "disposal")
    }
    world.own_anomaly = {role: anomalies[k] for role, k in ROLE_ORG.items() if k in anomalies}
    world.own_anomaly[Role.regulator] = world.own_anomaly[Role.admin] = anomalies["hospital"]
    world.other_anomaly = _anomaly(session, orgs["hospital_b"])
    # Keep the setup when a refused request rolls its own unit of work back (in the test
    # session a commit only ends a savepoint of the test's transaction).
    session.commit()
    return world


def _anomaly(session: Session, org: Organization) -> uuid.UUID:
    anomaly = Anomaly(
        kind="storage_overdue",
        severity="warning",
        organization_id=org.id,
        jurisdiction=org.jurisdiction,
        rule="test",
        threshold="48h",
        dedupe_key=f"test:{uuid.uuid4()}",
    )
    session.add(anomaly)
    session.flush()
    return anomaly.id


def jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value
