"""Smaller holes: two tabs refreshing at once, impossible event times, weights that are not
numbers, and a database file others could read."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, func, select

from service.auth.roles import Role
from service.custody.models import Container, CustodyEvent, ScanRejection
from service.db import make_engine
from tests.conftest import FakeClock
from tests.custody.helpers import hospital, register, scan
from tests.factories import PASSWORD, make_org, make_user


def _count(session: Session, table: Any) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def _refresh(client: TestClient, token: str) -> Any:
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def test_two_tabs_refreshing_with_one_token_both_keep_the_session(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    user = make_user(session, Role.hospital_staff, make_org(session))
    login = client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}
    )
    token = login.json()["refresh_token"]
    first_tab = _refresh(client, token)
    clock.advance(seconds=2)
    second_tab = _refresh(client, token)
    assert first_tab.status_code == 200 and second_tab.status_code == 200, second_tab.text
    first, second = first_tab.json(), second_tab.json()
    assert first["refresh_token"] != second["refresh_token"]
    # Both tabs go on: each refreshes with its own new token, and each gets a working pair.
    clock.advance(seconds=40)
    for pair in (first, second):
        again = _refresh(client, pair["refresh_token"])
        assert again.status_code == 200, again.text
        me = client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"}
        )
        assert me.json()["user"]["id"] == str(user.id)
    # The shared token is past its grace now: presenting it again is reuse, and ends the session.
    assert _refresh(client, token).status_code == 401
    assert _refresh(client, first["refresh_token"]).status_code == 401


def test_the_grace_does_not_extend_itself(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    token = client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}
    ).json()["refresh_token"]
    assert _refresh(client, token).status_code == 200
    for _ in range(3):  # presented again every 20 s: the grace runs from the first exchange
        clock.advance(seconds=20)
        if _refresh(client, token).status_code == 401:
            break
    else:
        pytest.fail("a token presented again and again stayed inside the grace")


def _events(session: Session, container_id: str) -> int:
    return _count(
        session, select(CustodyEvent).where(CustodyEvent.container_id == container_id).subquery()
    )


@pytest.mark.parametrize(
    ("offset", "why"),
    [
        (timedelta(hours=-1), "before the container was registered"),
        (timedelta(days=-3650), "before the container was registered"),
    ],
)
def test_an_event_time_before_registration_is_refused_and_recorded(
    client: TestClient, session: Session, clock: FakeClock, offset: timedelta, why: str
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    before = _count(session, ScanRejection)
    response = scan(client, h.staff, c["qr_payload"], "collect", clock.now + offset, weight_kg=2.0)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("/event-time-out-of-range")
    assert why in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["scanned_at"]
    # Refused and on record as a refused attempt; the chain holds only the registration.
    assert _count(session, ScanRejection) == before + 1
    container = session.get(Container, c["id"])
    assert container is not None and container.state == "labelled"


def test_a_phone_clock_a_few_minutes_behind_is_accepted(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    response = scan(
        client, h.staff, c["qr_payload"], "collect", clock.now - timedelta(minutes=5), weight_kg=2.0
    )
    assert response.status_code == 201, response.text


def test_an_event_time_older_than_an_offline_queue_holds_is_refused(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    clock.advance(days=40)
    h.relogin(client)
    too_old = scan(
        client, h.staff, c["qr_payload"], "collect", clock.now - timedelta(days=31), weight_kg=2.0
    )
    assert too_old.status_code == 422, too_old.text
    assert "30 days" in too_old.json()["detail"]
    # A scan synced 29 days late is still taken, dated when it happened.
    late = scan(
        client, h.staff, c["qr_payload"], "collect", clock.now - timedelta(days=29), weight_kg=2.0
    )
    assert late.status_code == 201, late.text
    assert late.json()["event"]["occurred_at"].startswith(
        (clock.now - timedelta(days=29)).date().isoformat()
    )


@pytest.mark.parametrize("weight", [True, False, "2.5", "abc", [2.5], {"kg": 2}])
def test_weights_must_be_json_numbers(
    client: TestClient, session: Session, clock: FakeClock, weight: object
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    before = _count(session, CustodyEvent)
    response = scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=weight)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body.weight_kg"]
    assert _count(session, CustodyEvent) == before


@pytest.mark.parametrize("field", ["latitude", "longitude"])
def test_coordinates_must_be_json_numbers(
    client: TestClient, session: Session, clock: FakeClock, field: str
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    point: dict[str, object] = {"latitude": 40.8, "longitude": 111.7}
    point[field] = "40.8"
    response = scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=2, **point)
    assert response.status_code == 422, response.text
    # Integers are numbers: 2 kg at (40, 111) is taken, and stored as given.
    ok = scan(
        client,
        h.staff,
        c["qr_payload"],
        "collect",
        clock.now,
        weight_kg=2,
        latitude=40,
        longitude=111,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["event"]["weight_kg"] == 2.0


def test_the_sqlite_file_is_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "medwaste.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:  # WAL mode: the -wal and -shm files appear too
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
            made = [p for p in path.parent.iterdir() if p.name.startswith("medwaste.db")]
            assert {p.name for p in made} >= {"medwaste.db", "medwaste.db-wal"}
            for p in made:
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    finally:
        engine.dispose()
    # An existing file keeps the permissions its owner gave it.
    path.chmod(0o640)
    make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
