"""Trip tracks: what a position fix costs to store and judge, and what a stored one weighs.

    python -m bench.tracks --trips 20 --hours 2 [--pg URL]

Builds a region through the API (containers collected and picked up on one manifest per
vehicle), then plays each trip's phone: a batch of 20 fixes (10 minutes at one fix every 30 s)
per vehicle in turn, through ``record_points`` with the track rules as its hook, in a unit of
work of its own, as ``POST /mobile/v1/tracks`` does (the HTTP and token check around it are the
same as any phone call's and are left out). Then one 1,000-fix burst (a phone back from a
long offline stretch). Prints the cost per fix early and late in a trip (the rules read the
trip's whole track at each batch), the share of the rules, and the bytes a stored fix takes
(table and index) on each database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import select

from bench.common import fresh_database
from bench.region import PASSWORD, Region, build_region
from service.anomalies.track import on_track
from service.app import create_app
from service.auth.actor import Actor
from service.auth.models import User
from service.config import Settings
from service.db import make_engine, session_scope
from service.migrate import upgrade
from service.organizations.models import Organization
from service.tracks.service import record_points

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
BATCH = 20


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _trips(engine: Engine, region: Region, trips: int, clock: Clock) -> list[str]:
    """One manifest per vehicle with two containers picked up on it; their ids."""
    settings = Settings(
        data_dir=tempfile.mkdtemp(), sweep_interval_seconds=0, log_checkpoint_seconds=0
    )
    hospital = region.hospitals[0]
    manifests = []
    with TestClient(create_app(settings, engine=engine, clock=clock)) as client:
        staff = _login(client, hospital.users[0])
        driver = _login(client, region.transporter.users[0])
        for _ in range(trips):
            r = client.post(
                "/api/v1/containers",
                json={"count": 2, "category": "infectious", "site_id": str(hospital.site_id)},
                headers=staff,
            )
            r.raise_for_status()
            containers = r.json()["containers"]
            r = client.post(
                "/api/v1/manifests",
                json={
                    "origin_organization_id": str(hospital.organization_id),
                    "destination_organization_id": str(region.plant.organization_id),
                    "vehicle_plate": "蒙A00000",
                },
                headers=driver,
            )
            r.raise_for_status()
            manifest_id = r.json()["id"]
            for c in containers:
                for action, who, extra in (
                    ("collect", staff, {"weight_kg": 3.0}),
                    ("pickup", driver, {"manifest_id": manifest_id}),
                ):
                    scan = {
                        "qr_payload": c["qr_payload"],
                        "action": action,
                        "client_event_id": str(uuid.uuid4()),
                        "scanned_at": clock.now.isoformat(),
                        **extra,
                    }
                    client.post("/api/v1/scans", json=scan, headers=who).raise_for_status()
            manifests.append(manifest_id)
    return manifests


def _fixes(
    manifest_id: str, index: int, start: datetime, count: int, offset: int
) -> list[dict[str, Any]]:
    """``count`` fixes of a vehicle driving east of the hospital, one every 30 s."""
    lat = 40.8426 + 0.001 * index
    return [
        {
            "manifest_id": manifest_id,
            "recorded_at": (start + timedelta(seconds=30 * (offset + i))).isoformat(),
            "latitude": lat,
            "longitude": 111.7490 + 0.002 * (offset + i),
            "accuracy_m": 12.0,
        }
        for i in range(count)
    ]


def _batch(engine: Engine, actor: Actor, points: list[dict[str, Any]], hook: bool) -> float:
    began = time.perf_counter()
    with session_scope(engine, write=True) as session:
        recorded = record_points(
            session=session,
            actor=actor,
            device_id="bench-phone",
            points=points,
            now=START + timedelta(days=1),
            on_points=on_track if hook else None,
        )
    took = time.perf_counter() - began
    assert all(r["status"] == "created" for r in recorded.results), recorded.results[:1]
    return took


def _bytes_per_fix(engine: Engine) -> float:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM track_point")).scalar_one()
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE track_point"))
            size = conn.execute(text("SELECT pg_total_relation_size('track_point')")).scalar_one()
        else:
            size = conn.execute(
                text(
                    "SELECT sum(pgsize) FROM dbstat WHERE name IN ('track_point', "
                    "'sqlite_autoindex_track_point_1')"
                )
            ).scalar_one()
    return float(size) / rows


def run(url: str, trips: int, hours: float) -> None:
    upgrade(url)
    engine = make_engine(url)
    clock = Clock()
    with session_scope(engine, write=True) as session:
        region = build_region(session=session, hospitals=1, users_per_role=1)
    manifests = _trips(engine, region, trips, clock)
    with session_scope(engine) as session:
        driver = session.exec(
            select(User).where(User.username == region.transporter.users[0])
        ).one()
        actor = Actor.of(driver, session.get(Organization, region.transporter.organization_id))
    batches = int(hours * 120 / BATCH)
    early: list[float] = []
    late: list[float] = []
    bare: list[float] = []
    for b in range(batches):
        for i, manifest_id in enumerate(manifests):
            points = _fixes(manifest_id, i, START + timedelta(minutes=1), BATCH, b * BATCH)
            took = _batch(engine, actor, points, hook=True)
            quarter = max(1, batches // 4)
            (early if b < quarter else late if b >= batches - quarter else []).append(took)
    # The same batches without the rules, on fresh fixes (later in time) of the same trips.
    for i, manifest_id in enumerate(manifests):
        points = _fixes(manifest_id, i, START + timedelta(minutes=1), BATCH, batches * BATCH)
        bare.append(_batch(engine, actor, points, hook=False))
    stored = batches * BATCH
    burst_points = _fixes(manifests[0], 0, START + timedelta(minutes=1), 1000, stored + BATCH)
    burst = _batch(engine, actor, burst_points, hook=True)
    per = 1000 / BATCH
    print(f"{engine.dialect.name}: {trips} trips x {stored} fixes ({hours:g} h at 30 s)")
    print(
        f"  batch of {BATCH} with the rules, first quarter of the trip: "
        f"median {statistics.median(early) * 1000:.1f} ms = "
        f"{statistics.median(early) * per:.2f} ms per fix"
    )
    print(
        f"  batch of {BATCH} with the rules, last quarter ({stored * 3 // 4}+ fixes stored): "
        f"median {statistics.median(late) * 1000:.1f} ms = "
        f"{statistics.median(late) * per:.2f} ms per fix"
    )
    print(
        f"  batch of {BATCH} without the rules (insert only), {stored} fixes stored: "
        f"median {statistics.median(bare) * 1000:.1f} ms = "
        f"{statistics.median(bare) * per:.2f} ms per fix"
    )
    print(f"  burst of 1000 fixes with the rules: {burst * 1000:.0f} ms")
    print(f"  stored fix, table and unique index: {_bytes_per_fix(engine):.0f} bytes")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trips", type=int, default=20)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for pg in (None, args.pg) if args.pg else (None,):
            with fresh_database(pg, Path(tmp), "tracks") as url:
                run(url, args.trips, args.hours)


if __name__ == "__main__":
    main()
