"""Organizations and their sites, as the phone app and the dashboard read them."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.auth.roles import Role
from service.organizations.models import OrgKind
from tests.factories import login, make_org, make_user


def test_sites_are_listed_for_those_who_may_see_the_organization(
    client: TestClient, session: Session
) -> None:
    admin = login(client, make_user(session, Role.admin))
    hospital = make_org(session, OrgKind.hospital, jurisdiction="CN-15")
    for name in ("Ward store", "Temporary store"):
        made = client.post(
            f"/api/v1/organizations/{hospital.id}/sites",
            json={"name": name, "latitude": 40.8, "longitude": 111.7},
            headers=admin,
        )
        assert made.status_code == 201, made.text
    staff = login(client, make_user(session, Role.hospital_staff, hospital))
    page = client.get(
        f"/api/v1/organizations/{hospital.id}/sites", params={"limit": 1}, headers=staff
    ).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(
        f"/api/v1/organizations/{hospital.id}/sites",
        params={"cursor": page["next_cursor"]},
        headers=staff,
    ).json()
    assert {s["name"] for s in page["items"] + rest["items"]} == {"Ward store", "Temporary store"}
    assert rest["next_cursor"] is None

    elsewhere = login(
        client,
        make_user(
            session, Role.regulator, make_org(session, OrgKind.regulator, jurisdiction="CN-37")
        ),
    )
    assert (
        client.get(f"/api/v1/organizations/{hospital.id}/sites", headers=elsewhere).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/organizations/{uuid.uuid4()}/sites", headers=staff).status_code == 404
    )
