"""The sweep (silence), exactly-once storage, the queue and its workflow, webhooks."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from service.anomalies.models import Anomaly, AnomalyStep, WebhookDelivery
from service.anomalies.profile import SHIPPED
from service.anomalies.sweep import run_sweep
from service.anomalies.webhooks import SIGNATURE_HEADER, RoundReport, deliver_round, sign
from service.custody.models import Container
from service.db import session_scope, unit_of_work
from service.labels.signing import short_code
from service.organizations.models import OrgKind
from tests.anomalies.helpers import chain
from tests.conftest import Database, FakeClock
from tests.factories import make_org


def _sweep(session: Session, now: datetime) -> list[str]:
    return sorted(a.kind for a in run_sweep(session=session, now=now, profiles=SHIPPED).new)


def test_storage_overdue_fires_after_48h_not_at_47h_and_only_once(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    start = clock.now
    ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
    clock.advance(hours=1)
    ch.scan(ch.staff, c, "store", clock.now)  # the store scan does not restart the clock
    assert _sweep(session, start + timedelta(hours=47)) == []
    assert _sweep(session, start + timedelta(hours=49)) == [
        "collection_interval_exceeded",
        "storage_overdue",
    ]
    assert _sweep(session, start + timedelta(hours=50)) == []
    assert session.exec(select(func.count()).select_from(Anomaly)).one() == 2


def test_epidemic_mode_tightens_the_collection_interval(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    ch.hospital.epidemic_mode = True
    session.add(ch.hospital)
    c = ch.register()
    ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
    assert _sweep(session, clock.now + timedelta(hours=23)) == []
    assert _sweep(session, clock.now + timedelta(hours=25)) == ["collection_interval_exceeded"]


def test_transit_disposal_and_manifest_overdue(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    late, epidemic = ch.register(), ch.register(epidemic=True)
    m = ch.manifest()
    for c in (late, epidemic):
        ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
        ch.scan(ch.driver, c, "pickup", clock.now, manifest_id=m.id)
    m.state, m.dispatched_at = "in_transit", clock.now
    session.add(m)
    assert _sweep(session, clock.now + timedelta(hours=23)) == []
    # Both bags are late on one truck: one transit_overdue, about the trip, naming both.
    assert _sweep(session, clock.now + timedelta(hours=25)) == [
        "manifest_unconfirmed",
        "transit_overdue",
    ]
    trip = session.exec(select(Anomaly).where(Anomaly.kind == "transit_overdue")).one()
    assert (trip.manifest_id, trip.container_id) == (m.id, None)
    assert sorted(trip.facts["bags"]) == sorted(short_code(c["id"]) for c in (late, epidemic))
    clock.advance(hours=26)
    ch.scan(ch.operator, epidemic, "receive", clock.now, weight_kg=5.0)
    assert _sweep(session, clock.now + timedelta(hours=11)) == []
    assert _sweep(session, clock.now + timedelta(hours=13)) == ["disposal_overdue"]


def test_open_anomalies_escalate_after_24h_with_a_step_by_no_user(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    ch.scan(
        ch.staff, c, "collect", clock.now + timedelta(hours=1), weight_kg=1.0
    )  # clock_skew, info
    run_sweep(session=session, now=clock.now + timedelta(hours=23), profiles=SHIPPED)
    assert session.exec(select(Anomaly)).one().severity == "info"
    report = run_sweep(session=session, now=clock.now + timedelta(hours=25), profiles=SHIPPED)
    [anomaly] = report.escalated
    assert anomaly.severity == "warning"
    [step] = session.exec(select(AnomalyStep)).all()
    assert step.user_id is None and "escalated" in (step.note or "")


def test_queue_scoping_order_and_workflow(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    ch.scan(ch.staff, c, "collect", clock.now + timedelta(hours=1), weight_kg=1.0)  # info
    ch.scan(ch.operator, c, "dispose", clock.now, method="incineration")  # missing_step, warning
    regulator = ch.headers(ch.regulator)
    items = client.get("/api/v1/anomalies", headers=regulator).json()["items"]
    assert [i["kind"] for i in items] == ["missing_step", "clock_skew"]
    other = chain(session, client, jurisdiction="CN-37")
    assert (
        client.get("/api/v1/anomalies", headers=ch.headers(other.regulator)).json()["items"] == []
    )
    # The hospital reads its own, but cannot work the queue.
    own = client.get("/api/v1/anomalies?kind=clock_skew", headers=ch.headers(ch.staff)).json()[
        "items"
    ]
    target = own[0]["id"]
    assert (
        client.post(
            f"/api/v1/anomalies/{target}/acknowledge", json={}, headers=ch.headers(ch.staff)
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/anomalies/{target}/dismiss", json={}, headers=ch.headers(other.regulator)
        ).status_code
        == 404
    )
    ok = client.post(
        f"/api/v1/anomalies/{target}/dismiss", json={"note": "phone clock fixed"}, headers=regulator
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "dismissed"
    assert ok.json()["steps"][0]["note"] == "phone clock fixed"
    again = client.post(f"/api/v1/anomalies/{target}/resolve", json={}, headers=regulator)
    assert again.status_code == 409
    page = client.get("/api/v1/anomalies?limit=1", headers=regulator).json()
    rest = client.get(
        f"/api/v1/anomalies?limit=1&cursor={page['next_cursor']}", headers=regulator
    ).json()
    assert [page["items"][0]["kind"], rest["items"][0]["kind"]] == ["missing_step", "clock_skew"]
    assert rest["next_cursor"] is None


def test_the_queue_gives_one_containers_anomalies(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    first, second = ch.register(), ch.register()
    ch.scan(ch.operator, first, "dispose", clock.now, method="incineration")  # missing_step
    ch.scan(ch.staff, second, "collect", clock.now + timedelta(hours=1), weight_kg=1.0)  # skew
    regulator = ch.headers(ch.regulator)

    def kinds_of(container: dict[str, object]) -> list[tuple[str, object]]:
        r = client.get(f"/api/v1/anomalies?container_id={container['id']}", headers=regulator)
        assert r.status_code == 200, r.text
        return [(i["kind"], i["container_id"]) for i in r.json()["items"]]

    assert kinds_of(first) == [("missing_step", first["id"])]
    assert kinds_of(second) == [("clock_skew", second["id"])]
    assert kinds_of({"id": "no-such-container"}) == []
    # Scoped as ever: another jurisdiction's regulator sees none of them.
    other = chain(session, client, jurisdiction="CN-37")
    r = client.get(
        f"/api/v1/anomalies?container_id={first['id']}", headers=ch.headers(other.regulator)
    )
    assert r.json()["items"] == []


def test_webhook_for_an_unknown_organization_is_404(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    response = client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example/x", "organization_id": str(uuid.uuid4())},
        headers=ch.headers(ch.admin),
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_webhook_outbox_is_signed_and_retried(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    created = client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example/hook", "jurisdiction": "CN-15"},
        headers=ch.headers(ch.admin),
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    c = ch.register()
    ch.scan(ch.staff, c, "collect", clock.now + timedelta(hours=1), weight_kg=1.0)
    [delivery] = session.exec(select(WebhookDelivery)).all()
    calls: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503 if len(calls) == 1 else 200)

    def round_at(seconds: int) -> RoundReport:
        return deliver_round(
            transaction=lambda: unit_of_work(session),
            client=http,
            clock=lambda: clock.now + timedelta(seconds=seconds),
        )

    with httpx.Client(transport=httpx.MockTransport(receiver)) as http:
        assert round_at(0).retry == 1
        assert round_at(10).retry == 0  # not due yet: 30 s backoff
        assert round_at(31).delivered == 1
    assert calls[-1].headers[SIGNATURE_HEADER] == sign(secret, calls[-1].content)
    session.refresh(delivery)
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_concurrent_sweeps_store_one_row(fresh_database: Database) -> None:
    if fresh_database.backend != "postgresql":
        pytest.skip("concurrency is PostgreSQL's to prove (SQLite serializes writers)")
    import uuid

    with session_scope(fresh_database.engine, write=True) as s:
        org = make_org(s, OrgKind.hospital, jurisdiction="CN-15")
        cid = uuid.uuid4().hex[:26]
        since = datetime(2026, 1, 1, tzinfo=UTC)
        s.add(
            Container(
                id=cid,
                category="infectious",
                origin_organization_id=org.id,
                state="collected",
                custodian_organization_id=org.id,
                holder_organization_id=org.id,
                batch_id=uuid.uuid4(),
                label_key_id="k",
                short_code=short_code(cid),
                state_since=since,
                stage_since=since,
                created_at=since,
            )
        )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            with session_scope(fresh_database.engine, write=True) as s:
                barrier.wait()
                run_sweep(session=s, now=since + timedelta(hours=72), profiles=SHIPPED)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(fresh_database.engine) as s:
        rows = s.exec(select(Anomaly).where(Anomaly.organization_id == org.id)).all()
        assert sorted(a.kind for a in rows) == ["collection_interval_exceeded", "storage_overdue"]
        for a in rows:
            s.delete(a)
        s.delete(s.get(Container, cid))
