"""Webhook delivery never waits on a receiver inside a transaction: claimed under a lease in
one short transaction, sent outside any, recorded in another; subscribers independent; a
subscription that keeps failing pauses itself and says why; administrators list, pause,
resume and delete subscriptions."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from service.anomalies.models import Anomaly, DeliveryStatus, WebhookDelivery, WebhookSubscription
from service.anomalies.webhooks import (
    PAUSE_AFTER,
    PAUSE_AFTER_FAILURES,
    Claim,
    Outcome,
    claim_due,
    deliver_round,
    record_outcomes,
    send_claims,
)
from service.app import create_app
from service.auth.roles import Role
from service.config import Settings
from service.db import session_scope, unit_of_work, write_lock
from service.organizations.models import OrgKind
from tests.anomalies.receivers import hanging_receiver
from tests.conftest import Database, FakeClock
from tests.factories import login, make_org, make_user


def _queue(session: Session, url: str, count: int, now: datetime) -> WebhookSubscription:
    """A subscription to ``url`` with ``count`` notifications due at ``now``."""
    org = make_org(session, OrgKind.hospital)
    sub = WebhookSubscription(organization_id=org.id, url=url, secret="s" * 32, created_at=now)
    session.add(sub)
    session.flush()
    for i in range(count):
        anomaly = Anomaly(
            kind="storage_overdue",
            severity="warning",
            organization_id=org.id,
            jurisdiction=org.jurisdiction,
            rule="test",
            threshold="48 h",
            facts={},
            dedupe_key=f"webhook-test-{uuid.uuid4()}",
            detected_at=now,
            updated_at=now,
        )
        session.add(anomaly)
        session.flush()
        session.add(
            WebhookDelivery(
                subscription_id=sub.id,
                anomaly_id=anomaly.id,
                payload={"event": "anomaly.created", "n": i},
                next_attempt_at=now + timedelta(microseconds=i),
                created_at=now,
            )
        )
    session.flush()
    return sub


def _rows(session: Session, sub: WebhookSubscription) -> list[WebhookDelivery]:
    """The subscription's rows in the order they were queued."""
    session.expire_all()
    rows = session.exec(select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id))
    return sorted(rows, key=lambda r: int(r.payload["n"]))


def test_a_hanging_receiver_holds_no_lock_while_the_server_waits_on_it(
    fresh_database: Database, tmp_path: Path
) -> None:
    """The running server's own deliverer, against a receiver that never answers: while it
    waits, the write lock (SQLite) and the outbox rows (PostgreSQL) are free."""
    engine = fresh_database.engine
    with hanging_receiver() as receiver:
        with session_scope(engine, write=True) as session:
            sub = _queue(session, receiver.url, 3, datetime.now().astimezone())
        app = create_app(
            Settings(
                data_dir=tmp_path / "data",
                sweep_interval_seconds=1,
                webhook_allow_private_addresses=True,  # the receiver is on loopback
            ),
            engine=engine,
        )
        with TestClient(app) as client:
            assert receiver.arrived.wait(60), "the deliverer never called the receiver"
            if fresh_database.backend == "sqlite":
                lock = write_lock(engine)
                assert lock.acquire(timeout=1), "the write lock is held across the HTTP call"
                lock.release()
                raw = sqlite3.connect(str(make_url(fresh_database.url).database), timeout=0)
                try:
                    raw.execute("BEGIN IMMEDIATE")  # fails at once if a write is open
                    raw.execute("ROLLBACK")
                finally:
                    raw.close()
            else:
                with engine.connect() as conn:
                    locked = conn.execute(
                        text("SELECT id FROM webhook_delivery FOR UPDATE NOWAIT")
                    ).all()
                    assert len(locked) == 3
                    conn.rollback()
            assert client.get("/health").status_code == 200
            receiver.close()  # the send fails now; the outcome is recorded
            deadline = time.monotonic() + 60
            while True:
                with Session(engine) as session:  # a new snapshot each time
                    rows = _rows(session, sub)
                if any(r.attempts for r in rows) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    # One attempt failed; the two behind it were not tried (one timeout per round, not one
    # per notification), and all three wait for the retry.
    assert [r.attempts for r in rows] == [1, 0, 0]
    assert rows[0].last_error
    assert {r.status for r in rows} == {DeliveryStatus.pending}
    assert all(r.lease_id is None for r in rows)


def test_subscribers_are_served_independently(session: Session, clock: FakeClock) -> None:
    hung = _queue(session, "https://hung.example/hook", 2, clock.now)
    fine = _queue(session, "https://fine.example/hook", 2, clock.now + timedelta(seconds=1))
    claims = claim_due(session=session, now=clock.now + timedelta(seconds=2))
    assert [c.subscription_id for c in claims] == [hung.id, hung.id, fine.id, fine.id]
    fine_called = threading.Event()
    saw_fine_while_hung: list[bool] = []

    def send(_client: httpx.Client, claim: Claim) -> Outcome:
        if claim.subscription_id == hung.id:
            # A receiver that hangs until the other subscriber has been served (or gives up).
            saw_fine_while_hung.append(fine_called.wait(10))
            return Outcome(claim, sent=True, error="ReadTimeout: timed out")
        fine_called.set()
        return Outcome(claim, sent=True)

    with httpx.Client() as http:
        outcomes = send_claims(http, claims, send=send)
    assert saw_fine_while_hung == [True]  # the second hung row was not even tried
    by_sub = {(o.claim.subscription_id, o.sent, o.error is None) for o in outcomes}
    assert by_sub == {(hung.id, True, False), (hung.id, False, True), (fine.id, True, True)}
    report = record_outcomes(session=session, outcomes=outcomes, now=clock.now)
    assert (report.delivered, report.retry, report.deferred) == (2, 1, 1)
    assert [r.status for r in _rows(session, fine)] == ["delivered", "delivered"]
    assert [(r.status, r.attempts) for r in _rows(session, hung)] == [
        ("pending", 1),
        ("pending", 0),
    ]


def test_a_claimed_row_is_leased(session: Session, clock: FakeClock) -> None:
    sub = _queue(session, "https://hooks.example/a", 1, clock.now)
    [first] = claim_due(session=session, now=clock.now)
    assert claim_due(session=session, now=clock.now + timedelta(seconds=30)) == []
    # The lease runs out (its sender died): another sender claims the row...
    [second] = claim_due(session=session, now=clock.now + timedelta(minutes=3))
    assert second.lease_id != first.lease_id
    # ...and the first sender, coming back late, records nothing.
    stale = record_outcomes(session=session, outcomes=[Outcome(first, sent=True)], now=clock.now)
    assert stale.delivered == 0
    assert _rows(session, sub)[0].status == "pending"
    done = record_outcomes(session=session, outcomes=[Outcome(second, sent=True)], now=clock.now)
    assert done.delivered == 1
    assert _rows(session, sub)[0].status == "delivered"


def test_a_subscription_failing_for_a_day_pauses_itself_and_says_why(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    admin_user = make_user(session, Role.admin)
    sub = _queue(session, "https://gone.example/hook", 5, clock.now)
    failures = 0

    def failing(_client: httpx.Client, claim: Claim) -> Outcome:
        return Outcome(claim, sent=True, error="ConnectError: connection refused")

    with httpx.Client() as http:
        for _ in range(48):  # a round an hour: one failed attempt each (the rest wait)
            report = deliver_round(
                transaction=lambda: unit_of_work(session),
                client=http,
                clock=lambda: clock.now,
                send=failing,
            )
            failures += report.retry + report.failed
            session.refresh(sub)
            if not sub.active:
                break
            assert sub.pause_reason is None
            clock.advance(hours=1)
        else:
            pytest.fail("a subscription failing for two days was never paused")
    assert failures >= PAUSE_AFTER_FAILURES
    assert sub.paused_at is not None and sub.failing_since is not None
    assert sub.paused_at - sub.failing_since >= PAUSE_AFTER
    admin = login(client, admin_user)  # after the clock has run two days
    answer = client.get("/api/v1/webhooks", headers=admin)
    assert answer.status_code == 200, answer.text
    listed = answer.json()["items"]
    [shown] = [w for w in listed if w["id"] == str(sub.id)]
    assert shown["active"] is False
    assert shown["pause_reason"].startswith("paused automatically")
    assert "connection refused" in shown["pause_reason"]
    assert shown["consecutive_failures"] == sub.consecutive_failures
    # Paused: nothing is claimed, and what was queued still waits.
    assert claim_due(session=session, now=clock.now + timedelta(days=1)) == []
    waiting = [r for r in _rows(session, sub) if r.status == "pending"]
    assert shown["pending"] == len(waiting) > 0


def test_administrators_list_pause_resume_and_delete(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    admin_user = make_user(session, Role.admin)
    admin = login(client, admin_user)
    sub = _queue(session, "https://hooks.example/b", 2, clock.now)
    listed = client.get("/api/v1/webhooks", headers=admin).json()["items"]
    [shown] = [w for w in listed if w["id"] == str(sub.id)]
    assert (shown["active"], shown["pending"], shown["pause_reason"]) == (True, 2, None)
    assert "secret" not in shown

    paused = client.post(
        f"/api/v1/webhooks/{sub.id}/pause", json={"reason": "receiver moving"}, headers=admin
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["active"] is False
    assert paused.json()["pause_reason"] == f"paused by {admin_user.username}: receiver moving"
    assert claim_due(session=session, now=clock.now) == []

    resumed = client.post(f"/api/v1/webhooks/{sub.id}/resume", headers=admin)
    assert resumed.json()["active"] is True and resumed.json()["pause_reason"] is None
    assert len(claim_due(session=session, now=clock.now + timedelta(seconds=1))) == 2

    assert client.delete(f"/api/v1/webhooks/{sub.id}", headers=admin).status_code == 204
    assert str(sub.id) not in {
        w["id"] for w in client.get("/api/v1/webhooks", headers=admin).json()["items"]
    }
    assert _rows(session, sub) == []
    for method, path in (
        ("POST", f"/api/v1/webhooks/{sub.id}/pause"),
        ("POST", f"/api/v1/webhooks/{sub.id}/resume"),
        ("DELETE", f"/api/v1/webhooks/{sub.id}"),
    ):
        gone = client.request(method, path, headers=admin, json={} if method == "POST" else None)
        assert gone.status_code == 404, (method, path)


@pytest.mark.parametrize("role", [Role.regulator, Role.hospital_staff])
def test_only_administrators_manage_webhooks(
    client: TestClient, session: Session, clock: FakeClock, role: Role
) -> None:
    sub = _queue(session, "https://hooks.example/c", 1, clock.now)
    org = make_org(session, OrgKind.regulator if role is Role.regulator else OrgKind.hospital)
    headers = login(client, make_user(session, role, org))
    assert (
        client.post(f"/api/v1/webhooks/{sub.id}/pause", json={}, headers=headers).status_code == 403
    )
    assert client.delete(f"/api/v1/webhooks/{sub.id}", headers=headers).status_code == 403
    session.refresh(sub)
    assert sub.active
