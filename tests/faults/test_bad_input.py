"""Bad input gets a 422 problem, never a 500: times outside what a datetime can hold, crafted
cursors, and one bad item of a phone's sync batch (the others still go through)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from service.auth.roles import Role
from service.config import Settings
from service.custody.models import CustodyEvent
from service.scanning import sync
from tests.auth.world import build_world
from tests.conftest import FakeClock
from tests.custody.helpers import hospital, register

# Each cannot be converted to UTC (year 0 and year 10000), or lies before the Unix epoch.
OUT_OF_RANGE = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "1900-01-01T00:00:00Z",
]


def _events(session: Session) -> int:
    return session.exec(select(func.count()).select_from(CustodyEvent)).one()


def _scan(payload: str, at: str) -> dict[str, Any]:
    return {
        "qr_payload": payload,
        "action": "collect",
        "client_event_id": str(uuid.uuid4()),
        "scanned_at": at,
        "weight_kg": 2.0,
    }


@pytest.mark.parametrize("bad_time", OUT_OF_RANGE)
def test_one_out_of_range_item_is_rejected_alone_in_a_sync(
    client: TestClient, session: Session, clock: FakeClock, bad_time: str
) -> None:
    h = hospital(session, client)
    a, b = register(client, h, count=2)
    scans = [_scan(a["qr_payload"], bad_time), _scan(b["qr_payload"], clock.now.isoformat())]
    response = client.post(
        "/mobile/v1/sync", json={"device_id": "phone-1", "scans": scans}, headers=h.staff
    )
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["status"] == "rejected"
    assert first["client_event_id"] == scans[0]["client_event_id"]
    assert first["error"]["status"] == 422
    assert [e["field"] for e in first["error"]["errors"]] == ["scanned_at"]
    assert second["status"] == "created"
    assert second["event"]["container_id"] == b["id"]


@pytest.mark.parametrize("bad_time", OUT_OF_RANGE)
def test_an_out_of_range_scan_time_is_422_and_records_nothing(
    client: TestClient, session: Session, bad_time: str
) -> None:
    h = hospital(session, client)
    [a] = register(client, h)
    before = _events(session)
    response = client.post("/api/v1/scans", json=_scan(a["qr_payload"], bad_time), headers=h.staff)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"].endswith("scanned_at") for e in response.json()["errors"])
    assert _events(session) == before


def test_an_unexpected_failure_of_one_item_leaves_the_others_recorded(
    client: TestClient, session: Session, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = hospital(session, client)
    a, b, c = register(client, h, count=3)
    at = clock.now.isoformat()
    scans = [_scan(x["qr_payload"], at) for x in (a, b, c)]
    real = sync.submit_scan

    def flaky(**kwargs: Any) -> Any:
        if kwargs["scan"].client_event_id == scans[1]["client_event_id"]:
            real(**kwargs)  # writes, then fails: the write must be undone
            raise RuntimeError("a bug in one scan's path")
        return real(**kwargs)

    monkeypatch.setattr(sync, "submit_scan", flaky)
    before = _events(session)
    response = client.post(
        "/mobile/v1/sync", json={"device_id": "phone-1", "scans": scans}, headers=h.staff
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created"]
    assert results[1]["error"]["status"] == 500
    assert _events(session) == before + 2
    chain = client.get(f"/api/v1/containers/{b['id']}/events", headers=h.staff).json()
    assert [e["action"] for e in chain["events"]] == ["register"]


def test_a_scan_after_a_failed_one_of_the_same_container_chains_onto_what_was_stored(
    client: TestClient, session: Session, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch reads each container once and keeps it current; a failed item moved it in
    memory before it failed, so the next scan of it must chain onto the stored head."""
    h = hospital(session, client)
    [a] = register(client, h)
    at = clock.now.isoformat()
    failing, retried = _scan(a["qr_payload"], at), _scan(a["qr_payload"], at)
    real = sync.submit_scan

    def flaky(**kwargs: Any) -> Any:
        answer = real(**kwargs)
        if kwargs["scan"].client_event_id == failing["client_event_id"]:
            raise RuntimeError("a bug after the write")
        return answer

    monkeypatch.setattr(sync, "submit_scan", flaky)
    for scans in ([failing, retried], [failing]):
        response = client.post(
            "/mobile/v1/sync", json={"device_id": "phone-1", "scans": scans}, headers=h.staff
        )
        assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0]["status"] == "rejected"  # the resent failing scan: collected already
    chain = client.get(f"/api/v1/containers/{a['id']}/events", headers=h.staff).json()
    assert chain["verified"]
    assert [(e["action"], e["seq"]) for e in chain["events"]] == [("register", 1), ("collect", 2)]
    assert chain["events"][1]["client_event_id"] == retried["client_event_id"]


@pytest.mark.parametrize("bad_time", OUT_OF_RANGE)
def test_out_of_range_filters_are_422(
    client: TestClient, session: Session, settings: Settings, clock: FakeClock, bad_time: str
) -> None:
    world = build_world(client, session, settings, clock.now)
    admin, staff = world.headers[Role.admin], world.headers[Role.hospital_staff]
    org = str(world.orgs["hospital"].id)
    for path, params, headers in (
        ("/api/v1/anomalies", {"since": bad_time}, staff),
        ("/api/v1/audit", {"since": bad_time}, admin),
        ("/api/v1/reports/compliance", {"organization_id": org, "from": bad_time}, staff),
        ("/api/v1/reports/compliance", {"organization_id": org, "to": bad_time}, staff),
    ):
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 422, (path, params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    # The same filters with a time in range still answer.
    good = clock.now.isoformat()
    assert client.get("/api/v1/anomalies", params={"since": good}, headers=staff).status_code == 200
    assert client.get("/api/v1/audit", params={"since": good}, headers=admin).status_code == 200
    report = client.get(
        "/api/v1/reports/compliance", params={"organization_id": org, "to": good}, headers=staff
    )
    assert report.status_code == 200, report.text


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


NOW, ID = "2026-11-02T08:00:00+00:00", str(uuid.uuid4())
# Per list, cursors of the right shape holding values the database cannot take, and others
# of the wrong shape.
CRAFTED = [
    ("/api/v1/anomalies", {"r": 10**30, "at": NOW, "id": ID}),
    ("/api/v1/anomalies", {"r": 1, "at": "0001-01-01T00:00:00+14:00", "id": ID}),
    ("/api/v1/anomalies", {"r": 1, "at": "2026-11-02T08:00:00", "id": ID}),  # no offset
    ("/api/v1/anomalies", {"r": True, "at": 5, "id": 7}),
    ("/api/v1/anomalies", {"r": 1, "at": NOW, "id": "\u0000"}),
    ("/api/v1/manifests", {"at": "9999-12-31T23:59:59-14:00", "id": ID}),
    ("/api/v1/manifests", {"at": "2026-11-02T08:00:00", "id": ID}),
    ("/api/v1/manifests", {"at": NOW, "id": "not-a-uuid"}),
    ("/api/v1/manifests", {"at": NOW, "id": ["x"]}),
    ("/api/v1/audit", {"id": 10**30}),
    ("/api/v1/audit", {"id": -(10**25)}),
    ("/api/v1/audit", {"id": True}),
    ("/api/v1/audit", {"id": "\u0000"}),
    ("/api/v1/audit", [1, 2]),
    ("/api/v1/audit", {}),
]


@pytest.mark.parametrize(("path", "crafted"), CRAFTED, ids=range(len(CRAFTED)))
def test_crafted_cursors_are_422(
    client: TestClient,
    session: Session,
    settings: Settings,
    clock: FakeClock,
    path: str,
    crafted: object,
) -> None:
    world = build_world(client, session, settings, clock.now)
    admin = world.headers[Role.admin]
    response = client.get(path, params={"cursor": _cursor(crafted)}, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "the cursor is not one this service gave out"
    # A cursor the service gave out still works.
    first = client.get("/api/v1/audit", params={"limit": 1}, headers=admin).json()
    assert first["next_cursor"] is not None
    following = client.get(
        "/api/v1/audit", params={"limit": 1, "cursor": first["next_cursor"]}, headers=admin
    )
    assert following.status_code == 200
    assert following.json()["items"][0]["id"] > first["items"][0]["id"]


def test_nul_characters_are_422_everywhere(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    """PostgreSQL cannot store or compare text holding NUL: on every backend it is bad input."""
    h = hospital(session, client)
    a, b = register(client, h, count=2)
    for path, params in (
        ("/api/v1/containers/a%00b", {}),
        ("/api/v1/containers/a%00b/events", {}),
        ("/api/v1/containers", {"cursor": _cursor({"id": "\u0000"})}),
    ):
        response = client.get(path, params=params, headers=h.staff)
        # SQLite compares such text like any other; PostgreSQL refuses it: never a 500.
        assert response.status_code in (200, 404, 422), (path, response.text)
        assert response.json()["items" if response.status_code == 200 else "status"]
    login = client.post("/api/v1/auth/token", data={"username": "a\u0000b", "password": "x"})
    assert login.status_code in (401, 422), login.text
    bad_note = {**_scan(a["qr_payload"], clock.now.isoformat()), "note": "seal\u0000broken"}
    response = client.post("/api/v1/scans", json=bad_note, headers=h.staff)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body.note"]
    batch = [
        {**_scan(a["qr_payload"], clock.now.isoformat()), "note": "\u0000"},
        _scan(b["qr_payload"], clock.now.isoformat()),
    ]
    results = client.post(
        "/mobile/v1/sync", json={"device_id": "phone-1", "scans": batch}, headers=h.staff
    ).json()["results"]
    assert [r["status"] for r in results] == ["rejected", "created"]
    assert results[0]["error"]["status"] == 422
