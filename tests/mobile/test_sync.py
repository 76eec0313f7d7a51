"""A phone's offline batch: each scan independent, in order, idempotent."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

import service.scanning.service as scanning
from schemas.mobile import SyncResult
from service.custody.models import Container, CustodyEvent, ScanRejection
from tests.conftest import FakeClock
from tests.custody.helpers import hospital, register
from tests.factories import PASSWORD


def _count(session: Session, table: Any) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def _scan(payload: str, action: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "qr_payload": payload,
        "action": action,
        "client_event_id": str(uuid.uuid4()),
        "scanned_at": at,
        **extra,
    }


def test_a_batch_records_each_scan_on_its_own(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    a, b = register(client, h, count=2)
    at = clock.now.isoformat()
    scans = [
        _scan(a["qr_payload"], "collect", at, weight_kg=2.5),
        _scan(b["qr_payload"], "dispose", at, method="incineration"),  # refused: wrong state
        {"qr_payload": a["qr_payload"], "action": "store", "client_event_id": "short"},  # malformed
        _scan(a["qr_payload"], "store", at),
    ]
    rejections_before = _count(session, ScanRejection)
    response = client.post(
        "/mobile/v1/sync", json={"device_id": "phone-7", "scans": scans}, headers=h.staff
    )
    assert response.status_code == 200, response.text
    # The answer is its schema's JSON, to the key.
    assert SyncResult.model_validate(response.json()).model_dump(mode="json") == response.json()
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "rejected", "created"]
    assert [r["client_event_id"] for r in results] == [s["client_event_id"] for s in scans]
    assert results[0]["event"]["device_id"] == "phone-7"
    assert results[1]["error"]["status"] in (403, 409)
    assert results[2]["error"]["status"] == 422
    assert {e["field"] for e in results[2]["error"]["errors"]} >= {
        "client_event_id",
        "scanned_at",
    }
    assert results[3]["event"]["to_state"] == "hospital_storage"
    # The refused scan is on record; the later scans went through despite it.
    assert _count(session, ScanRejection) == rejections_before + 1
    chain = client.get(f"/api/v1/containers/{a['id']}/events", headers=h.staff).json()
    assert chain["verified"] and [e["action"] for e in chain["events"]] == [
        "register",
        "collect",
        "store",
    ]


def test_a_resent_batch_creates_nothing_twice(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    containers = register(client, h, count=3)
    at = clock.now.isoformat()
    scans = [
        _scan(c["qr_payload"], "collect", at, weight_kg=1.0 + i) for i, c in enumerate(containers)
    ]
    scans.append(_scan(containers[0]["qr_payload"], "dispose", at, method="other"))
    batch = {"device_id": "phone-1", "scans": scans}
    first = client.post("/mobile/v1/sync", json=batch, headers=h.staff).json()["results"]
    events, rejections = _count(session, CustodyEvent), _count(session, ScanRejection)

    clock.advance(minutes=3)
    again = client.post("/mobile/v1/sync", json=batch, headers=h.staff).json()["results"]
    assert [r["status"] for r in first] == ["created"] * 3 + ["rejected"]
    assert [r["status"] for r in again] == ["duplicate"] * 3 + ["rejected"]
    assert [r["event"] for r in again[:3]] == [r["event"] for r in first[:3]]
    assert again[3]["error"] == first[3]["error"]
    assert _count(session, CustodyEvent) == events
    assert _count(session, ScanRejection) == rejections


def test_a_scan_that_fails_half_way_leaves_nothing_and_the_others_stand(
    client: TestClient, session: Session, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = hospital(session, client)
    a, b, c = register(client, h, count=3)
    at = clock.now.isoformat()
    # The anomaly rules fail on b's scan: its event and container update are written by then.
    rules = scanning.on_scan

    def failing_rules(session: Session, outcome: Any, **kwargs: Any) -> Any:
        if outcome.container.id == b["id"]:
            raise RuntimeError("a fault in the rules")
        return rules(session, outcome, **kwargs)

    monkeypatch.setattr(scanning, "on_scan", failing_rules)
    scans = [
        _scan(a["qr_payload"], "collect", at, weight_kg=1.0),
        _scan(b["qr_payload"], "collect", at, weight_kg=2.0),
        _scan(c["qr_payload"], "collect", at, weight_kg=3.0),
        _scan(a["qr_payload"], "store", at),
    ]
    events = _count(session, CustodyEvent)
    response = client.post(
        "/mobile/v1/sync", json={"device_id": "p", "scans": scans}, headers=h.staff
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created", "created"]
    assert results[1]["error"]["status"] == 500
    # b's half-written scan is gone; every other scan is recorded once.
    assert _count(session, CustodyEvent) == events + 3
    session.expire_all()
    assert session.get(Container, b["id"]).state == "labelled"
    assert session.get(Container, a["id"]).state == "hospital_storage"
    for container, actions in ((a, ["register", "collect", "store"]), (b, ["register"])):
        chain = client.get(f"/api/v1/containers/{container['id']}/events", headers=h.staff)
        assert chain.json()["verified"]
        assert [e["action"] for e in chain.json()["events"]] == actions


def test_the_same_scan_twice_in_one_batch_is_a_duplicate(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    scan = _scan(c["qr_payload"], "collect", clock.now.isoformat(), weight_kg=2.0)
    results = client.post(
        "/mobile/v1/sync", json={"device_id": "p", "scans": [scan, scan]}, headers=h.staff
    ).json()["results"]
    assert [r["status"] for r in results] == ["created", "duplicate"]
    assert results[0]["event"]["id"] == results[1]["event"]["id"]


def test_batch_limits(client: TestClient, session: Session, clock: FakeClock) -> None:
    h = hospital(session, client)
    too_big = {"device_id": "p", "scans": [{}] * 1001}
    assert client.post("/mobile/v1/sync", json=too_big, headers=h.staff).status_code == 422
    not_objects = client.post(
        "/mobile/v1/sync", json={"device_id": "p", "scans": [1, "x"]}, headers=h.staff
    )
    assert not_objects.status_code == 200
    assert [r["status"] for r in not_objects.json()["results"]] == ["rejected", "rejected"]
    assert client.post("/mobile/v1/sync", json={"device_id": "p", "scans": []}).status_code == 401


def test_a_phone_session_syncs_for_its_own_device_only(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    token = client.post(
        "/api/v1/auth/token",
        data={"username": h.user.username, "password": PASSWORD, "device_id": "phone-A"},
    ).json()["access_token"]
    phone = {"Authorization": f"Bearer {token}"}
    scan = _scan(c["qr_payload"], "collect", clock.now.isoformat(), weight_kg=1.0)
    before = _count(session, CustodyEvent)
    other = client.post(
        "/mobile/v1/sync", json={"device_id": "phone-B", "scans": [scan]}, headers=phone
    )
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
    assert _count(session, CustodyEvent) == before
    own = client.post(
        "/mobile/v1/sync", json={"device_id": "phone-A", "scans": [scan]}, headers=phone
    )
    assert [r["status"] for r in own.json()["results"]] == ["created"]
    assert own.json()["results"][0]["event"]["device_id"] == "phone-A"


def test_a_rejected_scan_says_what_it_raised(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    head, _, signature = c["qr_payload"].rpartition(".")
    forged = f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    batch = {
        "device_id": "phone-9",
        "scans": [_scan(forged, "collect", clock.now.isoformat(), weight_kg=1.0)],
    }
    [result] = client.post("/mobile/v1/sync", json=batch, headers=h.staff).json()["results"]
    assert result["status"] == "rejected"
    assert result["error"]["type"].endswith("/forged-label")
    assert [(a["kind"], a["severity"]) for a in result["anomalies"]] == [
        ("forged_label", "critical")
    ]


def test_a_correction_in_a_batch_is_chained_onto_by_the_scans_after_it(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    """A batch reads its containers once; a correction rewrites one's head through another
    path, and the scans after it in the same batch chain onto the correction."""
    h = hospital(session, client)
    [a] = register(client, h)
    at = clock.now.isoformat()
    first = client.post(
        "/mobile/v1/sync",
        json={"device_id": "p", "scans": [_scan(a["qr_payload"], "collect", at, weight_kg=9.0)]},
        headers=h.staff,
    ).json()["results"][0]
    assert first["status"] == "created"
    fix = _scan(
        a["qr_payload"],
        "correct",
        at,
        corrects_event_id=first["event"]["id"],
        correction_reason="incorrect_data",
        correction_data={"weight_kg": 0.9},
    )
    scans = [_scan(a["qr_payload"], "inspect", at), fix, _scan(a["qr_payload"], "store", at)]
    response = client.post(
        "/mobile/v1/sync", json={"device_id": "p", "scans": scans}, headers=h.staff
    )
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["created"] * 3
    chain = client.get(f"/api/v1/containers/{a['id']}/events", headers=h.staff).json()
    assert chain["verified"]
    assert [e["action"] for e in chain["events"]] == [
        "register",
        "collect",
        "inspect",
        "correct",
        "store",
    ]
    container = client.get(f"/api/v1/containers/{a['id']}", headers=h.staff).json()
    assert container["state"] == "hospital_storage"
