"""Filler history: many finished containers and their events, bulk-inserted straight into the
database so that the indexes a scan touches are as deep as a busy region's after years.

The filler rows are NOT valid custody records: their ``hash`` and ``prev_hash`` are random
(chained, unique) values, not hashes of their content, so their chains do not verify. They
exist only for index depth. Load them before the server starts (it holds no caches of them,
but the comparison is cleaner that way).

SQLite gets chunked ``executemany`` through SQLAlchemy Core; PostgreSQL gets ``COPY``.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

from bench.region import Region
from service.custody.models import Container, CustodyEvent, ScanReceipt
from service.labels.signing import short_code

# register, collect, pickup, receive, dispose: a whole life.
LIFE = (
    ("register", None, "labelled"),
    ("collect", "labelled", "collected"),
    ("pickup", "collected", "in_transit"),
    ("receive", "in_transit", "received"),
    ("dispose", "received", "disposed"),
)
CHUNK_CONTAINERS = 2_000


@dataclass(frozen=True)
class Loaded:
    containers: int
    events: int
    receipts: int
    seconds: float


def count_events(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one())


def _random_id() -> str:
    return base64.b32encode(os.urandom(16)).decode().rstrip("=").lower()


def _chunk(
    region: Region,
    actors: dict[uuid.UUID, uuid.UUID],
    n_containers: int,
    start: datetime,
    index: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for ``n_containers`` finished containers (Python values, as the models hold)."""
    containers: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    receipts: list[dict[str, Any]] = []
    batch_id = uuid.uuid4()
    plant = region.plant
    for n in range(n_containers):
        hospital = region.hospitals[(index + n) % len(region.hospitals)]
        cid = _random_id()
        born = start + timedelta(seconds=30 * n)
        prev = "0" * 64
        custodian = hospital.organization_id
        for seq, (action, from_state, to_state) in enumerate(LIFE, start=1):
            at = born + timedelta(hours=6 * (seq - 1))
            by_hospital = seq <= 2
            actor_org = (
                hospital.organization_id
                if by_hospital
                else (region.transporter.organization_id if seq == 3 else plant.organization_id)
            )
            after = plant.organization_id if seq >= 4 else custodian
            digest = os.urandom(32).hex()
            ceid = None if seq == 1 else uuid.uuid4().hex
            events.append(
                {
                    "container_id": cid,
                    "seq": seq,
                    "action": action,
                    "from_state": from_state,
                    "to_state": to_state,
                    "actor_user_id": actors[actor_org],
                    "actor_organization_id": actor_org,
                    "custodian_before": None if seq == 1 else custodian,
                    "custodian_after": after,
                    "site_id": hospital.site_id if by_hospital else plant.site_id,
                    "weight_kg": None if seq in (1, 5) else 4.2,
                    "method": "incineration" if action == "dispose" else None,
                    "occurred_at": at,
                    "client_time": None if seq == 1 else at,
                    "recorded_at": at,
                    "client_event_id": ceid,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            if ceid is not None:
                receipts.append(
                    {
                        "client_event_id": ceid,
                        "user_id": actors[actor_org],
                        "status_code": 201,
                        "body": {"filler": True},
                        "created_at": at,
                    }
                )
            prev, custodian = digest, after
        containers.append(
            {
                "id": cid,
                "category": "infectious",
                "origin_organization_id": hospital.organization_id,
                "origin_site_id": hospital.site_id,
                "department": "filler",
                "epidemic": False,
                "state": "disposed",
                "custodian_organization_id": plant.organization_id,
                "holder_organization_id": plant.organization_id,
                "batch_id": batch_id,
                "label_key_id": "filler",
                "short_code": short_code(cid),
                "created_at": born,
                "state_since": born + timedelta(hours=24),
                "stage_since": born + timedelta(hours=22),
                "last_seq": len(LIFE),
                "last_hash": prev,
                "last_event_at": born + timedelta(hours=24),
            }
        )
    return containers, events, receipts


def load_history(
    engine: Engine, region: Region, user_ids: dict[str, uuid.UUID], events: int
) -> Loaded:
    """Add about ``events`` filler events (whole lives of 5 events; receipts for the 4 scans).

    ``user_ids`` maps usernames to ids: each organization's first user is the filler's actor.
    """
    started = time.perf_counter()
    actors = {
        place.organization_id: user_ids[place.users[0]]
        for place in [*region.hospitals, region.transporter, region.plant]
    }
    total = max(0, events // len(LIFE))
    start = datetime.now(UTC) - timedelta(days=400)
    done = n_events = n_receipts = 0
    while done < total:
        size = min(CHUNK_CONTAINERS, total - done)
        containers, rows, receipts = _chunk(
            region, actors, size, start + timedelta(days=done / 500), done
        )
        if engine.dialect.name == "postgresql":
            _copy(engine, containers, rows, receipts)
        else:
            with engine.begin() as conn:
                conn.execute(insert(Container.__table__), containers)  # type: ignore[attr-defined]
                conn.execute(insert(CustodyEvent.__table__), rows)  # type: ignore[attr-defined]
                conn.execute(insert(ScanReceipt.__table__), receipts)  # type: ignore[attr-defined]
        done += size
        n_events += len(rows)
        n_receipts += len(receipts)
    _analyze(engine)
    return Loaded(done, n_events, n_receipts, time.perf_counter() - started)


def _analyze(engine: Engine) -> None:
    """Fresh planner statistics, as a live database's autovacuum would have them."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("container", "custody_event", "scan_receipt"):
            conn.exec_driver_sql(f"ANALYZE {table}")


def _copy(
    engine: Engine,
    containers: list[dict[str, Any]],
    events: list[dict[str, Any]],
    receipts: list[dict[str, Any]],
) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, rows in (
            ("container", containers),
            ("custody_event", events),
            ("scan_receipt", receipts),
        ):
            columns = list(rows[0])
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(statement) as copy:  # type: ignore[attr-defined]
                for row in _adapted(rows, columns):
                    copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def _adapted(rows: list[dict[str, Any]], columns: list[str]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield tuple(Jsonb(v) if isinstance(v, dict) else v for v in (row[c] for c in columns))
