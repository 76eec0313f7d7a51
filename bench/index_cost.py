"""What the reports' indexes on the container cost each scan.

    .venv/bin/python bench/index_cost.py                 # SQLite file in a temp dir
    .venv/bin/python bench/index_cost.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

A scan updates one container row: its state, holder, chain head and, for the actions that
begin or end a stage, one of its course columns. Two indexes exist for the reports only: the
covering index the figures read a period from (``ix_container_course``) and the index of the
containers still on their way (``ix_container_unsettled``). This loads ``--containers``
containers, then updates random ones the way the scans do (one transaction each, committed),
alternately with both indexes and without them, ``--rounds`` times, and prints the mean
microseconds per update of each and the difference.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy import insert, update
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database
from service.custody.models import Container
from service.db import make_engine
from service.migrate import upgrade
from service.organizations.models import Organization, OrgKind

START = datetime(2026, 1, 1, tzinfo=UTC)
REPORT_INDEXES = ("ix_container_course", "ix_container_unsettled")
_C = Container.__table__  # type: ignore[attr-defined]


def load(engine: Any, n: int, org: uuid.UUID) -> list[str]:
    ids = [uuid.uuid4().hex[:26] for _ in range(n)]
    with Progress() as progress:
        task = progress.add_task("containers", total=n)
        for i in range(0, n, 10_000):
            rows = [
                {
                    "id": cid,
                    "category": "infectious",
                    "origin_organization_id": org,
                    "state": "collected",
                    "custodian_organization_id": org,
                    "holder_organization_id": org,
                    "created_at": START,
                    "state_since": START,
                    "stage_since": START,
                    "batch_id": uuid.uuid4(),
                    "label_key_id": "bench",
                    "short_code": cid[:9].upper(),
                    "last_seq": 1,
                    "last_hash": "0" * 64,
                    "collect_us": 1_767_225_600_000_000,
                    "collect_kg": 2.0,
                }
                for cid in ids[i : i + 10_000]
            ]
            with engine.begin() as conn:
                conn.execute(insert(_C), rows)
            progress.advance(task, len(rows))
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return ids


def updates(engine: Any, ids: list[str], count: int, rng: random.Random) -> float:
    """Mean microseconds per committed one-row update, as a pickup scan makes it."""
    started = time.perf_counter()
    for _ in range(count):
        cid = rng.choice(ids)
        with engine.begin() as conn:
            conn.execute(
                update(_C)
                .where(_C.c.id == cid)
                .values(
                    state="in_transit",
                    pickup_us=_C.c.collect_us + rng.randrange(1, 10**11),
                    last_seq=_C.c.last_seq + 1,
                    last_hash=uuid.uuid4().hex * 2,
                )
            )
    return (time.perf_counter() - started) / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="PostgreSQL URL (a schema is made and dropped)")
    parser.add_argument("--containers", type=int, default=200_000)
    parser.add_argument("--updates", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rng = random.Random(10)
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(args.pg, Path(tmp), "index_cost") as url,
    ):
        os.environ.setdefault("MEDWASTE_DATA_DIR", tmp)
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            org = Organization(name="bench", kind=OrgKind.hospital, jurisdiction="CN-15")
            session.add(org)
            session.commit()
            org_id = org.id
        ids = load(engine, args.containers, org_id)
        with engine.connect() as conn:
            definitions = {
                name: conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = ?"
                    if engine.dialect.name == "sqlite"
                    else "SELECT indexdef FROM pg_indexes WHERE indexname = %s",
                    (name,),
                ).scalar_one()
                for name in REPORT_INDEXES
            }
        with_indexes: list[float] = []
        without: list[float] = []
        for _ in range(args.rounds):
            with_indexes.append(updates(engine, ids, args.updates, rng))
            with engine.begin() as conn:
                for name in REPORT_INDEXES:
                    conn.exec_driver_sql(f"DROP INDEX {name}")
            without.append(updates(engine, ids, args.updates, rng))
            with engine.begin() as conn:
                for sql in definitions.values():
                    conn.exec_driver_sql(sql)
        engine.dispose()
    load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    mean_with, mean_without = statistics.mean(with_indexes), statistics.mean(without)
    print(f"\n{url.split(':')[0]}, {args.containers:,} containers, load {load_avg}")
    print(f"update with the report indexes:    {mean_with:8.0f} µs  ({with_indexes})")
    print(f"update without them:               {mean_without:8.0f} µs  ({without})")
    print(f"what they add to a scan's update:  {mean_with - mean_without:8.0f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
