"""Every ``medwaste`` command run as a separate process, the way an operator or a cron job
runs it: a fresh interpreter that has imported nothing but the command line."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

from service.anomalies.models import Anomaly
from service.db import make_engine
from service.organizations.models import Organization, OrgKind
from tests.conftest import PG_URL, Database, _postgres_schema_url

MEDWASTE = str(Path(sys.executable).parent / "medwaste")


class Cli:
    def __init__(self, env: dict[str, str], url: str) -> None:
        self.env, self.url = env, url

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [MEDWASTE, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,  # the demo loader on a busy 2-core machine
            stdin=subprocess.DEVNULL,
        )
        if ok:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def scalar(self, sql: str) -> object:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql)).scalar()
        finally:
            engine.dispose()


@pytest.fixture
def cli(database: Database, tmp_path: Path) -> Iterator[Cli]:
    """An empty database of the run's backend: a data directory with no SQLite file yet, or
    a PostgreSQL schema of its own with no tables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDWASTE_")}
    env.pop("DATABASE_URL", None)
    env["MEDWASTE_DATA_DIR"] = str(tmp_path / "data")
    if database.backend == "sqlite":
        yield Cli(env, f"sqlite:///{tmp_path / 'data' / 'medwaste.db'}")
        return
    assert PG_URL is not None
    schema = f"medwaste_cli_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    env["DATABASE_URL"] = _postgres_schema_url(PG_URL, schema)
    try:
        yield Cli(env, env["DATABASE_URL"])
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _seed(url: str, at: datetime) -> str:
    """A hospital and an open warning anomaly two days old as of ``at``; returns the
    hospital's id."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            org = Organization(
                name="Ward test hospital", kind=OrgKind.hospital, jurisdiction="CN-15"
            )
            session.add(org)
            session.flush()
            anomaly = Anomaly(
                kind="storage_overdue",
                severity="warning",
                organization_id=org.id,
                jurisdiction="CN-15",
                rule="cli test",
                threshold="48 h",
                facts={},
                dedupe_key=f"cli-test-{uuid.uuid4()}",
                detected_at=at - timedelta(days=2),
                updated_at=at - timedelta(days=2),
            )
            session.add(anomaly)
            session.commit()
            return str(org.id)
    finally:
        engine.dispose()


def test_each_command_as_its_own_process(cli: Cli) -> None:
    assert "is up to date" in cli.run("migrate").stdout
    assert "is up to date" in cli.run("migrate").stdout  # again: nothing to do, no error
    later = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    hospital_id = _seed(cli.url, later)

    admin = cli.run("create-admin", "--username", "it-admin", "--password", "Ops#Night-Shift-77")
    assert re.search(r"created admin it-admin \([0-9a-f-]{36}\)", admin.stdout), admin.stdout
    weak = cli.run("create-admin", "--username", "weak-admin", "--password", "x", ok=False)
    assert weak.returncode == 1 and "too weak" in weak.stderr

    user = cli.run(
        "create-user",
        "--username",
        "ward-7",
        "--password",
        "Ward#Seven-Bags-2026",
        "--role",
        "hospital_staff",
        "--organization-id",
        hospital_id,
    )
    assert "created hospital_staff ward-7" in user.stdout
    bad_role = cli.run(
        "create-user",
        "--username",
        "x-user",
        "--password",
        "Ward#Seven-Bags-2026",
        "--role",
        "pilot",
        ok=False,
    )
    assert bad_role.returncode == 2 and "pilot" in bad_role.stderr
    assert cli.scalar("SELECT count(*) FROM \"user\" WHERE username IN ('it-admin', 'ward-7')") == 2

    rotated = cli.run("rotate-label-key").stdout
    assert re.search(r"new label-signing key \S+ is active", rotated), rotated
    rotated_again = cli.run("rotate-label-key").stdout
    assert rotated_again != rotated
    assert cli.scalar("SELECT count(*) FROM label_key") == 2

    now = cli.run("sweep").stdout
    assert "sweep as of" in now and "escalated: 0" in now  # not a day old yet
    # Escalating writes a workflow step whose foreign key names the user table: this crashed
    # once, because the command had not loaded that table's model.
    swept = cli.run("sweep", "--at", later.isoformat()).stdout
    assert f"sweep as of {later.isoformat()}" in swept
    assert "escalated: 1" in swept, swept
    assert (
        cli.scalar("SELECT severity FROM anomaly") == "critical"
    )  # the only one: warning -> critical
    assert cli.scalar("SELECT count(*) FROM anomaly WHERE escalated_at IS NOT NULL") == 1
    assert cli.scalar("SELECT count(*) FROM anomaly_step WHERE note LIKE 'escalated:%'") == 1

    for bad in ("yesterday", "2026-11-02T08:00:00"):
        refused = cli.run("sweep", "--at", bad, ok=False)
        assert refused.returncode == 2, refused.stderr


def test_demo_loads_once(cli: Cli, database: Database) -> None:
    if database.backend != "sqlite":
        pytest.skip("the demo loader's own tests cover PostgreSQL; as a process, SQLite suffices")
    cli.run("migrate")
    loaded = cli.run("demo").stdout
    assert "demo region loaded" in loaded
    assert "regulator    Demo#Audit-2026" in loaded
    assert "already holds data" in cli.run("demo").stdout
    assert cli.scalar("SELECT count(*) FROM container") > 0  # type: ignore[operator]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_health_and_stops_on_sigterm(cli: Cli) -> None:
    cli.run("migrate")
    port = _free_port()
    server = subprocess.Popen(
        [MEDWASTE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**cli.env, "MEDWASTE_SWEEP_INTERVAL_SECONDS": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "the server did not come up in 90 s"
                time.sleep(0.5)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert health.json()["database"] == cli.url.split(":", 1)[0].split("+")[0]
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    # A clean shutdown (uvicorn exits by the signal it was stopped with, after shutting down).
    assert server.returncode in (0, -15), output
    assert "Application shutdown complete" in output


def test_serve_refuses_several_workers_on_sqlite(cli: Cli, database: Database) -> None:
    """SQLite is served by one process: asking for more is refused before anything starts,
    with a message that says what to do."""
    if database.backend != "sqlite":
        pytest.skip("on PostgreSQL several workers are allowed")
    cli.run("migrate")
    port = _free_port()
    for workers in ("2", "4"):
        done = cli.run("serve", "--port", str(port), "--workers", workers, ok=False)
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert "--workers above 1 needs PostgreSQL" in done.stderr
        assert "DATABASE_URL" in done.stderr
    with pytest.raises(httpx.TransportError):  # nothing was started on the port
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
