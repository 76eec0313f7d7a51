"""What the anomaly rules add to a scan: the same whole lives with the rules on and off.

    python bench/rules_overhead.py [--lives 300] [--rounds 3] [--pg URL]

Runs in-process (no HTTP, one thread) through the service functions a request calls, each scan
in its own committed transaction, alternating rounds with the per-scan rules on and off so that
both see the same machine. Prints per-scan latency both ways and the ratio (target: rules add
under 15 %).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script (python bench/rules_overhead.py): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, text
from sqlmodel import select

import service.scanning.service as scans
from bench.region import Region, build_region
from schemas.custody import ContainersCreate, ScanCreate
from schemas.manifests import ManifestCreate, SignatureCreate
from service.anomalies.profile import SHIPPED
from service.anomalies.receipt import on_manifest_received
from service.auth.actor import Actor
from service.auth.models import User
from service.auth.roles import Role
from service.config import Settings
from service.custody.containers import register_containers
from service.db import make_engine, session_scope
from service.labels.keys import KeyRing, load_signer
from service.manifests import service as manifests
from service.migrate import upgrade
from service.organizations.directory import Directory, attach
from service.organizations.models import Organization, OrgKind


def _actor(engine: Engine, username: str) -> Actor:
    with session_scope(engine) as s:
        user = s.exec(select(User).where(User.username == username)).one()
        org = s.get(Organization, user.organization_id)
        assert org is not None
        return Actor(
            user_id=user.id,
            username=user.username,
            role=Role(user.role),
            organization_id=org.id,
            organization_kind=OrgKind(org.kind),
            jurisdiction=org.jurisdiction,
        )


@contextmanager
def _rules(enabled: bool) -> Iterator[None]:
    """Swap the per-scan rules for no-ops (the scan path is otherwise unchanged)."""
    saved = scans.on_scan, scans.flag_refusal
    if not enabled:
        scans.on_scan = lambda *_a, **_k: []  # type: ignore[assignment]
        scans.flag_refusal = lambda *_a, **_k: []  # type: ignore[assignment]
    try:
        yield
    finally:
        scans.on_scan, scans.flag_refusal = saved


def _lives(engine: Engine, region: Region, settings: Settings, lives: int) -> list[float]:
    """Whole lives (collect, pickup, receive, dispose); returns each scan's seconds."""
    hospital = region.hospitals[0]
    staff = _actor(engine, hospital.users[0])
    driver = _actor(engine, region.transporter.users[0])
    plant = _actor(engine, region.plant.users[0])
    ring = KeyRing()
    # The organizations and sites remembered between scans, as the server's auth dependency
    # attaches them to each request's session.
    memory = Directory()
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
        trip = manifests.create_manifest(
            session=s,
            actor=driver,
            request=ManifestCreate(
                origin_organization_id=hospital.organization_id,
                destination_organization_id=region.plant.organization_id,
                vehicle_plate="蒙A·B0001",
            ),
            now=now,
        )
        trip_id = trip.id
    took: list[float] = []

    def scan(actor: Actor, payload: str, action: str, at: datetime, **extra: Any) -> None:
        body = ScanCreate(
            qr_payload=payload,
            action=action,
            client_event_id=str(uuid.uuid4()),
            scanned_at=at,
            **extra,
        )
        start = time.perf_counter()
        with session_scope(engine, write=True) as s:
            attach(s, memory)
            scans.submit_scan(
                profiles=SHIPPED,
                session=s,
                actor=actor,
                scan=body,
                public_keys=ring.view(s),
                now=at,
            )
        took.append(time.perf_counter() - start)

    def sign(actor: Actor, party: str, at: datetime) -> None:
        with session_scope(engine, write=True) as s:
            manifests.sign_manifest(
                session=s,
                actor=actor,
                manifest_id=trip_id,
                request=SignatureCreate(party=party, printed_name="bench"),
                now=at,
                on_received=on_manifest_received,
            )

    h, p = hospital, region.plant
    for payload in payloads:
        scan(staff, payload, "collect", now, weight_kg=3.0, site_id=h.site_id)
    for payload in payloads:
        scan(
            driver,
            payload,
            "pickup",
            now + timedelta(hours=1),
            manifest_id=trip_id,
            latitude=h.latitude,
            longitude=h.longitude,
        )
    sign(staff, "origin", now + timedelta(hours=1))
    sign(driver, "transporter", now + timedelta(hours=1))
    for payload in payloads:
        scan(
            plant,
            payload,
            "receive",
            now + timedelta(hours=2),
            weight_kg=3.0,
            site_id=p.site_id,
            latitude=p.latitude,
            longitude=p.longitude,
        )
    for payload in payloads:
        scan(plant, payload, "dispose", now + timedelta(hours=3), method="incineration")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lives", type=int, default=300, help="containers per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds each way, alternating")
    parser.add_argument("--pg", help="PostgreSQL URL (a fresh schema is used and dropped)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="medwaste-rules-")
    schema = None
    if args.pg:
        schema = f"bench_rules_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{work}/rules.db"
    try:
        upgrade(url)
        engine = make_engine(url)
        settings = Settings(data_dir=work, sweep_interval_seconds=0)
        with session_scope(engine, write=True) as s:
            region = build_region(session=s, hospitals=1, users_per_role=1)
        samples: dict[bool, list[float]] = {True: [], False: []}
        runs: list[Callable[[], None]] = []
        for _ in range(args.rounds):
            for enabled in (True, False):

                def run(enabled: bool = enabled) -> None:
                    with _rules(enabled):
                        samples[enabled] += _lives(engine, region, settings, args.lives)

                runs.append(run)
        for i, run in enumerate(runs, 1):
            run()
            print(f"  round {i}/{len(runs)} done", flush=True)
        engine.dispose()
    finally:
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    def ms(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1] * 1000

    on, off = samples[True], samples[False]
    backend = "postgresql" if args.pg else "sqlite"
    print(f"\nscan latency in-process on {backend}, {len(on)} scans each way")
    print(f"{'':12}{'mean ms':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for label, values in (("rules on", on), ("rules off", off)):
        print(
            f"{label:12}{statistics.mean(values) * 1000:10.2f}{ms(values, 50):10.2f}"
            f"{ms(values, 99):10.2f}"
        )
    added = statistics.mean(on) / statistics.mean(off) - 1
    verdict = "met" if added < 0.15 else "NOT MET"
    print(f"rules add {added * 100:.1f} % to a scan's mean latency (target < 15 %): {verdict}")


if __name__ == "__main__":
    main()
