"""Webhook stall benchmark: scans in 30 s with no webhook, then with a receiver that accepts
connections and never answers.

Starts the real server (``medwaste serve`` semantics: uvicorn, one process, the background
sweep and webhook deliverer running every 5 s) on 127.0.0.1 against a fresh database, drives
it with K clients that each collect their own containers with a phone clock 15 minutes ahead
(so every scan raises a ``clock_skew`` anomaly, and with a subscription every scan queues a
webhook notification), and probes ``/health`` (every 0.25 s) and a login (every 2 s) beside
them. Prints, per phase: scans, scans/s, scan p50 / p99 / max, the slowest ``/health`` and
login, and the notifications still queued at the end.

    .venv/bin/python bench/webhook_stall.py                     # SQLite, this checkout's code
    .venv/bin/python bench/webhook_stall.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/webhook_stall.py --code-root ../main # another checkout's server

``--code-root`` serves another checkout (its own .venv) against a database migrated by this
one: the way to measure the code before a change with the same workload.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import create_engine, text

from bench.common import free_port, fresh_database, running, server_env, uvicorn_command
from bench.ingest import percentile
from bench.region import Region, build_region
from service.db import make_engine, session_scope
from service.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent


class HangingReceiver:
    """Accepts every connection, reads the request, and never answers (until closed)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.requests = 0
        self._conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            self.requests += 1

    def close(self) -> None:
        self._closed = True
        for conn in self._conns:
            conn.close()
        self.sock.close()


@contextlib.contextmanager
def serve(url: str, data_dir: Path, code_root: Path, log: Path) -> Iterator[str]:
    port = free_port()
    python = code_root / ".venv" / "bin" / "python"
    env = server_env(
        url,
        data_dir,
        code_root=code_root,
        MEDWASTE_SWEEP_INTERVAL_SECONDS="5",
        # The receiver is on loopback, which webhook URLs may not name by default.
        MEDWASTE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true",
    )
    command = uvicorn_command(
        "service.app:create_app",
        port,
        python=str(python if python.exists() else sys.executable),
    )
    with running(command, port=port, cwd=code_root, env=env, log=log) as base:
        yield base


@dataclass
class PhaseResult:
    name: str
    seconds: float
    scans: list[float] = field(default_factory=list)
    errors: int = 0
    health: list[float] = field(default_factory=list)
    health_failures: int = 0
    logins: list[float] = field(default_factory=list)
    queued: int | None = None

    def line(self) -> str:
        s = sorted(self.scans)

        def ms(v: float) -> str:
            return f"{v * 1000:,.0f} ms" if v < 10 else f"{v:,.1f} s"

        return (
            f"{self.name:<22} scans {len(s):>6,}  {len(s) / self.seconds:7.1f}/s  "
            f"p50 {ms(percentile(s, 50)) if s else '-':>9}  "
            f"p99 {ms(percentile(s, 99)) if s else '-':>9}  "
            f"max {ms(s[-1]) if s else '-':>9}  errors {self.errors}  |  /health max "
            f"{ms(max(self.health)) if self.health else '-'} ({self.health_failures} failed)  "
            f"login max {ms(max(self.logins)) if self.logins else '-'}  |  "
            f"webhooks queued at end {self.queued if self.queued is not None else '-'}"
        )


class Clients:
    def __init__(self, base: str, region: Region, clients: int) -> None:
        self.base, self.region = base, region
        staff = [(h, u) for h in region.hospitals for u in h.users]
        self.staff = staff[:clients]
        self.tokens: dict[str, str] = {}

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=120.0)

    def login(self, http: httpx.Client, username: str) -> str:
        r = http.post(
            "/api/v1/auth/token", data={"username": username, "password": self.region.password}
        )
        r.raise_for_status()
        token: str = r.json()["access_token"]
        self.tokens[username] = token
        return token

    def register(self, per_client: int) -> list[list[str]]:
        labels: list[list[str]] = [[] for _ in self.staff]

        def work(i: int) -> None:
            place, user = self.staff[i]
            with self.http() as http:
                headers = {"Authorization": f"Bearer {self.login(http, user)}"}
                while len(labels[i]) < per_client:
                    r = http.post(
                        "/api/v1/containers",
                        json={
                            "count": 100,
                            "category": "infectious",
                            "site_id": str(place.site_id),
                        },
                        headers=headers,
                    )
                    r.raise_for_status()
                    labels[i].extend(c["qr_payload"] for c in r.json()["containers"])

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(self.staff))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return labels

    def phase(self, name: str, seconds: float, labels: list[list[str]]) -> PhaseResult:
        result = PhaseResult(name, seconds)
        stop = time.monotonic() + seconds
        lock = threading.Lock()

        def scanner(i: int) -> None:
            place, user = self.staff[i]
            headers = {"Authorization": f"Bearer {self.tokens[user]}"}
            with self.http() as http:
                while time.monotonic() < stop and labels[i]:
                    ahead = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
                    body = {
                        "qr_payload": labels[i].pop(),
                        "action": "collect",
                        "client_event_id": str(uuid.uuid4()),
                        "scanned_at": ahead,
                        "weight_kg": 2.0,
                        "site_id": str(place.site_id),
                    }
                    started = time.perf_counter()
                    try:
                        r = http.post("/api/v1/scans", json=body, headers=headers)
                        ok = r.status_code == 201
                    except httpx.HTTPError:
                        ok = False
                    elapsed = time.perf_counter() - started
                    with lock:
                        if ok:
                            result.scans.append(elapsed)
                        else:
                            result.errors += 1

        def health() -> None:
            with httpx.Client(base_url=self.base, timeout=10.0) as http:
                while time.monotonic() < stop:
                    started = time.perf_counter()
                    try:
                        ok = http.get("/health").status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    result.health.append(time.perf_counter() - started)
                    result.health_failures += 0 if ok else 1
                    time.sleep(0.25)

        def logins() -> None:
            with self.http() as http:
                while time.monotonic() < stop:
                    started = time.perf_counter()
                    self.login(http, self.region.regulators[0])
                    result.logins.append(time.perf_counter() - started)
                    time.sleep(2)

        threads = [threading.Thread(target=scanner, args=(i,)) for i in range(len(self.staff))]
        threads += [threading.Thread(target=health), threading.Thread(target=logins)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return result


def queued(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM webhook_delivery WHERE status = 'pending'")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="a PostgreSQL URL (a schema of its own is made and dropped)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=1500, help="containers per client")
    parser.add_argument("--code-root", type=Path, default=ROOT, help="the checkout to serve")
    args = parser.parse_args(argv)
    if args.clients > 16:
        parser.error("at most 16 clients (4 hospitals x 4 users)")

    with tempfile.TemporaryDirectory(prefix="medwaste-webhook-bench-") as tmp:
        workdir = Path(tmp)
        with fresh_database(args.pg, workdir, "webhook_stall") as url:
            upgrade(url)
            engine = make_engine(url)
            with session_scope(engine, write=True) as session:
                region = build_region(session=session, hospitals=4, users_per_role=4)
            engine.dispose()
            log = workdir / "server.log"
            receiver = HangingReceiver()
            try:
                with serve(url, workdir / "data", args.code_root.resolve(), log) as base:
                    clients = Clients(base, region, args.clients)
                    labels = clients.register(args.per_client)
                    print(
                        f"server: {args.code_root.resolve()}  database: "
                        f"{'postgresql' if args.pg else 'sqlite'}  clients: {args.clients}  "
                        f"phase: {args.seconds:.0f} s"
                    )
                    quiet = clients.phase("no webhook", args.seconds, labels)
                    quiet.queued = queued(url)
                    print(quiet.line(), flush=True)
                    with httpx.Client(base_url=base, timeout=60) as http:
                        token = clients.login(http, region.admin)
                        r = http.post(
                            "/api/v1/webhooks",
                            json={"url": receiver.url, "jurisdiction": "CN-15"},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        if r.status_code != 201:
                            raise RuntimeError(f"could not subscribe: {r.status_code} {r.text}")
                    hung = clients.phase("hanging receiver", args.seconds, labels)
                    hung.queued = queued(url)
                    print(hung.line(), flush=True)
                    print(f"receiver: {receiver.requests} connections accepted, none answered")
            finally:
                receiver.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
