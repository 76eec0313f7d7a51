"""A small hospital set up through the real API, for custody tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.auth.models import User
from service.auth.roles import Role
from service.organizations.models import Organization, OrgKind, Site
from tests.factories import login, make_org, make_site, make_user


@dataclass
class Hospital:
    org: Organization
    site: Site
    user: User
    staff: dict[str, str]

    def relogin(self, client: TestClient) -> None:
        """A fresh access token (after the test clock moved past the old one's expiry)."""
        self.staff = login(client, self.user)


def hospital(session: Session, client: TestClient, jurisdiction: str = "CN-15") -> Hospital:
    org = make_org(session, OrgKind.hospital, jurisdiction=jurisdiction)
    site = make_site(session, org)
    user = make_user(session, Role.hospital_staff, org)
    return Hospital(org, site, user, login(client, user))


def register(client: TestClient, h: Hospital, count: int = 1, **extra: Any) -> list[dict[str, Any]]:
    response = client.post(
        "/api/v1/containers",
        json={"count": count, "category": "infectious", "site_id": str(h.site.id), **extra},
        headers=h.staff,
    )
    assert response.status_code == 201, response.text
    containers: list[dict[str, Any]] = response.json()["containers"]
    return containers


def scan(
    client: TestClient,
    headers: dict[str, str],
    payload: str,
    action: str,
    at: datetime,
    **extra: Any,
) -> Any:
    body = {
        "qr_payload": payload,
        "action": action,
        "client_event_id": extra.pop("client_event_id", str(uuid.uuid4())),
        "scanned_at": at.isoformat(),
        **{k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in extra.items()},
    }
    return client.post("/api/v1/scans", json=body, headers=headers)
