"""The scan routes write their audit row in the scan's own transaction: it commits with the
scan, before the answer is sent, so a process killed after the answer cannot lose it; a scan
that rolls back still leaves a row (written by the middleware afterwards)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, col, select

from service.audit.models import AuditEntry
from service.custody.models import CustodyEvent, ScanRejection
from tests.conftest import FakeClock
from tests.custody.helpers import hospital, register, scan


def _rows(session: Session, path: str) -> list[tuple[int, str | None]]:
    entries = session.exec(
        select(AuditEntry).where(AuditEntry.path == path).order_by(col(AuditEntry.id))
    )
    return [(e.status_code, e.target_id) for e in entries]


@pytest.fixture
def second_writes(app: FastAPI) -> list[Any]:
    """What the middleware writes after the answer (its own transaction); recorded instead
    of written, as if the process had died right after answering."""
    written: list[Any] = []
    app.state.audit_writer = written.append
    return written


def test_a_scan_and_its_audit_row_commit_together(
    client: TestClient, session: Session, clock: FakeClock, second_writes: list[Any]
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    second_writes.clear()  # registering containers is audited the usual way

    done = scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=2.0)
    assert done.status_code == 201, done.text
    refused = scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=2.0)
    assert refused.status_code == 409, refused.text
    assert session.exec(select(ScanRejection).where(ScanRejection.container_id == c["id"])).one()

    # Both rows are in the database although nothing was written after the answers.
    assert _rows(session, "/api/v1/scans") == [(201, c["id"]), (409, c["id"])]
    assert second_writes == []


def test_a_replayed_scan_and_a_sync_batch_are_audited_in_their_transaction(
    client: TestClient, session: Session, clock: FakeClock, second_writes: list[Any]
) -> None:
    h = hospital(session, client)
    [c, d] = register(client, h, count=2)
    second_writes.clear()
    key = str(uuid.uuid4())
    first = scan(
        client, h.staff, c["qr_payload"], "collect", clock.now, client_event_id=key, weight_kg=1.0
    )
    again = scan(
        client, h.staff, c["qr_payload"], "collect", clock.now, client_event_id=key, weight_kg=1.0
    )
    assert (first.status_code, again.status_code) == (201, 200)
    batch = client.post(
        "/mobile/v1/sync",
        json={
            "device_id": "phone-1",
            "scans": [
                {
                    "qr_payload": d["qr_payload"],
                    "action": "collect",
                    "client_event_id": str(uuid.uuid4()),
                    "scanned_at": clock.now.isoformat(),
                    "weight_kg": 1.5,
                }
            ],
        },
        headers=h.staff,
    )
    assert batch.status_code == 200, batch.text
    assert [r["status"] for r in batch.json()["results"]] == ["created"]

    assert [s for s, _ in _rows(session, "/api/v1/scans")] == [201, 200]
    assert [s for s, _ in _rows(session, "/mobile/v1/sync")] == [200]
    assert second_writes == []


def test_refusals_that_record_nothing_are_audited_after_the_answer(
    client: TestClient, session: Session, clock: FakeClock, second_writes: list[Any]
) -> None:
    h = hospital(session, client)
    second_writes.clear()
    # Malformed (422 from validation) and unauthenticated (401): no scan transaction commits,
    # so the middleware writes their rows.
    bad = client.post("/api/v1/scans", json={"action": "collect"}, headers=h.staff)
    anonymous = client.post("/api/v1/scans", json={})
    assert (bad.status_code, anonymous.status_code) == (422, 401)
    assert [(e.path, e.status_code) for e in second_writes] == [
        ("/api/v1/scans", 422),
        ("/api/v1/scans", 401),
    ]
    assert _rows(session, "/api/v1/scans") == []


def test_a_scan_whose_commit_fails_leaves_neither_event_nor_its_row(
    client: TestClient, session: Session, clock: FakeClock, second_writes: list[Any]
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    second_writes.clear()

    def fail(_session: Session) -> None:
        raise RuntimeError("the disk is gone")

    event.listen(session, "before_commit", fail)
    try:
        failed = scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=2.0)
    finally:
        event.remove(session, "before_commit", fail)
    assert failed.status_code == 500
    events = session.exec(select(CustodyEvent).where(CustodyEvent.container_id == c["id"]))
    assert [e.action for e in events] == ["register"]
    assert _rows(session, "/api/v1/scans") == []
    # The failure itself is on record, written after the answer.
    assert [(e.path, e.status_code) for e in second_writes] == [("/api/v1/scans", 500)]
