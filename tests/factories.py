"""Factories for test data: real rows through the real services, with sensible defaults."""

from __future__ import annotations

import uuid
from datetime import date
from functools import lru_cache
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.auth.models import User
from service.auth.passwords import hash_password
from service.auth.roles import Role
from service.organizations.models import Organization, OrgKind, Site

PASSWORD = "correct-horse-battery"


@lru_cache
def _password_hash() -> str:
    # argon2 is slow on purpose; hash the shared test password once.
    return hash_password(PASSWORD)


def make_org(
    session: Session,
    kind: OrgKind = OrgKind.hospital,
    *,
    jurisdiction: str = "CN-15",
    name: str | None = None,
    licensed_categories: list[str] | None = None,
    license_expires: date | None = date(2030, 1, 1),
    **extra: Any,
) -> Organization:
    licensed = kind in (OrgKind.transporter, OrgKind.storage, OrgKind.disposal)
    org = Organization(
        name=name or f"{kind} {uuid.uuid4().hex[:6]}",
        kind=kind,
        jurisdiction=jurisdiction,
        license_number=f"LIC-{uuid.uuid4().hex[:8]}" if licensed else None,
        license_expires=license_expires if licensed else None,
        licensed_categories=licensed_categories
        if licensed_categories is not None
        else (
            ["infectious", "sharps", "pathological", "pharmaceutical", "chemical"]
            if licensed
            else []
        ),
        **extra,
    )
    session.add(org)
    session.flush()
    return org


def make_site(
    session: Session,
    org: Organization,
    *,
    latitude: float = 40.8426,
    longitude: float = 111.7490,
    radius_m: float = 300.0,
) -> Site:
    site = Site(
        organization_id=org.id,
        name=f"site {uuid.uuid4().hex[:4]}",
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
    )
    session.add(site)
    session.flush()
    return site


def make_user(session: Session, role: Role, org: Organization | None = None) -> User:
    user = User(
        username=f"{role}-{uuid.uuid4().hex[:8]}",
        password_hash=_password_hash(),
        role=role,
        organization_id=org.id if org else None,
    )
    session.add(user)
    session.flush()
    return user


def login(client: TestClient, user: User, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers for ``user``, through the real token endpoint."""
    response = client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
