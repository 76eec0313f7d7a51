"""The audit log: every write request, refused or done, with who, where and the outcome;
readable by admins (all) and regulators (their jurisdiction)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from service.audit.models import AuditEntry
from service.auth.roles import Role
from service.config import Settings
from tests.auth.world import build_world
from tests.conftest import FakeClock


def _entries(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 50, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/audit", params=query, headers=headers)
        assert response.status_code == 200, response.text
        items.extend(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def test_refused_and_successful_writes_are_logged_and_scoped(
    client: TestClient, session: Session, settings: Settings, clock: FakeClock
) -> None:
    world = build_world(client, session, settings, clock.now)
    staff = world.users[Role.hospital_staff]
    clock.advance(minutes=1)
    since = clock.now.isoformat()
    refused = client.post(
        "/api/v1/organizations", json={}, headers=world.headers[Role.hospital_staff]
    )
    assert refused.status_code == 403
    clock.advance(seconds=5)
    done = client.post(
        "/api/v1/containers",
        json={"count": 1, "category": "sharps", "site_id": str(world.sites["hospital"].id)},
        headers=world.headers[Role.hospital_staff],
    )
    assert done.status_code == 201
    container_id = done.json()["containers"][0]["id"]
    missing = client.get(
        f"/api/v1/containers/{container_id}/events", headers=world.headers[Role.hospital_staff]
    )
    assert missing.status_code == 200  # reads are not audited
    anonymous = client.post(f"/api/v1/users/{staff.id}/deactivate")
    assert anonymous.status_code == 401

    admin_view = _entries(client, world.headers[Role.admin], user_id=staff.id, since=since)
    assert [(e["method"], e["path"], e["status_code"]) for e in admin_view] == [
        ("POST", "/api/v1/organizations", 403),
        ("POST", "/api/v1/containers", 201),
    ]
    first = admin_view[0]
    assert first["username"] == staff.username
    assert first["organization_id"] == str(world.orgs["hospital"].id)
    assert first["occurred_at"].startswith(clock.now.date().isoformat())
    assert first["client_address"] == "testclient"
    # the anonymous refusal is on record too, with the route template and its target
    anonymous_entries = [
        e
        for e in _entries(client, world.headers[Role.admin], since=since)
        if e["path"] == "/api/v1/users/{user_id}/deactivate"
    ]
    assert [(e["status_code"], e["user_id"], e["target_id"]) for e in anonymous_entries] == [
        (401, None, str(staff.id))
    ]

    # the regulator of the hospital's jurisdiction sees both; another jurisdiction's does not
    own_regulator = _entries(client, world.headers[Role.regulator], user_id=staff.id, since=since)
    assert [e["status_code"] for e in own_regulator] == [403, 201]
    other_regulator = _entries(client, world.other_headers["regulator_b"], user_id=staff.id)
    assert other_regulator == []
    by_org = _entries(
        client, world.other_headers["regulator_b"], organization_id=world.orgs["hospital"].id
    )
    assert by_org == []
    # and nobody else reads the log
    assert (
        client.get("/api/v1/audit", headers=world.headers[Role.hospital_staff]).status_code == 403
    )


def test_throttled_and_failed_logins_are_logged(
    client: TestClient, session: Session, settings: Settings, clock: FakeClock
) -> None:
    world = build_world(client, session, settings, clock.now)
    username = world.users[Role.driver].username
    for _ in range(settings.login_max_failures + 1):
        client.post("/api/v1/auth/token", data={"username": username, "password": "wrong-guess-1"})
    statuses = [
        e["status_code"]
        for e in _entries(client, world.headers[Role.admin])
        if e["path"] == "/api/v1/auth/token" and e["username"] == username
    ]
    assert statuses == [401] * settings.login_max_failures + [429]


def test_audit_rows_cannot_be_changed(session: Session, clock: FakeClock) -> None:
    entry = AuditEntry(occurred_at=clock.now, method="POST", path="/x", status_code=201)
    session.add(entry)
    session.flush()
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(
            text("UPDATE audit_entry SET status_code = 200 WHERE id = :id"), {"id": entry.id}
        )
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": entry.id})


def test_creations_and_scans_name_their_target(
    client: TestClient, session: Session, settings: Settings, clock: FakeClock
) -> None:
    world = build_world(client, session, settings, clock.now)
    staff = world.headers[Role.hospital_staff]
    clock.advance(minutes=1)
    since = clock.now.isoformat()
    made = client.post(
        "/api/v1/containers",
        json={"count": 1, "category": "sharps", "site_id": str(world.sites["hospital"].id)},
        headers=staff,
    ).json()
    container = made["containers"][0]
    # A refused scan (storing a container never collected) names its container too.
    refused = client.post(
        "/api/v1/scans",
        json={
            "qr_payload": container["qr_payload"],
            "action": "store",
            "client_event_id": "audit-target-0001",
            "scanned_at": clock.now.isoformat(),
        },
        headers=staff,
    )
    assert refused.status_code == 409
    entries = _entries(
        client, world.headers[Role.admin], user_id=world.users[Role.hospital_staff].id, since=since
    )
    assert [(e["path"], e["status_code"], e["target_id"]) for e in entries] == [
        ("/api/v1/containers", 201, made["batch_id"]),
        ("/api/v1/scans", 409, container["id"]),
    ]
