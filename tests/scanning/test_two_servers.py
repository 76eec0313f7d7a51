"""Two server processes on one PostgreSQL database, as an operator runs them behind a balancer.

Each server is a real uvicorn process on a port of its own, serving one migrated schema. Phones
scan the same containers through both at once: every acknowledged scan must be stored, each
container's events must form one unbroken, verifying chain, and a retry sent to the other
server must get the first answer back. The background jobs run in exactly one of the two
(the advisory-lock leader), and the other takes over when the leader's process is killed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from schemas.custody import ContainersCreate, ScanCreate
from service.anomalies.profile import SHIPPED
from service.auth.actor import Actor
from service.auth.roles import Role
from service.config import Settings
from service.custody.containers import register_containers
from service.custody.ledger import chain_of, verify_container_chain
from service.custody.models import Container, ScanRejection
from service.db import session_scope
from service.labels.keys import load_signer, public_keys
from service.leader import LOCK_KEY
from service.organizations.models import OrgKind
from service.scanning.service import submit_scan
from tests.conftest import Database
from tests.factories import PASSWORD, make_org, make_site, make_user

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS = 3
PHONES_PER_SERVER = 4
SCANS_PER_PHONE = 12
BOUND = 60.0  # seconds a takeover may take on a busy machine (lock retry is 5 s)

LEADER_APP = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = CAST(:key AS oid)"
    " AND l.objid = CAST(CAST(hashtext(current_schema()) AS bigint) & 4294967295 AS oid)"
    " AND l.objsubid = 2"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def _server(name: str, url: str, data_dir: Path, logs: Path) -> Iterator[Server]:
    """``service.app:create_app`` under uvicorn, its database sessions named ``name`` (so
    that the lock holder can be told apart in pg_stat_activity)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDWASTE_")}
    env |= {
        "DATABASE_URL": f"{url}&application_name={quote(name)}",
        "MEDWASTE_DATA_DIR": str(data_dir),
        "MEDWASTE_SWEEP_INTERVAL_SECONDS": "1",
        "MEDWASTE_LOG_CHECKPOINT_SECONDS": "1",
        "PYTHONPATH": str(ROOT),
    }
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory",
             "--host", "127.0.0.1", f"--port={port}", "--no-access-log"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            with suppress(httpx.TransportError):
                if httpx.get(f"{server.base}/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the server did not come up in 90 s"
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Region:
    regulator: str
    payloads: dict[str, str]  # container id -> QR payload


def _region(engine: Engine, data_dir: Path) -> Region:
    """A hospital with collected containers, and a regulator of its province to inspect them."""
    now = datetime.now(UTC)
    with session_scope(engine, write=True) as s:
        hospital = make_org(s, OrgKind.hospital)
        site = make_site(s, hospital)
        nurse_user = make_user(s, Role.hospital_staff, hospital)
        nurse = Actor.of(nurse_user, hospital)
        regulator = make_user(s, Role.regulator, make_org(s, OrgKind.regulator))
        signer = load_signer(session=s, settings=Settings(data_dir=data_dir))
        _, made = register_containers(
            session=s,
            actor=nurse,
            signer=signer,
            request=ContainersCreate(count=CONTAINERS, category="infectious", site_id=site.id),
            now=now,
        )
        keys = public_keys(s)
        for _, payload in made:
            submit_scan(
                profiles=SHIPPED,
                session=s,
                actor=nurse,
                scan=ScanCreate(
                    qr_payload=payload,
                    action="collect",
                    client_event_id=str(uuid.uuid4()),
                    scanned_at=now,
                    weight_kg=3.0,
                ),
                public_keys=keys,
                now=now,
            )
        return Region(regulator.username, {c.id: payload for c, payload in made})


def _token(server: Server, username: str) -> str:
    answer = httpx.post(
        f"{server.base}/api/v1/auth/token",
        data={"username": username, "password": PASSWORD},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _inspect(payload: str, client_event_id: str) -> dict[str, Any]:
    return {
        "qr_payload": payload,
        "action": "inspect",
        "client_event_id": client_event_id,
        "scanned_at": datetime.now(UTC).isoformat(),
        "note": "roadside check",
    }


@pytest.fixture
def two_servers(fresh_database: Database, tmp_path: Path) -> Iterator[tuple[Region, list[Server]]]:
    if fresh_database.backend != "postgresql":
        pytest.skip("several server processes share a PostgreSQL database (SQLite: one)")
    data_dir = tmp_path / "data"
    region = _region(fresh_database.engine, data_dir)
    with (
        _server("medwaste-a", fresh_database.url, data_dir, tmp_path) as a,
        _server("medwaste-b", fresh_database.url, data_dir, tmp_path) as b,
    ):
        yield region, [a, b]


def test_concurrent_scans_through_two_servers_form_one_chain_per_container(
    two_servers: tuple[Region, list[Server]], fresh_database: Database
) -> None:
    region, servers = two_servers
    payloads = list(region.payloads.values())
    tokens = {s.name: _token(s, region.regulator) for s in servers}
    acknowledged: list[tuple[str, str, dict[str, Any]]] = []  # (server, client id, body)
    problems: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(servers) * PHONES_PER_SERVER)

    def phone(server: Server, n: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[server.name]}"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
            start.wait()
            for i in range(SCANS_PER_PHONE):
                client_id = str(uuid.uuid4())
                body = _inspect(payloads[(n + i) % len(payloads)], client_id)
                answer = client.post("/api/v1/scans", json=body)
                with lock:
                    if answer.status_code == 201:
                        acknowledged.append((server.name, client_id, answer.json()))
                    else:
                        problems.append(f"{server.name}: {answer.status_code} {answer.text}")

    phones = [
        threading.Thread(target=phone, args=(server, n))
        for server in servers
        for n in range(PHONES_PER_SERVER)
    ]
    for t in phones:
        t.start()
    for t in phones:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in phones)

    assert problems == []
    sent = len(servers) * PHONES_PER_SERVER * SCANS_PER_PHONE
    assert len(acknowledged) == sent
    assert {name for name, _, _ in acknowledged} == {s.name for s in servers}

    # A phone that got no answer sends the same scan again, here to the other server: the
    # answer is the first one, and nothing new is stored.
    first_server, client_id, first_body = acknowledged[0]
    other = next(s for s in servers if s.name != first_server)
    payload = region.payloads[first_body["container"]["id"]]
    again = httpx.post(
        f"{other.base}/api/v1/scans",
        json=_inspect(payload, client_id),
        headers={"Authorization": f"Bearer {tokens[other.name]}"},
        timeout=60,
    )
    assert again.status_code == 200, again.text
    assert again.json()["event"]["id"] == first_body["event"]["id"]

    # A new scan sent eight times at once, four times to each server: recorded once, and every
    # answer names that one event (the ones that waited answer it as a retry).
    retried = str(uuid.uuid4())
    together = threading.Barrier(8)
    answers: list[httpx.Response] = []

    def resend(server: Server) -> None:
        headers = {"Authorization": f"Bearer {tokens[server.name]}"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
            assert client.get("/health").status_code == 200  # connected before the race
            together.wait()
            answer = client.post("/api/v1/scans", json=_inspect(payload, retried))
        with lock:
            answers.append(answer)

    senders = [threading.Thread(target=resend, args=(s,)) for s in servers for _ in range(4)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(timeout=120)
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert len({a.json()["event"]["id"] for a in answers}) == 1
    acknowledged.append((first_server, retried, answers[0].json()))

    by_container: dict[str, set[int]] = {cid: set() for cid in region.payloads}
    for _, _, body in acknowledged:
        by_container[body["container"]["id"]].add(body["event"]["id"])
    with Session(fresh_database.engine) as s:
        for container_id, acked in by_container.items():
            container = s.get(Container, container_id)
            assert container is not None
            events = chain_of(s, container_id)
            verdict = verify_container_chain(container, events)
            assert verdict.verified, (container_id, verdict)
            # One chain: each event points at the one before it, no fork, no gap.
            assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
            assert [e.action for e in events[:2]] == ["register", "collect"]
            inspects = {e.id for e in events if e.action == "inspect"}
            assert inspects == acked  # every acknowledged scan stored, nothing else
            assert container.state == "collected"  # inspections change no state
        assert s.exec(select(ScanRejection)).all() == []


def _leader(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row.application_name for row in conn.execute(LEADER_APP, {"key": LOCK_KEY})]


def _until_leader(engine: Engine, allowed: set[str]) -> str:
    deadline = time.monotonic() + BOUND
    while True:
        leaders = _leader(engine)
        if len(leaders) == 1 and leaders[0] in allowed:
            return leaders[0]
        assert time.monotonic() < deadline, f"no single leader among {allowed}: {leaders}"
        time.sleep(0.2)


def test_one_server_runs_the_background_jobs_and_another_takes_over_when_it_dies(
    two_servers: tuple[Region, list[Server]], fresh_database: Database
) -> None:
    region, servers = two_servers
    engine = fresh_database.engine
    names = {s.name for s in servers}
    leader = _until_leader(engine, names)
    time.sleep(6)  # longer than the followers' retry period: still one leader, the same
    assert _leader(engine) == [leader]

    dead = next(s for s in servers if s.name == leader)
    dead.process.kill()  # no shutdown: the process is gone, its session ends with it
    dead.process.wait()

    survivor = next(s for s in servers if s.name != leader)
    assert _until_leader(engine, {survivor.name}) == survivor.name

    # The survivor now runs the background jobs: a scan it takes is covered by a checkpoint
    # that only a leader's issuer signs.
    payload = next(iter(region.payloads.values()))
    token = _token(survivor, region.regulator)
    scanned = httpx.post(
        f"{survivor.base}/api/v1/scans",
        json=_inspect(payload, str(uuid.uuid4())),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert scanned.status_code == 201, scanned.text
    with engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM custody_event")).scalar_one()
    deadline = time.monotonic() + BOUND
    while _checkpoint_size(survivor) != events:
        assert time.monotonic() < deadline, "the survivor signs no checkpoint"
        time.sleep(0.5)


def _checkpoint_size(server: Server) -> int | None:
    answer = httpx.get(f"{server.base}/api/v1/log/checkpoint", timeout=10)
    if answer.status_code != 200:
        return None
    return int(answer.text.splitlines()[1])  # origin, tree size, root hash, signatures
