"""EPCIS capture: one 10,000-event EPCISDocument taken in, on a fresh SQLite file database.

    .venv/bin/python bench/epcis_capture.py                # 10,000 events (target < 10 s)
    .venv/bin/python bench/epcis_capture.py --events 3000

The document is what a hospital's own system sends: for each container, its commissioning,
collection (weighed, at the ward's site) and move to the hospital store; events of 3,334
containers. It is captured in-process by the same function the route calls
(``capture_document``: schema check of every event, mapping, the scan use case with its
custody checks and anomaly rules, one savepoint per event), in one transaction with the
process's directory of organizations and sites attached (as the route's auth dependency
attaches it), committed at the end. Printed: wall and CPU time of the capture (and the
commit), events per second, SQL statements per event, and how much of it is the scan use case
(``submit_scan``, timed by a wrapper around the function capture calls) rather than EPCIS's
own work. The machine's load average is printed too: wall times on a shared machine mean
little without it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event
from sqlmodel import (
    Session,
    select,
)

import service.epcis.capture as capture_module
from bench.region import build_region
from service.anomalies.profile import SHIPPED
from service.auth.actor import Actor
from service.auth.models import User
from service.auth.roles import Role
from service.custody.containers import new_container_id
from service.custody.machine import Action
from service.db import make_engine
from service.epcis.capture import capture_document
from service.epcis.identifiers import Namer
from service.epcis.mapping import CONTEXT, Facts, format_time, identified, object_event
from service.epcis.schema import event_is_valid
from service.labels.keys import LabelSigner
from service.labels.signing import generate_key
from service.migrate import upgrade
from service.organizations.directory import Directory, attach
from service.organizations.models import OrgKind

BASE = "https://medwaste.example.org"


def make_document(namer: Namer, site_uri: str, count: int, start: datetime) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    i = 0
    while len(events) < count:
        epc = namer.container(new_container_id(), None)
        at = start + timedelta(seconds=7 * i)
        steps = [
            Facts(Action.register, at, "+08:00", epc, site=site_uri, category="infectious"),
            Facts(
                Action.collect,
                at + timedelta(minutes=5),
                "+08:00",
                epc,
                site=site_uri,
                weight_kg=3.5 + i % 7 / 10,
            ),
            Facts(Action.store, at + timedelta(minutes=30), "+08:00", epc, site=site_uri),
        ]
        events += [identified(object_event(f)) for f in steps]
        i += 1
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": format_time(start),
        "epcisBody": {"eventList": events[:count]},
    }


class Meter:
    """SQL statements run, and the time and statements spent inside the scan use case."""

    def __init__(self) -> None:
        self.statements = 0
        self.savepoints = 0
        self.scans = 0
        self.scan_seconds = 0.0
        self.scan_cpu = 0.0
        self.scan_statements = 0

    def count(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # A savepoint opens at the first statement inside it, which may be the scan's: count
        # savepoints apart, as EPCIS's own (one per event).
        if "SAVEPOINT" in statement[:20]:
            self.savepoints += 1
        else:
            self.statements += 1

    def wrap(self, real: Any) -> Any:
        def timed(**kwargs: Any) -> Any:
            wall, cpu, statements = time.perf_counter(), time.process_time(), self.statements
            try:
                return real(**kwargs)
            finally:
                self.scans += 1
                self.scan_seconds += time.perf_counter() - wall
                self.scan_cpu += time.process_time() - cpu
                self.scan_statements += self.statements - statements

        return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as session:
            region = build_region(session=session, hospitals=1, users_per_role=1)
            session.commit()
            hospital = region.hospitals[0]
            user = session.exec(select(User).where(User.username == hospital.users[0])).one()
            assert user.role == Role.hospital_staff, user.role
        actor = Actor(
            user_id=user.id,
            username=user.username,
            role=Role.hospital_staff,
            organization_id=hospital.organization_id,
            organization_kind=OrgKind.hospital,
            jurisdiction="CN-15",
        )
        namer = Namer(BASE)
        key = generate_key()
        signer = LabelSigner(key_id="bench1", private_key=key)
        now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
        doc = make_document(
            namer, f"{BASE}/id/site/{hospital.site_id}", args.events, now - timedelta(days=1)
        )
        events = doc["epcisBody"]["eventList"]
        t0 = time.perf_counter()
        assert all(event_is_valid(e) for e in events)
        schema_s = time.perf_counter() - t0

        meter = Meter()
        event.listen(engine, "before_cursor_execute", meter.count)
        capture_module.submit_scan = meter.wrap(capture_module.submit_scan)
        with Session(engine, expire_on_commit=False) as session:
            # As the route's auth dependency does: organizations and sites from the process's
            # directory, for this transaction.
            attach(session, Directory())
            started, started_cpu = time.perf_counter(), time.process_time()
            results = capture_document(
                profiles=SHIPPED,
                session=session,
                actor=actor,
                document=doc,
                namer=namer,
                signer=signer,
                public_keys={"bench1": key.public_key()},
                now=now,
            )
            session.commit()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - started_cpu
        created = sum(1 for r in results if r["status"] == "created")
        rejected = [r for r in results if r["status"] != "created"]
        if rejected:
            print("NOT ALL CREATED, first:", rejected[0]["error"])
        print(f"EPCIS capture, SQLite: {len(events)} events in one document")
        print(f"  created {created}, other {len(rejected)}")
        n = len(events)
        rate = n / elapsed
        print(f"  capture + commit: {elapsed:.2f} s wall ({rate:.0f} events/s), {cpu:.2f} s CPU")
        print(
            f"  the scan use case (submit_scan, {meter.scans} scans): {meter.scan_seconds:.2f} s "
            f"wall = {100 * meter.scan_seconds / elapsed:.0f} %, {meter.scan_cpu:.2f} s CPU, "
            f"{meter.scan_statements / max(meter.scans, 1):.1f} SQL statements per scan"
        )
        print(
            f"  EPCIS's own share: {elapsed - meter.scan_seconds:.2f} s wall, "
            f"{(meter.statements - meter.scan_statements) / n:.1f} SQL statements per event "
            f"and {meter.savepoints / n:.1f} savepoint statements "
            f"({(meter.statements + meter.savepoints) / n:.1f} in all)"
        )
        print(f"  the schema check of every event, timed apart beforehand: ~{schema_s:.2f} s")
        print(f"  load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"  target < 10 s: {'met' if elapsed < 10 and not rejected else 'NOT MET'}")
        engine.dispose()


if __name__ == "__main__":
    main()
