"""/metrics: what a Prometheus scrape reads after scans, refusals and replays, and who may
read it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlmodel import Session

from service.config import Settings
from service.custody.models import ScanReceipt
from service.observability.metrics import count_scan
from tests.conftest import FakeClock
from tests.custody.helpers import hospital, register, scan
from tests.observability.helpers import SCRAPER, TOKEN, Samples, moved, scrape, value


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        sweep_interval_seconds=0,
        log_checkpoint_seconds=0,
        metrics_token=SecretStr(TOKEN),
    )


def scans_moved(before: Samples, after: Samples) -> dict[tuple[str, str], float]:
    """Every (action, outcome) whose count moved, by how much."""
    out = {}
    for (name, labels), figure in after.items():
        if name != "medwaste_scans_total":
            continue
        delta = figure - before.get((name, labels), 0.0)
        if delta:
            found = dict(labels)
            out[(found["action"], found["outcome"])] = delta
    return out


def test_scans_are_counted_by_action_and_outcome(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    a, b = register(client, h, count=2)
    before = scrape(client)

    first = scan(client, h.staff, a["qr_payload"], "collect", clock.now, weight_kg=2.0)
    assert first.status_code == 201, first.text
    retry = scan(
        client,
        h.staff,
        a["qr_payload"],
        "collect",
        clock.now,
        weight_kg=2.0,
        client_event_id=first.json()["event"]["client_event_id"],
    )
    assert retry.status_code == 200, retry.text
    # A hospital may not dispose: refused, kept on record; its retry answers the same refusal.
    refused_id = str(uuid.uuid4())
    for _ in range(2):
        refused = scan(
            client,
            h.staff,
            b["qr_payload"],
            "dispose",
            clock.now,
            method="incineration",
            client_event_id=refused_id,
        )
        assert refused.status_code in (403, 409), refused.text
    after = scrape(client)

    assert scans_moved(before, after) == {
        ("collect", "accepted"): 1,
        ("collect", "replayed"): 1,
        ("dispose", "refused"): 1,
        ("dispose", "replayed"): 1,
    }


def test_a_phone_batch_counts_each_scan_and_not_a_malformed_item(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    a, b = register(client, h, count=2)
    at = clock.now.isoformat()

    def item(payload: str, action: str, **extra: Any) -> dict[str, Any]:
        return {
            "qr_payload": payload,
            "action": action,
            "client_event_id": str(uuid.uuid4()),
            "scanned_at": at,
            **extra,
        }

    batch = {
        "device_id": "phone-7",
        "scans": [
            item(a["qr_payload"], "collect", weight_kg=1.5),
            item(b["qr_payload"], "dispose", method="incineration"),  # refused
            {"qr_payload": a["qr_payload"], "action": "store", "client_event_id": "x"},  # 422
            item(a["qr_payload"], "store"),
        ],
    }
    before = scrape(client)
    response = client.post("/mobile/v1/sync", json=batch, headers=h.staff)
    assert [r["status"] for r in response.json()["results"]] == [
        "created",
        "rejected",
        "rejected",
        "created",
    ]
    middle = scrape(client)
    # The whole batch again (the phone missed the answer): every scan a replay.
    client.post("/mobile/v1/sync", json=batch, headers=h.staff)
    after = scrape(client)

    assert scans_moved(before, middle) == {
        ("collect", "accepted"): 1,
        ("dispose", "refused"): 1,
        ("store", "accepted"): 1,
    }
    assert scans_moved(middle, after) == {
        ("collect", "replayed"): 1,
        ("dispose", "replayed"): 1,
        ("store", "replayed"): 1,
    }


def test_anomalies_are_counted_by_kind(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    forged = c["qr_payload"][:-4] + ("AAAA" if not c["qr_payload"].endswith("AAAA") else "BBBB")
    before = scrape(client)
    for _ in range(2):  # the same forged payload is one anomaly, however often it is scanned
        response = scan(client, h.staff, forged, "collect", clock.now, weight_kg=1.0)
        assert response.status_code == 422, response.text
    after = scrape(client)
    assert moved(before, after, "medwaste_anomalies_total", kind="forged_label") == 1
    assert moved(before, after, "medwaste_scans_total", action="collect", outcome="refused") == 2


def test_latency_is_by_route_template_never_by_container_id(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/api/v1/containers/{c['id']}", headers=h.staff).status_code == 200
    assert client.get("/no/such/route").status_code == 404
    response = client.get("/metrics", headers=SCRAPER)
    after = scrape(client)

    route = "/api/v1/containers/{container_id}"
    count = "medwaste_http_request_duration_seconds_count"
    assert moved(before, after, count, method="GET", route=route, status="200") == 3
    assert moved(before, after, count, method="GET", route="unmatched", status="404") == 1
    assert c["id"] not in response.text
    assert "/no/such/route" not in response.text


def test_pool_and_webhook_backlog_are_reported(client: TestClient, engine: Any) -> None:
    samples = scrape(client)
    assert value(samples, "medwaste_db_pool_size") == engine.pool.size() == 10
    # The test's own connection and the scrape's session are out of the pool.
    assert value(samples, "medwaste_db_pool_checked_out") >= 1
    assert ("medwaste_webhook_backlog", frozenset()) in samples


@pytest.mark.parametrize(
    ("headers", "client_address", "allowed"),
    [
        ({}, "testclient", False),
        ({"Authorization": "Bearer wrong"}, "testclient", False),
        ({"Authorization": f"Basic {TOKEN}"}, "testclient", False),
        (SCRAPER, "testclient", True),
        ({}, "127.0.0.1", True),  # loopback is allowed by default
        ({}, "203.0.113.9", False),
    ],
)
def test_only_the_configured_scraper_reads_metrics(
    app: Any, headers: dict[str, str], client_address: str, allowed: bool
) -> None:
    with TestClient(app, client=(client_address, 4000), raise_server_exceptions=False) as client:
        response = client.get("/metrics", headers=headers)
    if allowed:
        assert response.status_code == 200
        assert "medwaste_http_request_duration_seconds" in response.text
    else:
        assert response.status_code == 403
        assert response.json()["type"].endswith("/forbidden")
        assert "medwaste_" not in response.text


def test_networks_setting_replaces_loopback(app: Any) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"metrics_networks": [], "metrics_token": None}
    )
    with TestClient(app, client=("127.0.0.1", 4000)) as client:
        assert client.get("/metrics").status_code == 403


@pytest.fixture
def plain_session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    with Session(engine) as db_session:
        db_session.execute(text("select 1"))
        yield db_session


def _scan_count() -> float:
    labels = {"action": "inspect", "outcome": "accepted"}
    return REGISTRY.get_sample_value("medwaste_scans_total", labels) or 0.0


def test_counts_wait_for_the_commit_and_vanish_with_a_rollback(plain_session: Session) -> None:
    start = _scan_count()
    savepoint = plain_session.begin_nested()
    count_scan(plain_session, action="inspect", outcome="accepted")
    savepoint.rollback()  # a sync item undone
    savepoint = plain_session.begin_nested()
    count_scan(plain_session, action="inspect", outcome="accepted")
    savepoint.commit()
    assert _scan_count() == start  # a savepoint's commit is not the transaction's
    plain_session.commit()
    assert _scan_count() == start + 1

    plain_session.execute(text("select 1"))
    count_scan(plain_session, action="inspect", outcome="accepted")
    plain_session.rollback()
    plain_session.execute(text("select 1"))
    plain_session.commit()
    assert _scan_count() == start + 1


def test_a_receipt_never_stores_a_request_id(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    refused_id = str(uuid.uuid4())
    answers = [
        scan(
            client,
            {**h.staff, "X-Request-ID": f"req-{n}"},
            c["qr_payload"],
            "dispose",
            clock.now,
            method="incineration",
            client_event_id=refused_id,
        )
        for n in (1, 2)
    ]
    # Each answer names its own request; the stored refusal names none.
    assert [a.json()["request_id"] for a in answers] == ["req-1", "req-2"]
    stored = session.get(ScanReceipt, refused_id)
    assert stored is not None and "request_id" not in stored.body
