"""What the transparency log adds to a scan: the same whole lives with the log on and off.

    python bench/log_overhead.py [--lives 200] [--rounds 3] [--threads 1] [--pg URL]

Runs in-process through the service functions a request calls (``submit_scan``, then, as the
scan route does, the event's log index), each scan in its own committed transaction. Two
databases side by side, one with the log as shipped and one without it (the database trigger
that appends events to the log dropped, no index lookup): the same scan goes to one and then
the other, in alternating order, so that both see the same moment of a busy machine. After
each round the checkpoint issuer integrates the round's leaves into the tiles and signs a
checkpoint, as the server's background thread would; its time is reported per leaf and added
to the scan cost for a total.

With ``--threads K`` K lives run at once on each database in turn (one connection each): on
PostgreSQL this shows what serialising appends on the log's head row costs under concurrency
(throughput both ways). Target: the log adds under 10 % to a scan.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

import service.scanning.service as scans
from bench.region import Region, build_region
from bench.rules_overhead import _actor
from schemas.custody import ContainersCreate, ScanCreate
from schemas.manifests import ManifestCreate, SignatureCreate
from service.anomalies.profile import SHIPPED
from service.config import Settings
from service.custody.containers import register_containers
from service.db import make_engine, session_scope, utcnow
from service.labels.keys import KeyRing, load_signer
from service.manifests import service as manifests
from service.migrate import upgrade
from service.tlog import service as log
from service.tlog.keys import LogSigner, load_log_signer

TRIGGER = "custody_event_enters_log"


class Side:
    """One database: with the log as shipped, or without it."""

    def __init__(self, url: str, work: Path, *, with_log: bool, threads: int) -> None:
        upgrade(url)
        self.with_log = with_log
        self.engine = make_engine(url, pool_size=max(4, threads + 2))
        self.settings = Settings(data_dir=work, sweep_interval_seconds=0)
        if not with_log:
            with self.engine.begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    conn.execute(text(f"DROP TRIGGER {TRIGGER} ON custody_event"))
                else:
                    conn.execute(text(f"DROP TRIGGER {TRIGGER}"))
        with session_scope(self.engine, write=True) as s:
            self.regions = [
                build_region(session=s, hospitals=1, users_per_role=1) for _ in range(threads)
            ]
            self.log_signer: LogSigner = load_log_signer(session=s, settings=self.settings)
        self.took: list[float] = []
        self.walls: list[tuple[int, float]] = []
        self.integration: list[tuple[int, float]] = []

    def scan(self, actor: Any, ring: KeyRing, body: ScanCreate, at: datetime) -> float:
        start = time.perf_counter()
        with session_scope(self.engine, write=True) as s:
            answer = scans.submit_scan(
                profiles=SHIPPED,
                session=s,
                actor=actor,
                scan=body,
                public_keys=ring.view(s),
                now=at,
            )
            if self.with_log:  # as the scan route does: the answer names the log index
                log.with_log_indexes(s, [answer.body["event"]])
        return time.perf_counter() - start

    def issue(self) -> None:
        """The server's checkpoint issuer, after a round: integrate and sign."""
        if not self.with_log:
            return
        with session_scope(self.engine) as s:
            before = log.tree_state(s)[0]
        start = time.perf_counter()
        with session_scope(self.engine, write=True) as s:
            after = log.issue_checkpoint(s, signer=self.log_signer, now=utcnow()).tree_size
        self.integration.append((after - before, time.perf_counter() - start))


def _steps(side: Side, region: Region, lives: int) -> Iterator[Callable[[], float]]:
    """Whole lives (collect, pickup, receive, dispose) on one side: yields each scan, to be
    timed; the untimed work (registering, manifests, signatures) runs in between."""
    engine, settings = side.engine, side.settings
    hospital, plant = region.hospitals[0], region.plant
    staff = _actor(engine, hospital.users[0])
    driver = _actor(engine, region.transporter.users[0])
    operator = _actor(engine, plant.users[0])
    ring = KeyRing()
    now = datetime.now(UTC) - timedelta(hours=6)
    with session_scope(engine, write=True) as s:
        signer = load_signer(session=s, settings=settings)
        _, made = register_containers(
            session=s,
            actor=staff,
            signer=signer,
            request=ContainersCreate(count=lives, category="sharps", site_id=hospital.site_id),
            now=now,
        )
        payloads = [payload for _, payload in made]
        trip_id = manifests.create_manifest(
            session=s,
            actor=driver,
            request=ManifestCreate(
                origin_organization_id=hospital.organization_id,
                destination_organization_id=plant.organization_id,
                vehicle_plate="蒙A·B0001",
            ),
            now=now,
        ).id

    def scan(
        actor: Any, payload: str, action: str, at: datetime, **extra: Any
    ) -> Callable[[], float]:
        body = ScanCreate(
            qr_payload=payload,
            action=action,
            client_event_id=str(uuid.uuid4()),
            scanned_at=at,
            **extra,
        )
        return lambda: side.scan(actor, ring, body, at)

    def sign(actor: Any, party: str, at: datetime) -> None:
        with session_scope(engine, write=True) as s:
            manifests.sign_manifest(
                session=s,
                actor=actor,
                manifest_id=trip_id,
                request=SignatureCreate(party=party, printed_name="bench"),
                now=at,
            )

    for payload in payloads:
        yield scan(staff, payload, "collect", now, weight_kg=3.0, site_id=hospital.site_id)
    for payload in payloads:
        yield scan(
            driver,
            payload,
            "pickup",
            now + timedelta(hours=1),
            manifest_id=trip_id,
            latitude=hospital.latitude,
            longitude=hospital.longitude,
        )
    sign(staff, "origin", now + timedelta(hours=1))
    sign(driver, "transporter", now + timedelta(hours=1))
    for payload in payloads:
        yield scan(
            operator,
            payload,
            "receive",
            now + timedelta(hours=2),
            weight_kg=3.0,
            site_id=plant.site_id,
            latitude=plant.latitude,
            longitude=plant.longitude,
        )
    for payload in payloads:
        yield scan(operator, payload, "dispose", now + timedelta(hours=3), method="incineration")


def _paired_round(on: Side, off: Side, lives: int, flip: bool) -> None:
    """One round, scan by scan on both sides, the side that goes first alternating."""
    for i, (a, b) in enumerate(
        zip(_steps(on, on.regions[0], lives), _steps(off, off.regions[0], lives), strict=True)
    ):
        if (i + flip) % 2:
            off.took.append(b())
            on.took.append(a())
        else:
            on.took.append(a())
            off.took.append(b())


def _threaded_round(side: Side, lives: int) -> None:
    """K lives at once on one side; records latencies and the round's wall time."""
    results: list[list[float]] = [[] for _ in side.regions]

    def one(k: int) -> None:
        results[k] = [step() for step in _steps(side, side.regions[k], lives)]

    start = time.perf_counter()
    threads = [threading.Thread(target=one, args=(k,)) for k in range(len(side.regions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    took = [x for r in results for x in r]
    side.took += took
    side.walls.append((len(took), wall))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lives", type=int, default=200, help="containers per round and thread")
    parser.add_argument("--rounds", type=int, default=3, help="rounds")
    parser.add_argument("--threads", type=int, default=1, help="lives running at once")
    parser.add_argument("--pg", help="PostgreSQL URL (fresh schemas are used and dropped)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="medwaste-log-"))
    schemas: list[str] = []
    urls = []
    for name in ("on", "off"):
        if args.pg:
            schema = f"bench_log_{name}_{uuid.uuid4().hex[:8]}"
            admin = make_engine(args.pg)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            schemas.append(schema)
            urls.append(
                f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
            )
        else:
            urls.append(f"sqlite:///{work}/log-{name}.db")
    try:
        on = Side(urls[0], work / "on", with_log=True, threads=args.threads)
        off = Side(urls[1], work / "off", with_log=False, threads=args.threads)
        on.issue()
        for i in range(args.rounds):
            if args.threads == 1:
                _paired_round(on, off, args.lives, flip=bool(i % 2))
            else:
                first, second = (on, off) if i % 2 == 0 else (off, on)
                _threaded_round(first, args.lives)
                _threaded_round(second, args.lives)
            on.issue()
            print(f"  round {i + 1}/{args.rounds} done", flush=True)
        on.engine.dispose()
        off.engine.dispose()
    finally:
        if schemas:
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    _report(on, off, args)


def _report(on: Side, off: Side, args: argparse.Namespace) -> None:
    def ms(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    backend = "postgresql" if args.pg else "sqlite"
    mode = "scan by scan, alternating" if args.threads == 1 else f"{args.threads} threads"
    print(f"\nscan latency in-process on {backend} ({mode}), {len(on.took)} scans each way")
    print(f"{'':12}{'mean ms':>10}{'p50 ms':>10}{'p99 ms':>10}{'scans/s':>10}")
    for label, side in (("log on", on), ("log off", off)):
        rate = (
            f"{sum(n for n, _ in side.walls) / sum(w for _, w in side.walls):10.1f}"
            if side.walls
            else f"{'':>10}"
        )
        print(
            f"{label:12}{statistics.mean(side.took) * 1000:10.2f}{ms(side.took, 50):10.2f}"
            f"{ms(side.took, 99):10.2f}{rate}"
        )
    leaves = sum(n for n, _ in on.integration)
    spent = sum(s for _, s in on.integration)
    mean_on, mean_off = statistics.mean(on.took), statistics.mean(off.took)
    added = mean_on / mean_off - 1
    median_added = ms(on.took, 50) / ms(off.took, 50) - 1
    total = (mean_on + spent / len(on.took)) / mean_off - 1
    print(
        f"checkpoint issuer: {leaves} leaves integrated and signed in {spent * 1000:.0f} ms "
        f"({spent / max(leaves, 1) * 1e6:.0f} us per leaf, off the scan path)"
    )
    verdict = "met" if added < 0.10 else "NOT MET"
    print(f"the log adds {added * 100:.1f} % to a scan's mean latency (target < 10 %): {verdict}")
    print(f"  to the median: {median_added * 100:.1f} %")
    print(f"  with the issuer's work counted in too: {total * 100:.1f} %")
    if on.walls and off.walls:
        rate_on = sum(n for n, _ in on.walls) / sum(w for _, w in on.walls)
        rate_off = sum(n for n, _ in off.walls) / sum(w for _, w in off.walls)
        print(f"  throughput with {args.threads} threads: {(rate_on / rate_off - 1) * 100:+.1f} %")


if __name__ == "__main__":
    main()
