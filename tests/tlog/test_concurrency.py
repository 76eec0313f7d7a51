"""The log under real concurrency: several connection pools (as several server processes
would have), committed transactions, threads at once. No leaf is lost or reordered, and log
order is commit order even when a lower event id commits after a higher one."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from schemas.custody import ContainersCreate, ScanCreate
from service.anomalies.profile import SHIPPED
from service.auth.actor import Actor
from service.auth.roles import Role
from service.config import Settings
from service.custody.containers import register_containers
from service.db import make_engine, session_scope, utcnow
from service.labels.keys import load_signer, public_keys
from service.organizations.models import OrgKind
from service.scanning.closing import close_scan
from service.scanning.held import ScanBatch
from service.scanning.service import submit_scan
from service.scanning.sync import sync_scans
from service.tlog import service as log
from service.tlog.audit import audit_all
from service.tlog.keys import load_log_signer
from service.tlog.verifier import open_checkpoint, parse_vkey, verify_consistency
from tests.conftest import Database
from tests.factories import make_org, make_site, make_user


def _setup(database: Database, settings: Settings, containers: int) -> tuple[Actor, list[str]]:
    now = datetime.now(UTC)
    with session_scope(database.engine, write=True) as s:
        org = make_org(s, OrgKind.hospital)
        site = make_site(s, org)
        user = make_user(s, Role.hospital_staff, org)
        actor = Actor(
            user_id=user.id,
            username=user.username,
            role=Role.hospital_staff,
            organization_id=org.id,
            organization_kind=OrgKind.hospital,
            jurisdiction="CN-15",
        )
        signer = load_signer(session=s, settings=settings)
        _, made = register_containers(
            session=s,
            actor=actor,
            signer=signer,
            request=ContainersCreate(count=containers, category="sharps", site_id=site.id),
            now=now,
        )
        return actor, [payload for _, payload in made]


def _scan(payload: str, action: str, **extra: Any) -> ScanCreate:
    return ScanCreate(
        qr_payload=payload,
        action=action,
        client_event_id=str(uuid.uuid4()),
        scanned_at=datetime.now(UTC),
        **extra,
    )


def _scan_named(session: Session, actor: Actor, scan: ScanCreate) -> dict[str, Any]:
    """A scan recorded as the scan route records it: its receipt, its audit row and its event's
    place in the log written by one closing statement (on PostgreSQL); the event, with the
    index its answer names."""
    keys = public_keys(session)
    batch = ScanBatch.prepare_one(session, keys, scan)
    batch.unwritten_receipts = []
    answer = submit_scan(
        profiles=SHIPPED,
        session=session,
        actor=actor,
        scan=scan,
        public_keys=keys,
        now=utcnow(),
        batch=batch,
    )
    event = answer.body["event"]
    scope = {"method": "POST", "path": "/api/v1/scans", "client": None, "app": _APP}
    index = close_scan(session, batch, scope, answer.status, int(event["id"]))
    return {**event, "log_index": index}


_APP = SimpleNamespace(state=SimpleNamespace(clock=utcnow))


def _in_threads(work: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(work))

    def run(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return errors


def test_concurrent_scans_syncs_and_checkpoints_lose_and_reorder_nothing(
    fresh_database: Database, tmp_path: Path
) -> None:
    database = fresh_database
    settings = Settings(data_dir=tmp_path, log_origin="concurrency.test/log")
    per_worker, workers = 12, 4
    actor, payloads = _setup(database, settings, per_worker * (workers + 1))
    with session_scope(database.engine, write=True) as s:
        log_signer = load_log_signer(session=s, settings=settings)
    engines = [make_engine(database.url, pool_size=2) for _ in range(workers + 2)]
    stop = threading.Event()

    def scanner(i: int) -> Callable[[], None]:
        mine = payloads[i * per_worker : (i + 1) * per_worker]

        def job() -> None:
            for action, extra in (("collect", {"weight_kg": 2.0}), ("store", {})):
                for payload in mine:
                    with session_scope(engines[i], write=True) as s:
                        event = _scan_named(s, actor, _scan(payload, action, **extra))
                        assert isinstance(event["log_index"], int)

        return job

    def phone() -> None:
        mine = payloads[workers * per_worker :]
        for action, extra in (("collect", {"weight_kg": 1.0}), ("store", {})):
            with session_scope(engines[workers], write=True) as s:
                results = sync_scans(
                    profiles=SHIPPED,
                    session=s,
                    actor=actor,
                    device_id="phone-1",
                    scans=[
                        _scan(p, action, **extra).model_dump(mode="json", exclude_none=True)
                        for p in mine
                    ],
                    public_keys=public_keys(s),
                    now=utcnow(),
                )
                assert [r["status"] for r in results] == ["created"] * len(mine)
                events = log.with_log_indexes(s, [r["event"] for r in results])
                indexes = [e["log_index"] for e in events]
                # one transaction: its events are consecutive leaves, in the batch's order
                assert indexes == list(range(indexes[0], indexes[0] + len(mine)))

    def issuer() -> None:
        while not stop.is_set():
            with session_scope(engines[workers + 1], write=True) as s:
                log.issue_checkpoint(s, signer=log_signer, now=utcnow())
            time.sleep(0.05)

    issuing = threading.Thread(target=issuer)
    issuing.start()
    errors = _in_threads([scanner(i) for i in range(workers)] + [phone])
    stop.set()
    issuing.join(timeout=120)
    for engine in engines:
        engine.dispose()
    assert not errors, errors

    with session_scope(database.engine, write=True) as s:
        final = log.issue_checkpoint(s, signer=log_signer, now=utcnow())
    with Session(database.engine) as s:
        rows = s.execute(
            text(
                "SELECT l.log_index, e.container_id, e.seq FROM log_leaf l "
                "JOIN custody_event e ON e.id = l.event_id ORDER BY l.log_index"
            )
        ).all()
        events = s.execute(text("SELECT count(*) FROM custody_event")).scalar_one()
        expected = len(payloads) * 3  # register, collect, store
        assert events == expected
        assert [r[0] for r in rows] == list(range(expected))  # no gap, none twice
        last_seq: dict[str, int] = {}
        for _, container_id, seq in rows:  # each chain enters the log in its own order
            assert seq == last_seq.get(container_id, 0) + 1
            last_seq[container_id] = seq
        report = audit_all(s)
        assert report.ok, report.problems
        assert report.leaves == expected and final.tree_size == expected
        checkpoints = list(
            s.execute(text("SELECT tree_size, note FROM log_checkpoint ORDER BY id")).all()
        )
        assert len(checkpoints) >= 2
        vkey = parse_vkey(log_signer.vkey)
        sizes = [c[0] for c in checkpoints]
        assert sizes == sorted(sizes)  # issued in growing order
        first, _ = open_checkpoint(checkpoints[0][1], [vkey])
        last, _ = open_checkpoint(checkpoints[-1][1], [vkey])
        if first.size:
            proof = log.consistency_proof(s, first.size, last.size)
            verify_consistency(first.size, last.size, first.root, last.root, proof)


def _pg_only(database: Database) -> None:
    if database.backend != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: no commit race to test")


def test_a_lower_id_that_commits_later_gets_the_later_index(
    fresh_database: Database, tmp_path: Path
) -> None:
    """PostgreSQL hands out event ids before commit: the log follows commits, not ids."""
    _pg_only(fresh_database)
    settings = Settings(data_dir=tmp_path)
    actor, [early, late] = _setup(fresh_database, settings, 2)
    slow, fast = make_engine(fresh_database.url), make_engine(fresh_database.url)
    try:
        with Session(slow) as held:
            first = submit_scan(
                profiles=SHIPPED,
                session=held,
                actor=actor,
                scan=_scan(early, "collect", weight_kg=1.0),
                public_keys=public_keys(held),
                now=utcnow(),
            ).body["event"]
            # meanwhile another process scans and commits
            with session_scope(fast, write=True) as s:
                second = submit_scan(
                    profiles=SHIPPED,
                    session=s,
                    actor=actor,
                    scan=_scan(late, "collect", weight_kg=1.0),
                    public_keys=public_keys(s),
                    now=utcnow(),
                ).body["event"]
            held.commit()
        assert first["id"] < second["id"]
        with Session(fresh_database.engine) as s:
            indexes = log.log_indexes(s, [first["id"], second["id"]])
        assert indexes[second["id"]] + 1 == indexes[first["id"]]
    finally:
        slow.dispose()
        fast.dispose()


def _scan_then_sequenced(session: Session, actor: Actor, scan: ScanCreate) -> dict[str, Any]:
    """A scan whose event is put into the log by the sequencing trigger run early (the way a
    sync batch names its events' indexes)."""
    body = submit_scan(
        profiles=SHIPPED,
        session=session,
        actor=actor,
        scan=scan,
        public_keys=public_keys(session),
        now=utcnow(),
    ).body
    [event] = log.with_log_indexes(session, [body["event"]])
    return event


@pytest.mark.parametrize(
    "named", [_scan_named, _scan_then_sequenced], ids=["closing-statement", "trigger"]
)
def test_an_answer_that_names_its_index_holds_the_log_until_it_commits(
    fresh_database: Database,
    tmp_path: Path,
    named: Callable[[Session, Actor, ScanCreate], dict[str, Any]],
) -> None:
    """A scan whose answer names its log index has taken the next leaf: another scan's
    sequencing waits for its commit, and gets the leaf after it."""
    _pg_only(fresh_database)
    settings = Settings(data_dir=tmp_path)
    actor, [one, two] = _setup(fresh_database, settings, 2)
    engine_a, engine_b = make_engine(fresh_database.url), make_engine(fresh_database.url)
    result: dict[str, int] = {}

    def other() -> None:
        with session_scope(engine_b, write=True) as s:
            event = named(s, actor, _scan(two, "collect", weight_kg=1.0))
            result["b"] = event["log_index"]

    try:
        with Session(engine_a) as held:
            event = named(held, actor, _scan(one, "collect", weight_kg=1.0))
            thread = threading.Thread(target=other)
            thread.start()
            time.sleep(1.0)
            assert thread.is_alive(), "the second scan took a leaf while the first held one"
            held.commit()
        thread.join(timeout=60)
        assert result["b"] == event["log_index"] + 1
    finally:
        engine_a.dispose()
        engine_b.dispose()
