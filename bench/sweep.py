"""Sweep benchmark: the sweep's time grows with open containers, not with history.

    python bench/sweep.py --containers 1000000 --open 100000 --events-per-container 3 [--pg URL]

Builds a store (SQLite file; PostgreSQL too with --pg or TEST_DATABASE_URL), runs the sweep,
then adds as much history again (closed containers and their events) and sweeps again.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from service.anomalies.models import Anomaly, AnomalyStep
from service.anomalies.profile import SHIPPED
from service.anomalies.sweep import run_sweep
from service.auth.models import User
from service.custody.models import Container, CustodyEvent
from service.db import make_engine, session_scope
from service.labels.signing import short_code
from service.migrate import upgrade
from service.organizations.models import Organization

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
STATES_OPEN = ["collected", "hospital_storage", "in_transit", "received"]


def build(
    url: str, closed: int, open_: int, per: int, orgs: list[uuid.UUID], user: uuid.UUID, offset: int
) -> None:
    engine = make_engine(url)
    rows, events = [], []
    for i in range(closed + open_):
        cid = f"b{offset + i:025d}"
        is_open = i >= closed
        state = STATES_OPEN[i % 4] if is_open else "disposed"
        since = NOW - timedelta(hours=(i % 96))
        rows.append(
            {
                "id": cid,
                "category": "infectious",
                "origin_organization_id": orgs[0],
                "state": state,
                "custodian_organization_id": orgs[i % 2 + 1]
                if state in ("in_transit", "received")
                else orgs[0],
                "holder_organization_id": orgs[2]
                if state == "received"
                else (orgs[1] if state == "in_transit" else orgs[0]),
                "batch_id": uuid.uuid4(),
                "label_key_id": "k",
                "short_code": short_code(cid),
                "created_at": since,
                "state_since": since,
                "stage_since": since,
                "last_seq": per,
                "last_hash": "0" * 64,
                "epidemic": False,
            }
        )
        actions = ["register", "collect", "pickup", "receive", "dispose"]
        for s in range(per):
            events.append(
                {
                    "container_id": cid,
                    "seq": s + 1,
                    "action": actions[s % 5],
                    "to_state": "collected",
                    "actor_user_id": user,
                    "custodian_after": orgs[0],
                    "occurred_at": since - timedelta(hours=per - s),
                    "recorded_at": since,
                    "prev_hash": "0" * 64,
                    "hash": uuid.uuid4().hex + uuid.uuid4().hex,
                }
            )
        if len(rows) >= 20000:
            _flush(engine, rows, events)
    _flush(engine, rows, events)
    engine.dispose()


def _flush(engine, rows, events) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        if rows:
            conn.execute(insert(Container), rows)
        if events:
            conn.execute(insert(CustodyEvent), events)
    rows.clear()
    events.clear()


def sweep_time(url: str, *, first: bool) -> tuple[float, int]:
    """One sweep's seconds and new findings. ``first``: with no anomaly stored yet, so every
    finding is inserted; otherwise a periodic sweep over what earlier sweeps already stored.
    Rolled back either way, so each measurement starts from the same store."""
    engine = make_engine(url)
    with session_scope(engine, write=True) as session:
        if first:
            session.execute(text("DELETE FROM anomaly"))
        started = time.perf_counter()
        report = run_sweep(session=session, now=NOW, profiles=SHIPPED)
        elapsed = time.perf_counter() - started
        session.rollback()
    engine.dispose()
    return elapsed, len(report.new)


def _store_anomalies(url: str) -> None:
    engine = make_engine(url)
    with session_scope(engine, write=True) as session:
        run_sweep(session=session, now=NOW, profiles=SHIPPED)
    engine.dispose()


def run(url: str, containers: int, open_: int, per: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine, write=True) as s:
        orgs = []
        for kind in ("hospital", "transporter", "disposal"):
            o = Organization(name=kind, kind=kind, jurisdiction="CN-15")
            s.add(o)
            s.flush()
            orgs.append(o.id)
        u = User(
            username=f"bench-{uuid.uuid4().hex[:6]}",
            password_hash="x",
            role="hospital_staff",
            organization_id=orgs[0],
        )
        s.add(u)
        s.flush()
        user = u.id
    engine.dispose()
    t = time.perf_counter()
    build(url, containers - open_, open_, per, orgs, user, 0)
    print(
        f"  built {containers} containers ({open_} open), {containers * per} events"
        f" in {time.perf_counter() - t:.1f}s"
    )
    _analyze(url)
    _report(url, f"history {containers} containers")
    build(url, containers, 0, per, orgs, user, containers)
    _analyze(url)
    _report(url, f"history {2 * containers} containers, same open set")


def _report(url: str, label: str) -> None:
    elapsed, found = sweep_time(url, first=True)
    print(f"  first sweep:    {elapsed:7.3f}s, {found} new findings  [{label}]")
    _store_anomalies(url)
    elapsed, found = sweep_time(url, first=False)
    print(f"  periodic sweep: {elapsed:7.3f}s, {found} new findings  [{label}]")
    # Leave the store without anomalies for the next build.
    engine = make_engine(url)
    with session_scope(engine, write=True) as session:
        session.execute(text("DELETE FROM anomaly"))
    engine.dispose()


def _analyze(url: str) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would give a live store."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--events-per-container", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    path = os.path.join(tempfile.mkdtemp(), "bench.db")
    print(f"SQLite {path}")
    run(f"sqlite:///{path}", args.containers, args.open, args.events_per_container)
    if args.pg:
        schema = f"bench_{uuid.uuid4().hex[:6]}"
        admin = make_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
        print(f"PostgreSQL schema {schema}")
        try:
            run(url, args.containers, args.open, args.events_per_container)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    _ = (Anomaly, AnomalyStep)


if __name__ == "__main__":
    main()
