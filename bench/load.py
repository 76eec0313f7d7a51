"""Scan throughput of the real server, driven by ``wrk``, next to the bare-insert ceiling.

    .venv/bin/python bench/load.py                     # SQLite, then PostgreSQL (default URL)
    .venv/bin/python bench/load.py --no-pg --rounds 2 --seconds 8
    .venv/bin/python bench/load.py --profile /tmp/prof # py-spy records each server

One invocation measures, on SQLite and on PostgreSQL, in alternating rounds (product run,
ceiling run, product run, ...) so that both see the same machine:

- the ceiling: ``POST /bench/bare``, a bare FastAPI route inserting one row (bench/app.py);
- inspect scans by a regulator over a pool of collected containers;
- whole lives (collect, store, pickup, receive, dispose) by the organization whose turn it is;
- 1,000-scan ``POST /mobile/v1/sync`` batches, one at a time;
- scan latency with 1 M events stored against 10 k (two databases, two servers, alternating);
- on PostgreSQL, one server process against two (``--workers 2``), alternating.

It prints requests/s, p50 and p99 for each run, the ratio to the ceiling, the SQL statements
per scan (counted in the server by an engine event listener) and the targets met or not.
``wrk`` must be on the PATH; its Lua scripts are in bench/lua/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script (python bench/load.py): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bench.app import create_bench_table
from bench.common import bench_server, cpu_seconds, fresh_database
from bench.history import count_events, load_history
from bench.region import Place, Region, build_region
from schemas.custody import ContainersCreate, ScanCreate
from schemas.manifests import ManifestCreate
from service.anomalies.models import Anomaly
from service.anomalies.profile import SHIPPED
from service.auth.actor import Actor
from service.auth.models import User
from service.config import Settings
from service.custody.containers import register_containers
from service.custody.machine import Action
from service.db import make_engine, session_scope, utcnow
from service.labels.keys import LabelSigner, load_signer, public_keys
from service.manifests.service import create_manifest
from service.migrate import upgrade
from service.organizations.models import Organization
from service.scanning.service import submit_scan
from service.tlog.service import integrate

LUA = Path(__file__).resolve().parent / "lua"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REGISTER_CHUNK = 500
# How long before a run its lives' containers were registered; lives.lua dates their scans
# within it (the last, the disposal, four hours after the registration).
LIFE_SPAN = timedelta(hours=6)

# Targets (benchmark figures, not timed tests).
TARGET_RATIO = 0.5
TARGET_P99_MS = 80.0
TARGET_SYNC_S = 1.0
TARGET_HISTORY_RATIO = 1.15
TARGET_WORKERS_RATIO = 1.5


# ---------------------------------------------------------------------------------------------
# wrk


@dataclass
class Run:
    """One wrk run's figures."""

    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    errors: dict[str, int]
    ok: int = 0  # responses with the expected status
    statements: int | None = None  # SQL statements the server sent during the run
    cpu_s: float | None = None  # CPU seconds the server used during the run
    load: float = 0.0  # 1-minute load average when the run ended

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        return self.requests - self.ok + sum(self.errors.values())

    @property
    def cpu_ms_per_ok(self) -> float | None:
        return 1000 * self.cpu_s / self.ok if self.cpu_s is not None and self.ok else None

    @property
    def per_ok(self) -> float | None:
        return self.statements / self.ok if self.statements is not None and self.ok else None


def wrk(
    script: str,
    base: str,
    *,
    seconds: float,
    connections: int,
    threads: int,
    data: Path | None = None,
    ok: frozenset[int] = frozenset({201}),
    label: str = "",
) -> Run:
    """Run wrk with ``bench/lua/report.lua`` + ``bench/lua/<script>.lua``."""
    combined = Path(tempfile.mkstemp(prefix=f"wrk-{script}-", suffix=".lua")[1])
    combined.write_text(
        (LUA / "report.lua").read_text() + "\n" + (LUA / f"{script}.lua").read_text()
    )
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "60s",
        "-s",
        str(combined),
        base,
    ]
    if data is not None:
        command += ["--", str(data)]
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        combined.unlink(missing_ok=True)
    line = next((x for x in out.splitlines() if x.startswith("WRK-RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    figures = json.loads(line.removeprefix("WRK-RESULT "))
    statuses = {int(k): v for k, v in figures["statuses"].items()}
    return Run(
        label=label or script,
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        statuses=statuses,
        errors={k: figures[k] for k in ("connect", "read", "write", "timeout") if figures[k]},
        ok=sum(n for status, n in statuses.items() if status in ok),
        load=os.getloadavg()[0],
    )


def lua_value(value: Any) -> str:
    """A Python value as a Lua literal (strings, numbers, lists, dicts with str keys)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid Lua string for our ASCII values
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {lua_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua_value(v) for v in value) + "}"
    raise TypeError(type(value))


def write_data(path: Path, data: dict[str, Any]) -> Path:
    path.write_text("return " + lua_value(data) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# Databases and servers


def statements(base: str) -> int:
    return int(httpx.get(f"{base}/bench/statements", timeout=10).json()["total"])


# ---------------------------------------------------------------------------------------------
# A prepared database: region, history, stock of containers


def _scan_time() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Target:
    """One database with its region, and what the benchmark made in it."""

    name: str
    url: str
    engine: Engine
    region: Region
    settings: Settings
    signer: LabelSigner
    actors: dict[str, Actor]
    events: int = 0
    manifests: dict[int, str] = field(default_factory=dict)
    inspect_pool: list[str] = field(default_factory=list)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    @classmethod
    def prepare(cls, name: str, url: str, workdir: Path, history: int) -> Target:
        upgrade(url)
        engine = make_engine(url, pool_size=2)
        settings = Settings(data_dir=workdir / f"data-{name}", sweep_interval_seconds=0)
        with session_scope(engine, write=True) as session:
            region = build_region(session=session, hospitals=4, users_per_role=2)
            signer = load_signer(session=session, settings=settings)
        create_bench_table(engine)
        with session_scope(engine) as session:
            users = {u.username: u for u in session.exec(select(User))}
            orgs = {o.id: o for o in session.exec(select(Organization))}
        actors = {
            name: Actor.of(u, orgs.get(u.organization_id) if u.organization_id else None)
            for name, u in users.items()
        }
        ids = {name: u.id for name, u in users.items()}
        if history:
            load_history(engine, region, ids, history)
            # The log's tiles brought up to the filler's leaves, as a running server's checkpoint
            # issuer would have long before; else the server integrates them during the first run.
            with session_scope(engine, write=True) as session:
                integrate(session)
        target = cls(name, url, engine, region, settings, signer, actors)
        target.events = count_events(engine)
        return target

    def register(self, hospital: int, count: int, at: datetime | None = None) -> list[str]:
        """``count`` labelled containers at a hospital (in-process, before a run), registered
        ``at`` (now by default)."""
        place = self.region.hospitals[hospital]
        actor = self.actors[place.users[0]]
        payloads: list[str] = []
        for start in range(0, count, REGISTER_CHUNK):
            size = min(REGISTER_CHUNK, count - start)
            with session_scope(self.engine, write=True) as session:
                _, made = register_containers(
                    session=session,
                    actor=actor,
                    signer=self.signer,
                    request=ContainersCreate(
                        count=size, category="infectious", site_id=place.site_id
                    ),
                    now=at or utcnow(),
                )
                payloads += [payload for _, payload in made]
        return payloads

    def stock_inspect(self, count: int) -> None:
        """Collected containers for inspect scans, spread over the hospitals."""
        keys = None
        for n in range(count):
            h = n % len(self.region.hospitals)
            place = self.region.hospitals[h]
            (payload,) = self.register(h, 1)
            with session_scope(self.engine, write=True) as session:
                keys = keys or public_keys(session)
                submit_scan(
                    profiles=SHIPPED,
                    session=session,
                    actor=self.actors[place.users[0]],
                    scan=ScanCreate(
                        qr_payload=payload,
                        action=Action.collect,
                        client_event_id=uuid.uuid4().hex,
                        scanned_at=utcnow(),
                        weight_kg=3.0,
                        site_id=place.site_id,
                    ),
                    public_keys=keys,
                    now=utcnow(),
                )
            self.inspect_pool.append(payload)

    def open_manifests(self) -> None:
        """One open manifest per hospital, to the plant, by the transporter: pickups join it."""
        r = self.region
        driver = self.actors[r.transporter.users[0]]
        for h, place in enumerate(r.hospitals):
            with session_scope(self.engine, write=True) as session:
                manifest = create_manifest(
                    session=session,
                    actor=driver,
                    request=ManifestCreate(
                        origin_organization_id=place.organization_id,
                        destination_organization_id=r.plant.organization_id,
                        vehicle_plate=f"BENCH-{h}",
                    ),
                    now=utcnow(),
                )
                self.manifests[h] = str(manifest.id)

    def token(self, base: str, username: str) -> str:
        """An access token for ``username`` (logged in again after 10 minutes)."""
        cached = self.tokens.get(username)
        if cached is not None and time.monotonic() - cached[1] < 600:
            return cached[0]
        response = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": username, "password": self.region.password},
            timeout=60,
        )
        response.raise_for_status()
        token = response.json()["access_token"]
        self.tokens[username] = (token, time.monotonic())
        return token


def count_anomalies(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Anomaly)).scalar_one())


def _place(place: Place, token: str, manifest: str | None = None) -> list[Any]:
    out: list[Any] = [token, str(place.site_id), place.latitude, place.longitude]
    if manifest is not None:
        out.append(manifest)
    return out


# ---------------------------------------------------------------------------------------------
# The workloads


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.runs: list[Run] = []

    def log(self, message: str) -> None:
        print(f"  .. {message}", flush=True)

    def record(self, run: Run, base: str | None = None, before: int | None = None) -> Run:
        if base is not None and before is not None:
            run.statements = statements(base) - before
        self.runs.append(run)
        bad = {s: n for s, n in run.statuses.items() if s >= 300}
        extra = f", non-2xx {bad}" if bad else ""
        extra += f", socket errors {run.errors}" if run.errors else ""
        per = f", {run.per_ok:.1f} statements/ok" if run.per_ok is not None else ""
        if run.cpu_ms_per_ok is not None:
            per += f", server CPU {run.cpu_ms_per_ok:.2f} ms/ok"
        self.log(
            f"{run.label:<34} {run.rate:8.0f}/s  p50 {run.p50_ms:7.1f} ms  p99 {run.p99_ms:7.1f} ms"
            f"  ({run.ok}/{run.requests} ok{per}{extra}; load {run.load:.1f})"
        )
        return run

    def drive(
        self,
        script: str,
        base: str,
        label: str,
        data: Path | None = None,
        *,
        count_statements: bool = True,
        connections: int | None = None,
        threads: int | None = None,
        seconds: float | None = None,
        ok: frozenset[int] = frozenset({201}),
    ) -> Run:
        before = statements(base) if count_statements else None
        cpu_before = cpu_seconds(base)
        run = wrk(
            script,
            base,
            seconds=seconds or self.args.seconds,
            connections=connections or self.args.connections,
            threads=threads or self.args.threads,
            data=data,
            ok=ok,
            label=label,
        )
        cpu_after = cpu_seconds(base)
        if cpu_before is not None and cpu_after is not None:
            run.cpu_s = cpu_after - cpu_before
        return self.record(run, base if count_statements else None, before)

    # Each workload writes the Lua data its script reads, then runs wrk.

    def ceiling(self, base: str, label: str = "bare insert (ceiling)") -> Run:
        return self.drive("bare", base, label)

    def inspect(self, target: Target, base: str, label: str, count: bool = True) -> Run:
        token = target.token(base, target.region.regulators[0])
        data = write_data(
            self.workdir / f"inspect-{uuid.uuid4().hex[:6]}.lua",
            {"tag": uuid.uuid4().hex[:10], "token": token, "payloads": target.inspect_pool},
        )
        return self.drive("inspect", base, label, data, count_statements=count)

    def lives(self, target: Target, base: str, label: str, count: bool = True) -> Run:
        r = target.region
        hospitals = len(r.hospitals)
        # Enough fresh containers for the run at a generous rate (5 scans a life).
        need = int(self.args.lives_rate * self.args.seconds / 5) + 200
        per_hospital = need // hospitals + 1
        containers: list[list[Any]] = []
        # Lives dated as a day's would be (bench/lua/lives.lua): registered hours ago, each
        # scan of a life some time after the one before. Scans seconds apart would have the
        # waste cross tens of kilometres in seconds, and the rules store an impossible_travel
        # anomaly, work a real day's scans rarely do.
        born = utcnow().replace(microsecond=0) - LIFE_SPAN
        stock = [target.register(h, per_hospital, at=born) for h in range(hospitals)]
        for n in range(per_hospital):
            for h in range(hospitals):
                containers.append([stock[h][n], h + 1])
        data = write_data(
            self.workdir / f"lives-{uuid.uuid4().hex[:6]}.lua",
            {
                "tag": uuid.uuid4().hex[:10],
                "threads": self.args.threads,
                "born": int(born.timestamp()),
                "hospitals": [
                    _place(p, target.token(base, p.users[0]), target.manifests[h])
                    for h, p in enumerate(r.hospitals)
                ],
                "driver": target.token(base, r.transporter.users[0]),
                "plant": _place(r.plant, target.token(base, r.plant.users[0])),
                "containers": containers,
            },
        )
        anomalies = count_anomalies(target.engine)
        run = self.drive("lives", base, label, data, count_statements=count)
        raised = count_anomalies(target.engine) - anomalies
        if raised:
            self.log(f"   the lives raised {raised} anomalies (stored: the rules' work)")
        if run.statuses.get(200):
            self.log(f"   ran out of fresh containers ({run.statuses[200]} idle requests)")
        return run

    def sync(self, target: Target, base: str, label: str) -> Run:
        r = target.region
        size = self.args.sync_size
        batches = []
        for n in range(self.args.sync_batches):
            h = n % len(r.hospitals)
            place = r.hospitals[h]
            batches.append(
                [*_place(place, target.token(base, place.users[0])), target.register(h, size)]
            )
        data = write_data(
            self.workdir / f"sync-{uuid.uuid4().hex[:6]}.lua",
            {
                "tag": uuid.uuid4().hex[:10],
                "at": datetime.now(UTC).isoformat(),
                "threads": 1,
                "batches": batches,
            },
        )
        run = self.drive(
            "sync",
            base,
            label,
            data,
            connections=1,
            threads=1,
            seconds=self.args.sync_seconds,
            ok=frozenset({200}),
        )
        # The thread stops at the last batch's answer (a stray request is never counted).
        run.ok = min(run.ok, len(batches))
        return run


# ---------------------------------------------------------------------------------------------
# The report


@dataclass
class Comparison:
    label: str
    product: list[Run]
    reference: list[Run]

    def ratios(self) -> list[float]:
        return [
            p.rate / c.rate for p, c in zip(self.product, self.reference, strict=False) if c.rate
        ]

    @property
    def ratio(self) -> float:
        values = self.ratios()
        return statistics.median(values) if values else float("nan")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(runs: Sequence[Run]) -> str:
    rate = median([r.rate for r in runs])
    p50 = median([r.p50_ms for r in runs])
    p99 = median([r.p99_ms for r in runs])
    per = [r.per_ok for r in runs if r.per_ok is not None]
    st = f"{median(per):6.1f}" if per else "     -"
    cpu = [r.cpu_ms_per_ok for r in runs if r.cpu_ms_per_ok is not None]
    cpu_text = f"{median(cpu):7.2f}" if cpu else "      -"
    failures = sum(r.failures for r in runs)
    return f"{rate:9.0f} {p50:8.1f} {p99:8.1f} {st} {cpu_text} {failures:6d}"


def mark(ok: bool) -> str:
    return "met    " if ok else "NOT MET"


# ---------------------------------------------------------------------------------------------
# The run


def run_backend(
    backend: str, pg_url: str | None, args: argparse.Namespace, workdir: Path
) -> list[str]:
    """Every measurement on one backend; returns the report lines."""
    bench = Bench(args, workdir)
    lines: list[str] = []
    print(f"\n== {backend} ==", flush=True)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(fresh_database(pg_url, workdir, f"{backend}-small"))
        small = Target.prepare("small", url, workdir, args.small_history)
        bench.log(f"small database: {small.events:,} events")
        small.stock_inspect(args.inspect_pool)
        small.open_manifests()
        log = workdir / f"server-{backend}.log"
        profile = Path(f"{args.profile}-{backend}-1w.raw") if args.profile else None
        base = stack.enter_context(
            bench_server(url, small.settings.data_dir, log, workers=1, profile=profile)
        )
        # Another checkout's server on the same database (its own process, the same data
        # directory and so the same token key), driven in turn with this one's.
        base_ref = (
            stack.enter_context(
                bench_server(url, small.settings.data_dir, log, code_root=args.code_root.resolve())
            )
            if args.code_root
            else None
        )
        ceilings: list[Run] = []
        inspects: list[Run] = []
        lives: list[Run] = []
        ref_inspects: list[Run] = []
        ref_lives: list[Run] = []
        for n in range(args.rounds):
            ceilings.append(bench.ceiling(base, f"ceiling #{n + 1}"))
            if base_ref is not None:
                ref_inspects.append(bench.inspect(small, base_ref, f"REF inspect scans #{n + 1}"))
            inspects.append(bench.inspect(small, base, f"inspect scans #{n + 1}"))
            ceilings.append(bench.ceiling(base, f"ceiling #{n + 1}b"))
            if base_ref is not None:
                ref_lives.append(bench.lives(small, base_ref, f"REF whole lives #{n + 1}"))
            lives.append(bench.lives(small, base, f"whole lives #{n + 1}"))
        sync_label = f"sync batches of {args.sync_size:,}"
        ref_syncs = (
            [bench.sync(small, base_ref, f"REF {sync_label}")]
            if args.sync_batches and base_ref is not None
            else []
        )
        syncs = [bench.sync(small, base, sync_label)] if args.sync_batches else []

        two: list[Run] = []
        one: list[Run] = []
        if backend == "postgresql" and args.workers_check:
            base2 = stack.enter_context(bench_server(url, small.settings.data_dir, log, workers=2))
            for n in range(args.rounds):
                one.append(bench.inspect(small, base, f"1 worker inspect #{n + 1}", count=False))
                two.append(bench.inspect(small, base2, f"2 workers inspect #{n + 1}", count=False))
                one.append(bench.lives(small, base, f"1 worker lives #{n + 1}", count=False))
                two.append(bench.lives(small, base2, f"2 workers lives #{n + 1}", count=False))

        large: Target | None = None
        near: list[Run] = []
        far: list[Run] = []
        if args.large_history:
            url_large = stack.enter_context(fresh_database(pg_url, workdir, f"{backend}-large"))
            started = time.perf_counter()
            large = Target.prepare("large", url_large, workdir, args.large_history)
            bench.log(
                f"large database: {large.events:,} events (loaded in"
                f" {time.perf_counter() - started:.0f} s; filler chains do not verify)"
            )
            large.stock_inspect(args.inspect_pool)
            base_large = stack.enter_context(
                bench_server(url_large, large.settings.data_dir, log, workers=1)
            )
            for n in range(args.rounds):
                near.append(bench.inspect(small, base, f"inspect @ {small.events:,} #{n + 1}"))
                far.append(bench.inspect(large, base_large, f"inspect @ {large.events:,} #{n + 1}"))

    # Report.
    inspect_cmp = Comparison("inspect", inspects, ceilings[0::2])
    lives_cmp = Comparison("lives", lives, ceilings[1::2])
    head = f"{'':36}{'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'stmt':>6} {'CPU ms':>7} {'fails':>6}"
    lines.append(f"{backend}: median of {args.rounds} rounds, {args.connections} connections")
    lines.append(head)
    lines.append(f"{'bare insert (ceiling)':36}{summarize(ceilings)}")
    lines.append(f"{'inspect scans':36}{summarize(inspects)}   x{inspect_cmp.ratio:.2f} ceiling")
    lines.append(f"{'whole lives (scans)':36}{summarize(lives)}   x{lives_cmp.ratio:.2f} ceiling")
    if syncs:
        s = syncs[0]
        # Within a batch (one request at a time): its size over its latency.
        scans_per_s = args.sync_size / (s.p50_ms / 1000) if s.ok and s.p50_ms else 0
        lines.append(
            f"{'sync batches (1 connection)':36}{summarize(syncs)}   "
            f"{scans_per_s:.0f} scans/s in a batch, worst batch {s.p99_ms / 1000:.2f} s,"
            f" {s.ok} of {args.sync_batches} batches answered in the run"
        )
    if base_ref is not None:
        lines.append(f"  the same, served by {args.code_root} (REF), alternating with the above:")
        for label, ref, mine in (
            ("REF inspect scans", ref_inspects, inspects),
            ("REF whole lives (scans)", ref_lives, lives),
        ):
            ratio = median([m.rate / r.rate for r, m in zip(ref, mine, strict=True) if r.rate])
            cpu = median(
                [
                    m.cpu_ms_per_ok / r.cpu_ms_per_ok
                    for r, m in zip(ref, mine, strict=True)
                    if r.cpu_ms_per_ok and m.cpu_ms_per_ok
                ]
            )
            lines.append(
                f"{label:36}{summarize(ref)}   this checkout x{ratio:.2f} REF's rate,"
                f" x{cpu:.2f} its CPU per scan"
            )
        if ref_syncs:
            r = ref_syncs[0]
            lines.append(
                f"{'REF sync batches (1 connection)':36}{summarize(ref_syncs)}   "
                f"worst batch {r.p99_ms / 1000:.2f} s, {r.ok} of {args.sync_batches} answered"
            )
    if one:
        lines.append(f"{'1 worker (inspect + lives)':36}{summarize(one)}")
        lines.append(f"{'2 workers (inspect + lives)':36}{summarize(two)}")
    lines.append(
        f"  load average (1 min) over the runs: {median([r.load for r in bench.runs]):.1f}"
    )

    lines.append("targets:")
    p99 = max(median([r.p99_ms for r in inspects]), median([r.p99_ms for r in lives]))
    failures = sum(r.failures for r in [*inspects, *lives])
    lines.append(
        f"  [{mark(inspect_cmp.ratio >= TARGET_RATIO)}] inspect scans {inspect_cmp.ratio:.2f}x"
        f" the ceiling (target >= {TARGET_RATIO}); per round "
        + ", ".join(f"{x:.2f}" for x in inspect_cmp.ratios())
    )
    lines.append(
        f"  [{mark(lives_cmp.ratio >= TARGET_RATIO)}] whole lives {lives_cmp.ratio:.2f}x"
        f" the ceiling (target >= {TARGET_RATIO}); per round "
        + ", ".join(f"{x:.2f}" for x in lives_cmp.ratios())
    )
    lines.append(
        f"  [{mark(p99 < TARGET_P99_MS)}] scan p99 {p99:.1f} ms at {args.connections}"
        f" connections (target < {TARGET_P99_MS:.0f} ms)"
    )
    lines.append(f"  [{mark(failures == 0)}] non-2xx or socket errors under load: {failures}")
    if syncs:
        worst = syncs[0].p99_ms / 1000
        ok = syncs[0].ok > 0 and worst < TARGET_SYNC_S and syncs[0].failures == 0
        lines.append(
            f"  [{mark(ok)}] {args.sync_size:,}-scan sync batch p99 {worst:.2f} s, p50"
            f" {syncs[0].p50_ms / 1000:.2f} s over {syncs[0].ok} batches"
            f" (target < {TARGET_SYNC_S:.0f} s for 1,000 scans)"
        )
    if near and far and large is not None:
        r50 = median([f.p50_ms for f in far]) / median([n.p50_ms for n in near])
        r99 = median([f.p99_ms for f in far]) / median([n.p99_ms for n in near])
        lines.append(
            f"  [{mark(r50 <= TARGET_HISTORY_RATIO)}] inspect p50 at {large.events:,} events /"
            f" at {small.events:,} = {r50:.2f} (target <= {TARGET_HISTORY_RATIO}); p99 ratio"
            f" {r99:.2f}"
        )
    if one and two:
        ratio = median([t.rate / o.rate for t, o in zip(two, one, strict=True) if o.rate])
        lines.append(
            f"  [{mark(ratio >= TARGET_WORKERS_RATIO)}] 2 workers carry {ratio:.2f}x one"
            f" worker's scans (target >= {TARGET_WORKERS_RATIO})"
        )
    return lines


def profile_only(args: argparse.Namespace, workdir: Path) -> None:
    """One workload under py-spy on SQLite (or PostgreSQL with --no-sqlite), then a summary
    of where the server's time went."""
    from bench.profile_summary import main as summarize_profile

    backend, pg = ("postgresql", args.pg) if args.no_sqlite else ("sqlite", None)
    bench = Bench(args, workdir)
    with fresh_database(pg, workdir, "profile") as url:
        target = Target.prepare("profile", url, workdir, args.small_history)
        target.stock_inspect(args.inspect_pool)
        target.open_manifests()
        out = Path(f"{args.profile}-{backend}-{args.profile_only}.raw")
        log = workdir / "server-profile.log"
        with bench_server(url, target.settings.data_dir, log, profile=out) as base:
            if args.profile_only == "inspect":
                bench.inspect(target, base, "inspect scans (profiled)")
            elif args.profile_only == "lives":
                bench.lives(target, base, "whole lives (profiled)")
            elif args.profile_only == "sync":
                bench.sync(target, base, f"sync batches of {args.sync_size:,} (profiled)")
            else:
                bench.ceiling(base, "bare insert (profiled)")
    print(f"profile: {out}")
    within = {"inspect": "post_scan", "lives": "post_scan", "sync": "sync", "ceiling": "bare"}[
        args.profile_only
    ]
    summarize_profile([str(out), "--busy", "--top", "60"])
    summarize_profile([str(out), "--within", within, "--top", "40"])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="medwaste-load-"))
    if args.profile_only:
        try:
            profile_only(args, workdir)
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        return 0
    print(f"medwaste load benchmark (wrk), work dir {workdir}; load average {os.getloadavg()}")
    backends: list[tuple[str, str | None]] = [] if args.no_sqlite else [("sqlite", None)]
    if not args.no_pg:
        backends.append(("postgresql", args.pg))
    report: list[str] = []
    try:
        for backend, url in backends:
            report += run_backend(backend, url, args, workdir)
            report.append("")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print("\n".join(report))
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL URL (fresh schemas)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--inspect-pool", type=int, default=200, help="containers inspected")
    parser.add_argument("--lives-rate", type=float, default=1500, help="scans/s to stock for")
    parser.add_argument("--sync-batches", type=int, default=5)
    parser.add_argument("--sync-size", type=int, default=1000)
    parser.add_argument("--sync-seconds", type=float, default=60, help="at most")
    parser.add_argument("--small-history", type=int, default=10_000)
    parser.add_argument("--large-history", type=int, default=1_000_000, help="0: skip")
    parser.add_argument(
        "--no-workers-check", dest="workers_check", action="store_false", help="skip 1 vs 2 workers"
    )
    parser.add_argument("--profile", metavar="PREFIX", help="py-spy raw profile per server")
    parser.add_argument(
        "--profile-only",
        choices=["inspect", "lives", "sync", "ceiling"],
        help="with --profile: run only this workload, profiled, and summarize the profile",
    )
    parser.add_argument(
        "--code-root",
        type=Path,
        help="another checkout (git archive <commit> | tar -x -C DIR) served on the same database"
        " and driven in turn with this one: inspect, lives and sync, each round",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (server logs)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
