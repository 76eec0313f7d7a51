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


def test_an_organizations_address_and_phone_are_set_changed_and_cleared(
    client: TestClient, session: Session
) -> None:
    admin = login(client, make_user(session, Role.admin))
    made = client.post(
        "/api/v1/organizations",
        json={
            "name": "呼和浩特市第一医院",
            "kind": "hospital",
            "jurisdiction": "CN-15",
            "address": "呼和浩特市新城区北垣东街1号",
            "phone": "0471-6944000",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    org = made.json()
    assert (org["address"], org["phone"]) == ("呼和浩特市新城区北垣东街1号", "0471-6944000")
    path = f"/api/v1/organizations/{org['id']}"

    # Only the fields sent change; null clears one.
    moved = client.patch(path, json={"phone": "+86 471 6944001"}, headers=admin).json()
    assert (moved["address"], moved["phone"]) == ("呼和浩特市新城区北垣东街1号", "+86 471 6944001")
    cleared = client.patch(path, json={"address": None}, headers=admin).json()
    assert (cleared["address"], cleared["phone"]) == (None, "+86 471 6944001")

    for body in ({"phone": "call me"}, {"phone": "12"}, {"address": ""}, {"name": "renamed"}):
        refused = client.patch(path, json=body, headers=admin)
        assert refused.status_code == 422, body
        assert refused.headers["content-type"] == "application/problem+json"
    listed = client.get("/api/v1/organizations", headers=admin).json()["items"]
    assert [(o["address"], o["phone"]) for o in listed if o["id"] == org["id"]] == [
        (None, "+86 471 6944001")
    ]
    assert (
        client.patch(f"/api/v1/organizations/{uuid.uuid4()}", json={}, headers=admin).status_code
        == 404
    )
    staff = login(
        client, make_user(session, Role.hospital_staff, make_org(session, OrgKind.hospital))
    )
    assert client.patch(path, json={"phone": "0471-1"}, headers=staff).status_code == 403
