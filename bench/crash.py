"""Crash rounds: is every scan the server acknowledged still there, with its audit entry, after
the server is killed with SIGKILL in the middle of a load?

    .venv/bin/python bench/crash.py [--rounds 10] [--clients 6]
    .venv/bin/python bench/crash.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

Each round starts the real server (uvicorn, one worker), lets ``--clients`` phones collect
fresh containers (one scan per container, so each scan has its own audit entry, found by the
container's id), kills the server's process group with SIGKILL after a random 1-4 s, and then
checks in the database that every scan answered 201 has its custody event and its audit entry,
and that every container's chain verifies. It prints, per round, the scans acknowledged and
the ones lost, and the totals.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlmodel import col, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, free_port, fresh_database, server_env, uvicorn_command
from bench.region import PASSWORD, build_region
from schemas.custody import ContainersCreate
from service.audit.models import AuditEntry
from service.auth.actor import Actor
from service.auth.models import User
from service.config import Settings
from service.custody.containers import register_containers
from service.custody.ledger import chain_of, verify_container_chain
from service.custody.models import Container, CustodyEvent
from service.db import make_engine, session_scope, utcnow
from service.labels.keys import load_signer
from service.migrate import upgrade
from service.organizations.models import Organization


def start_server(url: str, data_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = server_env(url, data_dir)
    command = uvicorn_command("service.app:create_app", port)
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not come up; see {log}")


def phone(
    base: str,
    token: str,
    todo: list[str],
    lock: threading.Lock,
    stop: threading.Event,
    acks: list[str],
) -> None:
    """One phone collecting fresh containers until the server dies or ``stop`` is set."""
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            with lock:
                if not todo:
                    return
                payload = todo.pop()
            body = {
                "qr_payload": payload,
                "action": "collect",
                "client_event_id": uuid.uuid4().hex,
                "scanned_at": datetime.now(UTC).isoformat(),
                "weight_kg": 2.5,
            }
            try:
                r = client.post(
                    "/api/v1/scans", json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.TransportError:
                return  # the server is gone
            if r.status_code == 201:
                with lock:
                    acks.append(r.json()["event"]["container_id"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="PostgreSQL URL (a schema is made and dropped)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--containers", type=int, default=4000)
    args = parser.parse_args()
    rng = random.Random(9)
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(args.pg, Path(tmp), "crash") as url,
    ):
        workdir = Path(tmp)
        upgrade(url)
        engine = make_engine(url)
        settings = Settings(data_dir=workdir / "data", sweep_interval_seconds=0)
        with session_scope(engine, write=True) as session:
            region = build_region(session=session, hospitals=1, users_per_role=args.clients)
            signer = load_signer(session=session, settings=settings)
        hospital = region.hospitals[0]
        with session_scope(engine, write=True) as session:
            user = session.exec(select(User).where(User.username == hospital.users[0])).one()
            org = session.get(Organization, user.organization_id)
            _, made = register_containers(
                session=session,
                actor=Actor.of(user, org),
                signer=signer,
                request=ContainersCreate(
                    count=min(args.containers, 500), category="infectious", site_id=hospital.site_id
                ),
                now=utcnow(),
            )
            payloads = [payload for _, payload in made]
            for _ in range((args.containers - 1) // 500):
                _, more = register_containers(
                    session=session,
                    actor=Actor.of(user, org),
                    signer=signer,
                    request=ContainersCreate(
                        count=500, category="infectious", site_id=hospital.site_id
                    ),
                    now=utcnow(),
                )
                payloads += [payload for _, payload in more]
        todo = list(payloads)
        lock = threading.Lock()
        acknowledged: list[str] = []  # container ids whose collect was answered 201
        totals = [0, 0, 0]
        print(f"{engine.dialect.name}: {args.rounds} rounds, {args.clients} phones")
        for round_no in range(1, args.rounds + 1):
            process, base = start_server(url, settings.data_dir, workdir / "server.log")
            tokens = [
                httpx.post(
                    f"{base}/api/v1/auth/token",
                    data={"username": name, "password": PASSWORD},
                    timeout=30,
                ).json()["access_token"]
                for name in hospital.users[: args.clients]
            ]
            stop = threading.Event()
            round_acks: list[str] = []

            threads = [
                threading.Thread(target=phone, args=(base, t, todo, lock, stop, round_acks))
                for t in tokens
            ]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(1.0, 4.0))
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            stop.set()
            for t in threads:
                t.join()
            acknowledged += round_acks
            with session_scope(engine) as session:
                events = set(
                    session.exec(
                        select(CustodyEvent.container_id).where(
                            col(CustodyEvent.container_id).in_(round_acks),
                            CustodyEvent.action == "collect",
                        )
                    )
                )
                audited = set(
                    session.exec(
                        select(AuditEntry.target_id).where(
                            AuditEntry.path == "/api/v1/scans",
                            col(AuditEntry.target_id).in_(round_acks),
                            AuditEntry.status_code == 201,
                        )
                    )
                )
            lost = [c for c in round_acks if c not in events]
            unaudited = [c for c in round_acks if c not in audited]
            totals[0] += len(round_acks)
            totals[1] += len(lost)
            totals[2] += len(unaudited)
            print(
                f"  round {round_no:2}: {len(round_acks):4} acknowledged, "
                f"{len(lost)} lost, {len(unaudited)} without an audit entry"
            )
        with session_scope(engine) as session:
            broken = 0
            collected = session.exec(
                select(Container).where(col(Container.id).in_(acknowledged))
            ).all()
            for container in collected:
                if not verify_container_chain(container, chain_of(session, container.id)).verified:
                    broken += 1
            stored = session.exec(
                select(func.count())
                .select_from(CustodyEvent)
                .where(CustodyEvent.action == "collect")
            ).one()
        print(
            f"total: {totals[0]} acknowledged, {totals[1]} lost, {totals[2]} without an audit "
            f"entry; {stored} collect events stored; {broken} of {len(collected)} chains broken"
        )
        engine.dispose()
    return 0 if totals[1] == totals[2] == broken == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
