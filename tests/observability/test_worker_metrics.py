"""The background worker's figures: webhook attempts by outcome, the backlog a scrape reads,
and the sweep's duration."""

from __future__ import annotations

import socket
from datetime import datetime
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from service.anomalies.profile import SHIPPED
from service.anomalies.worker import BackgroundWorker
from service.app import create_app
from service.config import Settings
from service.db import session_scope
from tests.anomalies.receivers import answering_receiver
from tests.anomalies.test_webhook_delivery import _queue
from tests.conftest import Database
from tests.observability.helpers import SCRAPER, TOKEN, moved, scrape, value


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def test_webhook_attempts_backlog_and_sweep_are_measured(
    fresh_database: Database, tmp_path: Path
) -> None:
    engine = fresh_database.engine
    settings = Settings(
        data_dir=tmp_path / "data",
        sweep_interval_seconds=0,  # no threads: the test runs the rounds itself
        log_checkpoint_seconds=0,
        metrics_token=SecretStr(TOKEN),
    )
    worker = BackgroundWorker(
        engine, interval_seconds=60, profiles=SHIPPED, allow_private_addresses=True
    )
    app = create_app(settings, engine=engine)
    with answering_receiver() as (url, received), TestClient(app) as client:
        now = datetime.now().astimezone()
        with session_scope(engine, write=True) as session:
            _queue(session, url, 2, now)
            _queue(session, _closed_port_url(), 1, now)
        before = scrape(client)
        with httpx.Client() as http:
            report = worker.deliver_once(http)
        worker.sweep_once()
        after = scrape(client)
        assert client.get("/metrics", headers=SCRAPER).status_code == 200

    assert (report.delivered, report.retry, len(received)) == (2, 1, 2)
    deliveries = "medwaste_webhook_deliveries_total"
    assert moved(before, after, deliveries, outcome="delivered") == 2
    assert moved(before, after, deliveries, outcome="retry") == 1
    assert moved(before, after, deliveries, outcome="failed") == 0
    # Three were waiting; the one that failed waits for its retry.
    assert value(before, "medwaste_webhook_backlog") == 3
    assert value(after, "medwaste_webhook_backlog") == 1
    assert moved(before, after, "medwaste_sweep_duration_seconds_count") == 1
    assert (REGISTRY.get_sample_value("medwaste_sweep_duration_seconds_sum") or 0) > 0
