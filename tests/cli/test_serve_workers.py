"""``medwaste serve --workers 2`` as an operator runs it: metrics add up over the worker
processes, and every log line is a JSON object carrying its request's id."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.test_commands import MEDWASTE, Cli, _free_port
from tests.cli.test_commands import cli as cli  # the fixture

REQUESTS = 40


def _health_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "medwaste_http_request_duration_seconds_count"
        and sample.labels.get("route") == "/health"
    )


def test_two_workers_add_up_their_metrics_and_log_json(cli: Cli, tmp_path: Path) -> None:
    if cli.url.startswith("sqlite"):
        pytest.skip("several workers serve PostgreSQL only (an SQLite database has one process)")
    cli.run("migrate")
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [MEDWASTE, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env={
            **cli.env,
            "MEDWASTE_SWEEP_INTERVAL_SECONDS": "0",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/metrics", timeout=2).raise_for_status()
                break
            except (httpx.TransportError, httpx.HTTPStatusError):
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "the server did not come up in 120 s"
                time.sleep(0.5)
        # Both workers are up once each has written its files (one set per process id).
        while len({p.stem.rsplit("_", 1)[-1] for p in metrics_dir.glob("*.db")}) < 2:
            assert time.monotonic() < deadline, sorted(p.name for p in metrics_dir.iterdir())
            time.sleep(0.5)
        before = _health_count(base)
        for n in range(REQUESTS):
            # A new connection each time, so that either worker may answer.
            answer = httpx.get(f"{base}/health", headers={"X-Request-ID": f"probe-{n}"})
            assert answer.headers["X-Request-ID"] == f"probe-{n}"
        after = _health_count(base)
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
    assert after - before == REQUESTS, output
    assert "counter_1" not in {p.stem for p in metrics_dir.glob("*.db")}
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    probes = [r for r in records if str(r.get("request_id")).startswith("probe-")]
    assert sorted(r["request_id"] for r in probes) == sorted(f"probe-{n}" for n in range(REQUESTS))
    assert {(r["logger"], r["route"], r["status"]) for r in probes} == {
        ("medwaste.access", "/health", 200)
    }
    assert any(r["message"].startswith("Application startup complete") for r in records)
