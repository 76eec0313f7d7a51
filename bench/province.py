"""A province to measure the regulators' figures against, and the figures' cost on it.

    .venv/bin/python bench/province.py                          # SQLite, 1,000,000 containers
    .venv/bin/python bench/province.py --containers 100000      # a smaller province
    .venv/bin/python bench/province.py --dashboard              # and the dashboard, timed
    .venv/bin/python bench/province.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

Builds, in a fresh database (a SQLite file in a temp dir, or a PostgreSQL schema dropped at the
end): 12 cities of Inner Mongolia with about 300 organizations (hospitals, transporters,
disposal plants) through the service's own functions, then bulk-loads a year of containers,
six events each (register, collect, store, pickup, receive, dispose; the last days' containers
are still on their way) with the course the scans keep on each container, stays drawn from
skewed distributions so that some storage and disposal run late, and the anomalies those late
stays raise. The filler's hashes are random (its chains do not verify): the figures read times,
weights and states, not hashes.

``--copies 10`` then copies the containers and anomalies in SQL (new ids; events are not
copied, the figures do not read them): a province of ten times the size in minutes.

Then it times, in-process (the service functions the routes call, no HTTP), the region figures
(`GET /api/v1/reports/region`) and the compliance report of the largest hospital, for a year
and for a month, three ways: from the database alone, as the first request of a server process
(nothing kept yet: the sums over settled containers are added up), and as the next requests
(best of ``--runs``; what a server answers once it has kept them, which it does when it
starts). It checks the three answers are equal and prints the wall seconds, this process's CPU
seconds and the load average, with the target (< 1 s each).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from sqlalchemy import create_engine, insert, text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_server, fresh_database
from bench.dashboard import print_views, time_region_view
from bench.history import _adapted, _analyze
from schemas.organizations import OrganizationCreate, SiteCreate
from service.anomalies.models import Anomaly
from service.anomalies.profile import SHIPPED
from service.auth.actor import Actor
from service.auth.roles import Role
from service.auth.service import create_user
from service.custody.course import WEIGHED_ACTIONS, at_column, kg_column, to_us
from service.custody.models import Container, CustodyEvent
from service.labels.signing import short_code
from service.migrate import upgrade
from service.organizations.models import Organization, OrgKind
from service.organizations.service import add_site, create_organization
from service.reports.region import region_figures
from service.reports.service import compliance_report
from service.reports.settled import SettledFigures

JURISDICTION = "CN-15"
CITIES = {
    "呼和浩特 Hohhot": (40.84, 111.75),
    "包头 Baotou": (40.66, 109.84),
    "乌海 Wuhai": (39.65, 106.79),
    "赤峰 Chifeng": (42.26, 118.89),
    "通辽 Tongliao": (43.65, 122.24),
    "鄂尔多斯 Ordos": (39.61, 109.78),
    "呼伦贝尔 Hulunbuir": (49.21, 119.77),
    "巴彦淖尔 Bayannur": (40.74, 107.39),
    "乌兰察布 Ulanqab": (41.00, 113.13),
    "兴安盟 Hinggan": (46.08, 122.07),
    "锡林郭勒 Xilingol": (43.93, 116.09),
    "阿拉善 Alxa": (38.85, 105.73),
}
PER_CITY = {OrgKind.hospital: 21, OrgKind.transporter: 3, OrgKind.disposal: 1}
CATEGORIES = ["infectious", "infectious", "infectious", "sharps", "pathological", "chemical"]
LIFE = (
    ("register", None, "labelled"),
    ("collect", "labelled", "collected"),
    ("store", "collected", "hospital_storage"),
    ("pickup", "hospital_storage", "in_transit"),
    ("receive", "in_transit", "received"),
    ("dispose", "received", "disposed"),
)
CHUNK = 5_000
TARGET_SECONDS = 1.0


@dataclass(frozen=True)
class City:
    hospitals: list[tuple[uuid.UUID, uuid.UUID]]  # (organization, site)
    transporters: list[uuid.UUID]
    plant: tuple[uuid.UUID, uuid.UUID]


@dataclass(frozen=True)
class Province:
    cities: list[City]
    regulator: Actor
    regulator_username: str
    organizations: int


def build_organizations(session: Session) -> Province:
    """The province's organizations and sites, through the service's functions."""
    cities: list[City] = []
    count = 0
    for c, (name, (lat, lon)) in enumerate(CITIES.items()):
        places: dict[OrgKind, list[tuple[uuid.UUID, uuid.UUID]]] = {k: [] for k in PER_CITY}
        for kind, n in PER_CITY.items():
            for i in range(n):
                licensed = kind is not OrgKind.hospital
                org = create_organization(
                    session=session,
                    request=OrganizationCreate(
                        name=f"{name} {kind.value} {i + 1}",
                        kind=kind,
                        jurisdiction=JURISDICTION,
                        license_number=f"NM-{c:02d}-{kind.value[:3]}-{i}" if licensed else None,
                        license_expires=date(2030, 1, 1) if licensed else None,
                        licensed_categories=sorted(set(CATEGORIES)) if licensed else [],
                    ),
                    profile_exists=SHIPPED.exists,
                )
                angle, r = 2 * math.pi * i / n, 0.02 + 0.01 * (i % 5)
                site = add_site(
                    session=session,
                    organization_id=org.id,
                    request=SiteCreate(
                        name=f"{org.name} site",
                        latitude=lat + r * math.sin(angle),
                        longitude=lon + r * math.cos(angle),
                        radius_m=500.0,
                    ),
                )
                places[kind].append((org.id, site.id))
                count += 1
        cities.append(
            City(
                hospitals=places[OrgKind.hospital],
                transporters=[o for o, _ in places[OrgKind.transporter]],
                plant=places[OrgKind.disposal][0],
            )
        )
    regulator_org = create_organization(
        session=session,
        request=OrganizationCreate(
            name="内蒙古自治区生态环境厅", kind=OrgKind.regulator, jurisdiction=JURISDICTION
        ),
        profile_exists=SHIPPED.exists,
    )
    user = create_user(
        session=session,
        username=f"province-regulator-{uuid.uuid4().hex[:6]}",
        password=REGULATOR_PASSWORD,
        role=Role.regulator,
        organization_id=regulator_org.id,
    )
    return Province(cities, Actor.of(user, regulator_org), user.username, count + 1)


def _hours(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def _life(
    rng: random.Random, city: City, born: datetime, now: datetime, actor: uuid.UUID
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    hospital, hospital_site = city.hospitals[int(rng.paretovariate(1.2)) % len(city.hospitals)]
    transporter = rng.choice(city.transporters)
    plant, plant_site = city.plant
    cid = uuid.uuid4().hex[:20]
    weight = round(rng.uniform(0.5, 9.5), 2)
    stays = [
        rng.uniform(0, 2),  # labelled until collected
        rng.uniform(0, 1),  # collected until stored
        _hours(rng, 16, 0.55),  # hospital storage: a few per cent beyond 48 h
        _hours(rng, 2.5, 0.5),  # on the road
        _hours(rng, 10, 0.7),  # at the plant until disposed
    ]
    at, prev = born, "0" * 64
    events: list[dict[str, Any]] = []
    custodian = hospital
    for seq, (action, before, after) in enumerate(LIFE, start=1):
        if seq > 1:
            at += timedelta(hours=stays[seq - 2])
        if at > now:
            break
        by = hospital if seq <= 3 else transporter if seq == 4 else plant
        custodian_after = hospital if seq <= 3 else transporter if seq == 4 else plant
        digest = os.urandom(32).hex()
        events.append(
            {
                "container_id": cid,
                "seq": seq,
                "action": action,
                "from_state": before,
                "to_state": after,
                "actor_user_id": actor,
                "actor_organization_id": by,
                "custodian_before": None if seq == 1 else custodian,
                "custodian_after": custodian_after,
                "site_id": hospital_site if seq <= 3 else plant_site if seq >= 5 else None,
                "weight_kg": weight
                if action == "collect"
                else round(weight * rng.uniform(0.97, 1.005), 2)
                if action == "receive"
                else None,
                "method": "incineration" if action == "dispose" else None,
                "occurred_at": at,
                "client_time": at,
                "recorded_at": at,
                "client_event_id": None if seq == 1 else uuid.uuid4().hex,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev, custodian = digest, custodian_after
    last = events[-1]
    epidemic = rng.random() < 0.02
    course = {
        column: value
        for action in ("collect", "pickup", "receive", "dispose")
        for column, value in _marks(events, action).items()
    }
    container = {
        "id": cid,
        "category": rng.choice(CATEGORIES),
        "origin_organization_id": hospital,
        "origin_site_id": hospital_site,
        "department": None,
        "epidemic": epidemic,
        "state": last["to_state"],
        "custodian_organization_id": last["custodian_after"],
        "holder_organization_id": last["custodian_after"],
        "batch_id": uuid.uuid4(),
        "label_key_id": "province",
        "short_code": short_code(cid),
        "created_at": born,
        "state_since": last["occurred_at"],
        "stage_since": last["occurred_at"],
        "last_seq": len(events),
        "last_hash": prev,
        "last_event_at": last["occurred_at"],
        **course,
    }
    anomalies = []
    for kind, stay, limit, org, ends in (
        ("storage_overdue", stays[2], 48, hospital, 4),
        ("disposal_overdue", stays[4], 48, plant, 6),
    ):
        if stay > limit and len(events) >= ends:
            detected: datetime = events[ends - 1]["occurred_at"]
            anomalies.append(
                {
                    "id": uuid.uuid4(),
                    "kind": kind,
                    "severity": "warning",
                    "container_id": cid,
                    "organization_id": org,
                    "jurisdiction": JURISDICTION,
                    "rule": "province filler",
                    "threshold": f"> {limit} h",
                    "facts": {"elapsed_hours": round(stay, 1)},
                    "dedupe_key": f"{kind}:{cid}",
                    "status": "open" if detected > now - timedelta(days=7) else "resolved",
                    "detected_at": detected,
                    "updated_at": detected,
                }
            )
    return container, events, anomalies


def _marks(events: list[dict[str, Any]], action: str) -> dict[str, Any]:
    """The container's course columns for ``action`` (service.custody.course), as the scans
    would have set them."""
    event = next((e for e in events if e["action"] == action), None)
    marks = {at_column(action): to_us(event["occurred_at"]) if event else None}
    if action in WEIGHED_ACTIONS:
        marks[kg_column(action)] = event["weight_kg"] if event else None
    return marks


def load_containers(
    engine: Any, province: Province, containers: int, days: int, now: datetime, seed: int
) -> tuple[int, int, int]:
    rng = random.Random(seed)
    start = now - timedelta(days=days)
    span = (now - start).total_seconds()
    n_events = n_anomalies = 0
    actor = province.regulator.user_id  # the filler's actor: any existing user
    columns = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with columns as progress:
        task = progress.add_task("containers", total=containers)
        for done in range(0, containers, CHUNK):
            size = min(CHUNK, containers - done)
            rows_c, rows_e, rows_a = [], [], []
            for n in range(size):
                born = start + timedelta(seconds=span * (done + n) / containers)
                city = province.cities[rng.randrange(len(province.cities))]
                c, e, a = _life(rng, city, born, now, actor)
                rows_c.append(c)
                rows_e.extend(e)
                rows_a.extend(a)
            _write(engine, rows_c, rows_e, rows_a)
            n_events += len(rows_e)
            n_anomalies += len(rows_a)
            progress.advance(task, size)
    _analyze(engine)
    return containers, n_events, n_anomalies


def _write(engine: Any, containers: list[Any], events: list[Any], anomalies: list[Any]) -> None:
    tables = [("container", containers), ("custody_event", events), ("anomaly", anomalies)]
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for table, rows in tables:
                if not rows:
                    continue
                names = list(rows[0])
                with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in _adapted(rows, names):
                        copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    models = {"container": Container, "custody_event": CustodyEvent, "anomaly": Anomaly}
    with engine.begin() as conn:
        for table, rows in tables:
            if rows:
                conn.execute(insert(models[table].__table__), rows)  # type: ignore[attr-defined]


def copy_containers(engine: Any, copies: int) -> None:
    """Copy every container and anomaly ``copies - 1`` times under new ids (``<id>-<k>``):
    the figures read containers and anomalies, not events, so a copied province costs them
    what a loaded one of that size would."""
    tables = {
        "container": [c.name for c in Container.__table__.columns],  # type: ignore[attr-defined]
        "anomaly": [c.name for c in Anomaly.__table__.columns],  # type: ignore[attr-defined]
    }
    renamed = {
        "container": {"id": "t.id || '-' || k.k"},
        "anomaly": {
            "id": "gen_random_uuid()"
            if engine.dialect.name == "postgresql"
            else "lower(hex(randomblob(16)))",
            "container_id": "t.container_id || '-' || k.k",
            "dedupe_key": "t.dedupe_key || '-' || k.k",
        },
    }
    ks = ", ".join(f"({k})" for k in range(1, copies))
    with engine.begin() as conn:
        for table, columns in tables.items():
            values = ", ".join(renamed[table].get(c, f"t.{c}") for c in columns)
            conn.exec_driver_sql(
                f"WITH k(k) AS (VALUES {ks}) INSERT INTO {table} ({', '.join(columns)}) "
                f"SELECT {values} FROM {table} t, k"
            )
    _analyze(engine)


def best_of(runs: int, fn: Any) -> tuple[float, float, Any]:
    """The best wall time of ``runs`` calls, the CPU time this process spent in that call
    (on SQLite the query runs in this process; on PostgreSQL in the server), and the result."""
    best, cpu, result = math.inf, math.inf, None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall = time.perf_counter() - started
        if wall < best:
            best, cpu = wall, time.process_time() - started_cpu
    return best, cpu, result


REGULATOR_PASSWORD = "province-Passw0rd-long"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="PostgreSQL URL (a schema is made and dropped)")
    parser.add_argument("--containers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--copies",
        type=int,
        default=1,
        help="then copy the loaded containers and anomalies (not the events) in SQL until "
        "there are this many times as many: a large province in minutes",
    )
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="also serve the province and time the dashboard's region view in Chromium "
        "(bench/dashboard.py)",
    )
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(args.pg, Path(tmp), "province") as url,
    ):
        os.environ.setdefault("MEDWASTE_DATA_DIR", tmp)
        engine = create_engine(url)
        upgrade(url)
        with Session(engine) as session:
            province = build_organizations(session)
            session.commit()
        started = time.perf_counter()
        n, events, anomalies = load_containers(
            engine, province, args.containers, args.days, now, args.seed
        )
        if args.copies > 1:
            copy_containers(engine, args.copies)
            n, anomalies = n * args.copies, anomalies * args.copies
        loaded = time.perf_counter() - started
        backend = engine.dialect.name
        print(
            f"\n{backend}: {province.organizations} organizations in {len(CITIES)} cities, "
            f"{n:,} containers, {events:,} events, {anomalies:,} anomalies "
            f"loaded in {loaded:.0f} s"
        )
        with Session(engine) as session:
            largest = session.execute(
                text(
                    "SELECT origin_organization_id, count(*) AS n FROM container "
                    "GROUP BY origin_organization_id ORDER BY n DESC LIMIT 1"
                )
            ).one()[0]
            largest_id = uuid.UUID(str(largest))
            hospital = session.get(Organization, largest_id)
            assert hospital is not None
            print(f"largest hospital: {hospital.name}")
            rows = []
            for label, period in (("year", timedelta(days=args.days)), ("month", timedelta(30))):
                since = now - period

                def region(settled: SettledFigures | None) -> Any:
                    return region_figures(
                        session=session,
                        actor=province.regulator,
                        period_from=since,  # noqa: B023 (called at once, inside the loop)
                        period_to=now,
                        now=now,
                        profiles=SHIPPED,
                        settled=settled,
                    )

                def report(settled: SettledFigures | None) -> Any:
                    return compliance_report(
                        session=session,
                        actor=province.regulator,
                        organization_id=largest_id,
                        period_from=since,  # noqa: B023 (called at once, inside the loop)
                        period_to=now,
                        now=now,
                        profiles=SHIPPED,
                        settled=settled,
                    )

                for name, figure in (("region figures", region), ("compliance report", report)):
                    alone, _, expected = best_of(1, lambda f=figure: f(None))
                    kept = SettledFigures()  # as a server process starts: nothing kept
                    first, _, answer = best_of(1, lambda f=figure, k=kept: f(k))
                    then, cpu, again = best_of(args.runs, lambda f=figure, k=kept: f(k))
                    assert answer == expected and again == expected, "kept sums differ"
                    rows.append(
                        (f"{name}, {label}", alone, first, then, cpu, f"{expected.containers:,}")
                    )
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"\nload average {load} on {os.cpu_count()} cores; seconds: from the database")
        print("alone, the first request of a process (nothing kept yet), the next (best of runs)")
        print(
            f"{'figure':28} {'alone':>7} {'first':>7} {'next':>7} {'CPU s':>7} {'containers':>11}"
            f"  target < {TARGET_SECONDS:g} s"
        )
        for name, alone, first, then, cpu, count in rows:
            verdict = "met" if then < TARGET_SECONDS else "NOT MET"
            print(
                f"{name:28} {alone:7.2f} {first:7.2f} {then:7.2f} {cpu:7.2f} {count:>11}  {verdict}"
            )
        engine.dispose()
        if args.dashboard:
            with bench_server(url, Path(tmp), Path(tmp) / "server.log") as base:
                views = time_region_view(
                    base, province.regulator_username, REGULATOR_PASSWORD, args.runs
                )
            print_views(views)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
