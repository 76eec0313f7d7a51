"""``medwaste verify`` as a regulator and an operator run it: separate processes, a committed
database, and the verifier module run alone with the server's packages made unimportable."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.app import create_app
from service.auth.roles import Role
from service.config import Settings
from service.db import session_scope
from service.organizations.models import OrgKind
from tests.conftest import Database
from tests.custody.helpers import scan
from tests.factories import login, make_org, make_site, make_user

MEDWASTE = str(Path(sys.executable).parent / "medwaste")
VERIFIER = Path(__file__).resolve().parents[2] / "service" / "tlog" / "verifier.py"


@dataclass
class Live:
    client: TestClient
    app: FastAPI
    database: Database
    env: dict[str, str]
    staff: dict[str, str]
    containers: list[dict[str, Any]]


@pytest.fixture
def live(fresh_database: Database, tmp_path: Path) -> Iterator[Live]:
    """A server on a database of its own, whose writes commit for real."""
    data = tmp_path / "data"
    settings = Settings(data_dir=data, sweep_interval_seconds=0, log_checkpoint_seconds=0)
    app = create_app(settings, engine=fresh_database.engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        with session_scope(fresh_database.engine, write=True) as s:
            org = make_org(s, OrgKind.hospital)
            site = make_site(s, org)
            user = make_user(s, Role.hospital_staff, org)
        staff = login(client, user)
        answer = client.post(
            "/api/v1/containers",
            json={"count": 2, "category": "sharps", "site_id": str(site.id)},
            headers=staff,
        )
        containers = answer.json()["containers"]
        for c in containers:
            done = scan(client, staff, c["qr_payload"], "collect", datetime.now(UTC), weight_kg=3)
            assert done.status_code == 201, done.text
        env = {
            **os.environ,
            "DATABASE_URL": fresh_database.url,
            "MEDWASTE_DATA_DIR": str(data),
        }
        yield Live(client, app, fresh_database, env, staff, containers)


def _medwaste(live: Live, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MEDWASTE, *args], env=live.env, capture_output=True, text=True, timeout=120
    )


def _save_bundle(live: Live, tmp_path: Path, container_id: str) -> Path:
    answer = live.client.get(f"/api/v1/containers/{container_id}/evidence", headers=live.staff)
    assert answer.status_code == 200, answer.text
    path = tmp_path / f"evidence-{container_id}.json"
    path.write_bytes(answer.content)
    return path


def _guards_off(live: Live) -> None:
    with session_scope(live.database.engine, write=True) as s:
        if live.database.backend == "postgresql":
            s.execute(text("ALTER TABLE custody_event DISABLE TRIGGER custody_event_append_only"))
        else:
            s.execute(text("DROP TRIGGER custody_event_no_update"))


def test_verify_a_bundle_then_catch_an_edit(live: Live, tmp_path: Path) -> None:
    vkey = live.client.get("/api/v1/log/key").text.strip()
    container_id = live.containers[0]["id"]
    bundle = _save_bundle(live, tmp_path, container_id)

    ok = _medwaste(live, "verify", str(bundle), "--log-key", vkey)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "checkpoint signature: signed by" in ok.stdout
    assert f"container {container_id}: event 2" in ok.stdout
    assert ok.stdout.strip().endswith("checks passed")

    _guards_off(live)
    with session_scope(live.database.engine, write=True) as s:
        event_id = s.execute(
            text("SELECT id FROM custody_event WHERE container_id = :c AND seq = 2"),
            {"c": container_id},
        ).scalar_one()
        s.execute(text("UPDATE custody_event SET weight_kg = 1 WHERE id = :id"), {"id": event_id})
    tampered = _save_bundle(live, tmp_path, container_id)
    bad = _medwaste(live, "verify", str(tampered), "--log-key", vkey)
    assert bad.returncode == 1
    assert (
        f"first failure: container {container_id}: event 2 (id {event_id}): content and chain: "
        "its content does not match its hash"
    ) in bad.stdout

    audit = _medwaste(live, "verify", "--all")
    assert audit.returncode == 1, audit.stdout + audit.stderr
    assert f"event {event_id} (container {container_id}, seq 2)" in audit.stdout
    assert "content does not match its hash" in audit.stdout


def test_verify_all_passes_then_names_an_event_rewritten_with_its_hashes(
    live: Live, tmp_path: Path
) -> None:
    issued = _medwaste(live, "checkpoint")
    assert issued.returncode == 0, issued.stderr
    origin, size, _root, blank, signature = issued.stdout.split("\n")[:5]
    assert int(size) == 4 and blank == "" and signature.startswith(f"\u2014 {origin} ")

    audit = _medwaste(live, "verify", "--all")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "2 containers, 4 events, 4 log leaves, tree of 4 leaves" in audit.stdout
    assert "VERIFIED" in audit.stdout

    # rewrite the last event of a chain and its hash, as someone knowing the rule would
    from service.custody.chain import event_hash
    from service.custody.ledger import event_fields
    from service.custody.models import CustodyEvent

    container_id = live.containers[1]["id"]
    _guards_off(live)
    with session_scope(live.database.engine, write=True) as s:
        event = s.execute(
            text("SELECT id FROM custody_event WHERE container_id = :c AND seq = 2"),
            {"c": container_id},
        ).scalar_one()
        row = s.get(CustodyEvent, event)
        assert row is not None
        fields = {**event_fields(row), "weight_kg": 9.0}
        new_hash = event_hash(fields)
        s.execute(
            text("UPDATE custody_event SET weight_kg = 9, hash = :h WHERE id = :id"),
            {"h": new_hash, "id": event},
        )
        s.execute(
            text("UPDATE container SET last_hash = :h WHERE id = :c"),
            {"h": new_hash, "c": container_id},
        )
    audit = _medwaste(live, "verify", "--all")
    assert audit.returncode == 1
    assert f"event {event}: changed after it entered the log as leaf" in audit.stdout
    # the chain itself holds together: only the log tells
    assert "content does not match" not in audit.stdout


def test_the_verifier_runs_alone_without_the_server(live: Live, tmp_path: Path) -> None:
    """The verifier file copied elsewhere and run with the server's packages (and the web and
    database libraries) made unimportable."""
    vkey = live.client.get("/api/v1/log/key").text.strip()
    bundle = _save_bundle(live, tmp_path, live.containers[0]["id"])
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(VERIFIER, alone / "verify_evidence.py")
    blocked = ["service", "schemas", "mobile_api", "fastapi", "sqlalchemy", "sqlmodel", "pydantic"]
    program = (
        "import runpy, sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        f"sys.argv = ['verify_evidence.py', {str(bundle)!r}, '--log-key', {vkey!r}]\n"
        "runpy.run_path('verify_evidence.py', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=alone, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout

    saved = tmp_path / "checkpoint.txt"
    saved.write_text(live.client.get("/api/v1/log/checkpoint").text)
    with_previous = _medwaste(
        live, "verify", str(bundle), "--log-key", vkey, "--previous", str(saved), "--quiet"
    )
    assert with_previous.returncode == 0, with_previous.stdout
    assert "ok  " not in with_previous.stdout  # --quiet prints failures only


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (["verify"], 2, "give a bundle"),
        (["verify", "--all", "x.json"], 2, "either a bundle or --all"),
        (["verify", "missing.json", "--log-key", "k+00000000+AA=="], 2, "cannot read"),
    ],
)
def test_verify_usage_errors(args: list[str], status: int, says: str, tmp_path: Path) -> None:
    env = {**os.environ, "MEDWASTE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [MEDWASTE, *args], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == status
    assert says in result.stdout + result.stderr


def test_verify_refuses_a_malformed_key(live: Live, tmp_path: Path) -> None:
    bundle = _save_bundle(live, tmp_path, live.containers[0]["id"])
    result = _medwaste(live, "verify", str(bundle), "--log-key", "not-a-key")
    assert result.returncode == 2 and "cannot use the log key" in result.stdout
    junk = tmp_path / "junk.json"
    junk.write_text(json.dumps({"format": "something else"}))
    vkey = live.client.get("/api/v1/log/key").text.strip()
    result = _medwaste(live, "verify", str(junk), "--log-key", vkey)
    assert result.returncode == 1 and "bundle format" in result.stdout


def test_the_witness_command_follows_a_served_log(live: Live, tmp_path: Path) -> None:
    """``medwaste witness`` against the log served over HTTP, as a cron job would run it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(live.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/api/v1/log"
        vkey = live.client.get("/api/v1/log/key").text.strip()
        state = tmp_path / "kept.txt"
        assert _medwaste(live, "checkpoint").returncode == 0
        first = _medwaste(live, "witness", "--log", url, "--log-key", vkey, "--state", str(state))
        assert first.returncode == 0, first.stdout + first.stderr
        assert "first checkpoint kept: tree size 4" in first.stdout
        for c in live.containers:
            done = scan(live.client, live.staff, c["qr_payload"], "store", datetime.now(UTC))
            assert done.status_code == 201
        assert _medwaste(live, "checkpoint").returncode == 0
        again = _medwaste(live, "witness", "--log", url, "--log-key", vkey, "--state", str(state))
        assert again.returncode == 0, again.stdout + again.stderr
        assert "grew from 4 to 6 leaves, consistently" in again.stdout
        assert state.read_text().split("\n")[1] == "6"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
