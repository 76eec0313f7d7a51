"""The actor and the directory of organizations and sites are remembered between requests,
and any change to them, made by whichever process, counts from the next request on: a
deactivated user or a revoked phone is refused at once, a moved organization is judged by
where it is now."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, update
from sqlmodel import Session, col, func, select

from service.app import create_app
from service.auth.models import User
from service.auth.roles import Role
from service.config import Settings
from service.custody.models import Container, CustodyEvent
from tests.conftest import FakeClock, through
from tests.custody.helpers import hospital, register, scan
from tests.factories import PASSWORD, login, make_org, make_user


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    return seen


def _reads_user(statements: list[str]) -> bool:
    return any('FROM "user"' in s or "FROM user" in s for s in statements)


def _me(client: TestClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/me", headers=headers).status_code


def _phone(client: TestClient, headers: dict[str, str], device: str = "phone-1") -> list[int]:
    """The statuses of a scan and of a sync batch (which resolve their caller in their own
    trip to the thread pool), of a label nobody registered."""
    scan = {
        "qr_payload": "MW1.nothing.here",
        "action": "collect",
        "client_event_id": str(uuid.uuid4()),
        "scanned_at": "2026-01-05T08:00:00+00:00",
        "weight_kg": 1.5,
    }
    return [
        client.post("/api/v1/scans", json=scan, headers=headers).status_code,
        client.post(
            "/mobile/v1/sync", json={"device_id": device, "scans": [scan]}, headers=headers
        ).status_code,
    ]


@pytest.fixture
def other_app(settings: Settings, engine: Engine, session: Session, clock: FakeClock) -> FastAPI:
    """A second server process on the same database (its own caches)."""
    application = create_app(settings, engine=engine, clock=clock)
    application.state.sessions = through(session)
    application.state.audit_writer = lambda entry: None
    return application


def test_the_actor_is_remembered_and_a_deactivation_counts_at_the_next_request(
    client: TestClient, session: Session, engine: Engine
) -> None:
    org = make_org(session)
    user = make_user(session, Role.hospital_staff, org)
    admin = login(client, make_user(session, Role.admin))
    headers = login(client, user)
    assert _me(client, headers) == 200
    seen = _statements(engine)
    assert _me(client, headers) == 200
    assert not _reads_user(seen), "the second request should use the remembered actor"

    scan_status, sync_status = _phone(client, headers)
    assert scan_status not in (401, 403) and sync_status == 200

    assert client.post(f"/api/v1/users/{user.id}/deactivate", headers=admin).status_code == 200
    assert _me(client, headers) == 401
    assert _me(client, headers) == 401
    assert _phone(client, headers) == [401, 401]


def test_a_revoked_phone_is_refused_at_its_next_request(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, Role.hospital_staff, make_org(session))
    admin = login(client, make_user(session, Role.admin))
    pairs = {}
    for device in ("phone-lost", "phone-kept"):
        response = client.post(
            "/api/v1/auth/token",
            data={"username": user.username, "password": PASSWORD, "device_id": device},
        )
        assert response.status_code == 200, response.text
        pairs[device] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert _me(client, pairs["phone-lost"]) == _me(client, pairs["phone-kept"]) == 200

    assert _phone(client, pairs["phone-lost"], "phone-lost")[1] == 200

    assert client.post("/api/v1/devices/phone-lost/revoke", headers=admin).status_code == 200
    assert _me(client, pairs["phone-lost"]) == 401
    assert _me(client, pairs["phone-kept"]) == 200
    assert _phone(client, pairs["phone-lost"], "phone-lost") == [401, 401]
    assert _phone(client, pairs["phone-kept"], "phone-kept")[1] == 200


def test_a_change_made_by_another_process_counts_at_the_next_request(
    client: TestClient, other_app: FastAPI, session: Session
) -> None:
    # Started first: its start-up writes in a transaction of its own.
    with TestClient(other_app, raise_server_exceptions=False) as other:
        user = make_user(session, Role.hospital_staff, make_org(session))
        headers = login(client, user)
        assert _me(client, headers) == _me(other, headers) == 200  # both remember the actor
        # Another process (or a console) deactivates the user straight in the database.
        session.execute(update(User).where(col(User.id) == user.id).values(is_active=False))
        session.commit()
        assert _me(client, headers) == 401
        assert _me(other, headers) == 401

        # A revoked device written by another process is refused too.
        phone_user = make_user(session, Role.driver, make_org(session))
        response = other.post(
            "/api/v1/auth/token",
            data={"username": phone_user.username, "password": PASSWORD, "device_id": "phone-9"},
        )
        phone = {"Authorization": f"Bearer {response.json()['access_token']}"}
        assert _me(client, phone) == _me(other, phone) == 200
        admin = login(other, make_user(session, Role.admin))
        assert other.post("/api/v1/devices/phone-9/revoke", headers=admin).status_code == 200
        assert _me(client, phone) == 401


def test_organizations_are_judged_as_they_are_now(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    assert (
        scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=1.0).status_code
        == 201
    )
    regulator = login(
        client, make_user(session, Role.regulator, make_org(session, kind="regulator"))
    )
    first = scan(client, regulator, c["qr_payload"], "inspect", clock.now)
    assert first.status_code == 201, first.text
    again = scan(client, regulator, c["qr_payload"], "inspect", clock.now)
    assert again.status_code == 201, again.text

    # The hospital moves to another jurisdiction: the regulator may no longer inspect there.
    h.org.jurisdiction = "CN-37"
    session.add(h.org)
    session.commit()
    moved = scan(client, regulator, c["qr_payload"], "inspect", clock.now)
    assert moved.status_code == 403, moved.text
    assert moved.json()["type"].endswith("/custody-mismatch")


def test_a_scan_of_a_registered_container_checks_the_caller_as_the_database_says_now(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    # Such a scan reads the directory epoch with its container, in one statement.
    h = hospital(session, client)
    first, second = register(client, h, count=2)
    collect = {"weight_kg": 1.0}
    assert scan(client, h.staff, first["qr_payload"], "collect", clock.now, **collect).status_code
    assert _phone(client, h.staff)[1] == 200  # the actor is remembered
    events = session.exec(select(func.count()).select_from(CustodyEvent)).one()

    # Deactivated straight in the database, as by another process or a console.
    session.execute(update(User).where(col(User.id) == h.user.id).values(is_active=False))
    session.commit()
    refused = scan(client, h.staff, second["qr_payload"], "collect", clock.now, **collect)
    assert refused.status_code == 401, refused.text
    assert session.exec(select(func.count()).select_from(CustodyEvent)).one() == events
    assert session.get(Container, second["id"]).state == "labelled"  # type: ignore[union-attr]
