"""Registering containers and scanning them through the HTTP API, as a phone does."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from service.custody.models import CustodyEvent, ScanRejection
from tests.conftest import FakeClock
from tests.custody.helpers import hospital, register, scan


def _event_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(CustodyEvent)).one()


def test_register_gives_signed_labels_and_a_first_event(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    containers = register(client, h, count=3, department="外科 Surgery", epidemic=True)
    assert len({c["id"] for c in containers}) == 3
    for c in containers:
        assert c["state"] == "labelled"
        assert c["qr_payload"].startswith(f"MW1.{c['id']}.")
        assert c["epidemic"] is True
        assert len(c["short_code"]) == 9
    chain = client.get(f"/api/v1/containers/{containers[0]['id']}/events", headers=h.staff).json()
    assert chain["verified"] is True
    assert [e["action"] for e in chain["events"]] == ["register"]
    assert chain["events"][0]["prev_hash"] == "0" * 64


def test_collect_then_store_moves_the_state_and_chains(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    collected = scan(
        client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=3.2, site_id=h.site.id
    )
    assert collected.status_code == 201, collected.text
    body = collected.json()
    assert body["container"]["state"] == "collected"
    assert body["event"]["weight_kg"] == 3.2
    assert body["anomalies"] == []
    clock.advance(hours=1)
    h.relogin(client)
    stored = scan(client, h.staff, c["qr_payload"], "store", clock.now)
    assert stored.status_code == 201, stored.text
    assert stored.json()["container"]["state"] == "hospital_storage"
    chain = client.get(f"/api/v1/containers/{c['id']}/events", headers=h.staff).json()
    events = chain["events"]
    assert chain["verified"]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert events[2]["prev_hash"] == events[1]["hash"] == body["event"]["hash"]


def test_retried_scan_returns_the_same_answer_and_records_nothing_twice(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    key = str(uuid.uuid4())
    first = scan(
        client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=2.0, client_event_id=key
    )
    before = _event_count(session)
    clock.advance(minutes=5)
    again = scan(
        client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=2.0, client_event_id=key
    )
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert _event_count(session) == before


def test_refused_scan_is_a_problem_and_is_kept_as_evidence(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    refused = scan(client, h.staff, c["qr_payload"], "store", clock.now)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["status"] == 409
    assert problem["type"].endswith("/invalid-transition")
    assert "labelled" in problem["detail"]
    rejection = session.exec(
        select(ScanRejection).where(ScanRejection.container_id == c["id"])
    ).one()
    assert rejection.action == "store"
    assert rejection.status_code == 409
    # The container did not move.
    assert (
        client.get(f"/api/v1/containers/{c['id']}", headers=h.staff).json()["state"] == "labelled"
    )


def test_forged_label_is_refused_and_recorded(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    head, _, signature = c["qr_payload"].rpartition(".")
    forged = head + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    response = scan(client, h.staff, forged, "collect", clock.now, weight_kg=1.0)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/forged-label")
    assert (
        session.exec(
            select(ScanRejection).where(ScanRejection.problem_type == "forged-label")
        ).first()
        is not None
    )
    assert (
        client.get(f"/api/v1/containers/{c['id']}", headers=h.staff).json()["state"] == "labelled"
    )


def test_another_hospital_cannot_see_or_collect(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    mine, theirs = hospital(session, client), hospital(session, client)
    [c] = register(client, mine)
    assert client.get(f"/api/v1/containers/{c['id']}", headers=theirs.staff).status_code == 404
    assert (
        client.get(f"/api/v1/containers/{c['id']}/events", headers=theirs.staff).status_code == 404
    )
    listed = client.get("/api/v1/containers", headers=theirs.staff).json()
    assert c["id"] not in {x["id"] for x in listed["items"]}
    taken = scan(client, theirs.staff, c["qr_payload"], "collect", clock.now, weight_kg=1.0)
    assert taken.status_code == 403
    assert taken.json()["type"].endswith("/custody-mismatch")


def test_future_phone_time_is_clamped_to_record_time(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    response = scan(
        client, h.staff, c["qr_payload"], "collect", clock.now.replace(year=2027), weight_kg=1.0
    )
    event = response.json()["event"]
    assert event["occurred_at"] == event["recorded_at"]
    assert event["client_time"].startswith("2027-")


def test_late_sync_keeps_event_time(client: TestClient, session: Session, clock: FakeClock) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    scanned = clock.now
    clock.advance(days=2)
    h.relogin(client)
    response = scan(client, h.staff, c["qr_payload"], "collect", scanned, weight_kg=1.0)
    body = response.json()
    assert body["event"]["occurred_at"] != body["event"]["recorded_at"]
    assert body["container"]["state_since"] == body["event"]["occurred_at"]


def test_correction_voids_an_event_and_both_stay_visible(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=1.0)
    stored = scan(client, h.staff, c["qr_payload"], "store", clock.now).json()
    fix = scan(
        client,
        h.staff,
        c["qr_payload"],
        "correct",
        clock.now,
        corrects_event_id=stored["event"]["id"],
        correction_reason="did_not_occur",
        note="scanned the wrong bag",
    )
    assert fix.status_code == 201, fix.text
    assert fix.json()["container"]["state"] == "collected"
    chain = client.get(f"/api/v1/containers/{c['id']}/events", headers=h.staff).json()
    assert chain["verified"]
    by_id = {e["id"]: e for e in chain["events"]}
    assert by_id[stored["event"]["id"]]["corrected_by"] == [fix.json()["event"]["id"]]
    # Storing again is possible, because the state went back to collected.
    again = scan(client, h.staff, c["qr_payload"], "store", clock.now)
    assert again.status_code == 201


def test_incorrect_data_correction_keeps_state(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    collected = scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=10.0).json()
    fix = scan(
        client,
        h.staff,
        c["qr_payload"],
        "correct",
        clock.now,
        corrects_event_id=collected["event"]["id"],
        correction_reason="incorrect_data",
        correction_data={"weight_kg": 1.0},
    )
    assert fix.status_code == 201
    assert fix.json()["event"]["correction_data"] == {"weight_kg": 1.0}
    assert fix.json()["container"]["state"] == "collected"


def test_bad_scan_bodies_are_422_problems(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    before = _event_count(session)
    bad_bodies = [
        {"action": "collect"},
        {
            "qr_payload": c["qr_payload"],
            "action": "collect",
            "client_event_id": "x" * 10,
            "scanned_at": "yesterday",
            "weight_kg": 1,
        },
        {
            "qr_payload": c["qr_payload"],
            "action": "collect",
            "client_event_id": "x" * 10,
            "scanned_at": "2026-11-02T08:00:00",
            "weight_kg": 1,
        },  # no offset
        {
            "qr_payload": c["qr_payload"],
            "action": "collect",
            "client_event_id": "x" * 10,
            "scanned_at": "2026-11-02T08:00:00Z",
            "weight_kg": -1,
        },
        {
            "qr_payload": c["qr_payload"],
            "action": "fly",
            "client_event_id": "x" * 10,
            "scanned_at": "2026-11-02T08:00:00Z",
        },
        {
            "qr_payload": c["qr_payload"],
            "action": "collect",
            "client_event_id": "x" * 10,
            "scanned_at": "2026-11-02T08:00:00Z",
            "weight_kg": 1,
            "latitude": 40.0,
        },
    ]
    for body in bad_bodies:
        response = client.post("/api/v1/scans", json=body, headers=h.staff)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"]
    assert (
        client.post(
            "/api/v1/scans",
            content=b"{not json",
            headers={**h.staff, "content-type": "application/json"},
        ).status_code
        == 422
    )
    assert _event_count(session) == before


def test_list_filters_and_pages(client: TestClient, session: Session, clock: FakeClock) -> None:
    h = hospital(session, client)
    made = register(client, h, count=5)
    scan(client, h.staff, made[0]["qr_payload"], "collect", clock.now, weight_kg=1.0)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/containers", params=params, headers=h.staff).json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(c["id"] for c in made)
    collected = client.get("/api/v1/containers", params={"state": "collected"}, headers=h.staff)
    assert [x["id"] for x in collected.json()["items"]] == [made[0]["id"]]
    assert (
        client.get("/api/v1/containers", params={"cursor": "!!"}, headers=h.staff).status_code
        == 422
    )


def test_the_stage_clock_runs_from_collection_through_the_store(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c, fresh] = register(client, h, count=2)
    collected_at = clock.now
    scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=1.0)
    clock.advance(minutes=10)
    stored = scan(client, h.staff, c["qr_payload"], "store", clock.now).json()["container"]
    # The state changed, but the waste has been at the hospital since its collection.
    assert stored["state_since"] == clock.now.isoformat().replace("+00:00", "Z")
    assert stored["stage_since"] == collected_at.isoformat().replace("+00:00", "Z")
    clock.advance(minutes=4)
    old = client.get(
        "/api/v1/containers", params={"stage_older_than_hours": 0.2}, headers=h.staff
    ).json()["items"]
    # Both bags have been at the hospital for 14 minutes: one collected, one just labelled.
    assert {x["id"] for x in old} == {c["id"], fresh["id"]}
    younger = client.get(
        "/api/v1/containers", params={"stage_older_than_hours": 1}, headers=h.staff
    ).json()["items"]
    assert younger == []
