"""One process at a time runs the background jobs: the advisory-lock leader election.

Against PostgreSQL, several electors on one schema stand for several server processes; a
leader whose session the database terminates must stop leading, and another takes over.
Waits are bounded polls (the election is asynchronous), never timed assertions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import cast

import pytest
from sqlalchemy import Engine, text

from service.anomalies.profile import SHIPPED
from service.anomalies.worker import BackgroundWorker
from service.leader import LOCK_KEY, Leadership
from service.tlog.keys import LogSigner
from service.tlog.worker import CheckpointWorker
from tests.conftest import Database

# Short periods so that a takeover is seen in seconds; the bound allows for a busy machine.
RETRY = 0.2
CHECK = 0.2
BOUND = 30.0

# The backends holding this schema's lock (its second key is the schema's hash).
HOLDERS = text(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND classid = CAST(:key AS oid)"
    " AND objid = CAST(CAST(hashtext(current_schema()) AS bigint) & 4294967295 AS oid)"
    " AND objsubid = 2"
)


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"not within {BOUND:.0f} s: {what}"
        time.sleep(0.05)


def _postgres(database: Database) -> None:
    if database.backend != "postgresql":
        pytest.skip("an advisory-lock election needs PostgreSQL")


@pytest.fixture
def electors(fresh_database: Database) -> Iterator[list[Leadership]]:
    """Two electors on one schema, as two server processes would have."""
    _postgres(fresh_database)
    made = [
        Leadership(fresh_database.engine, retry_seconds=RETRY, check_seconds=CHECK)
        for _ in range(2)
    ]
    try:
        yield made
    finally:
        for elector in made:
            elector.stop()


def _holders(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [row.pid for row in conn.execute(HOLDERS, {"key": LOCK_KEY})]


def _terminate(engine: Engine, pid: int) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


def test_exactly_one_of_two_leads_and_holds_the_lock(
    electors: list[Leadership], fresh_database: Database
) -> None:
    engine = fresh_database.engine
    assert not any(e.leading for e in electors)  # nobody leads before trying
    for elector in electors:
        elector.start()
    _until(lambda: any(e.leading for e in electors), "one elector leads")
    # Give the other many chances to try: it must keep failing to take the lock.
    time.sleep(RETRY * 10)
    assert [e.leading for e in electors].count(True) == 1
    assert len(_holders(engine)) == 1


def test_another_takes_over_when_the_leaders_session_is_killed(
    electors: list[Leadership], fresh_database: Database
) -> None:
    engine = fresh_database.engine
    for elector in electors:
        elector.start()
    _until(lambda: any(e.leading for e in electors), "one elector leads")
    first = next(e for e in electors if e.leading)
    second = next(e for e in electors if e is not first)
    (pid,) = _holders(engine)

    _terminate(engine, pid)

    _until(lambda: not first.leading, "the leader whose session died stops leading")
    _until(lambda: second.leading, "the other elector takes over")
    assert [e.leading for e in electors].count(True) == 1
    (new_pid,) = _holders(engine)
    assert new_pid != pid
    # The old leader keeps trying, and keeps failing while the new one holds the lock.
    time.sleep(RETRY * 10)
    assert second.leading and not first.leading


def test_a_leader_that_stops_hands_over(
    electors: list[Leadership], fresh_database: Database
) -> None:
    for elector in electors:
        elector.start()
    _until(lambda: any(e.leading for e in electors), "one elector leads")
    first = next(e for e in electors if e.leading)
    second = next(e for e in electors if e is not first)

    first.stop()

    assert not first.leading
    _until(lambda: second.leading, "the other elector takes over after a clean stop")
    assert len(_holders(fresh_database.engine)) == 1


def test_schemas_have_leaders_of_their_own(
    electors: list[Leadership], fresh_database: Database, database: Database
) -> None:
    """Two deployments in two schemas of one database do not wait for each other."""
    elsewhere = Leadership(database.engine, retry_seconds=RETRY, check_seconds=CHECK)
    try:
        for elector in [*electors, elsewhere]:
            elector.start()
        _until(lambda: elsewhere.leading, "the other schema's elector leads")
        _until(lambda: any(e.leading for e in electors), "one elector of this schema leads")
        assert [e.leading for e in electors].count(True) == 1
    finally:
        elsewhere.stop()


def test_a_leader_whose_database_is_away_stops_leading(fresh_database: Database) -> None:
    """The lock's connection failing its check (here: the server refusing the session)."""
    _postgres(fresh_database)
    elector = Leadership(fresh_database.engine, retry_seconds=RETRY, check_seconds=CHECK)
    elector.start()
    try:
        _until(lambda: elector.leading, "the only elector leads")
        (pid,) = _holders(fresh_database.engine)
        _terminate(fresh_database.engine, pid)
        # Alone, it loses the lead and then takes the free lock again on a new connection.
        _until(lambda: _holders(fresh_database.engine) not in ([], [pid]), "it leads again")
        assert elector.leading
    finally:
        elector.stop()
    assert _holders(fresh_database.engine) == []  # stopping released the lock


def test_on_sqlite_the_process_leads_without_trying(database: Database) -> None:
    if database.backend != "sqlite":
        pytest.skip("SQLite is served by one process")
    elector = Leadership(database.engine)
    assert elector.leading
    elector.start()  # nothing to elect: no thread, no connection
    assert elector.leading
    elector.stop()


class _Flag:
    def __init__(self) -> None:
        self.value = False

    def __call__(self) -> bool:
        return self.value


def _counting(calls: list[str], name: str) -> Callable[..., object]:
    def work(*_args: object) -> object:
        calls.append(name)
        return None

    return work


def test_background_jobs_run_only_while_leading(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep, webhook delivery and checkpoints skip their rounds in a follower and run
    them once the process leads."""
    leading = _Flag()
    calls: list[str] = []
    worker = BackgroundWorker(
        database.engine, interval_seconds=0.05, profiles=SHIPPED, leading=leading
    )
    monkeypatch.setattr(worker, "sweep_once", _counting(calls, "sweep"))
    monkeypatch.setattr(worker, "deliver_once", _counting(calls, "deliver"))
    monkeypatch.setattr("service.anomalies.worker.DELIVERY_INTERVAL", 0.05)
    log_worker = CheckpointWorker(
        database.engine,
        cast(LogSigner, None),  # never used: its round is replaced below
        interval_seconds=0.05,
        leading=leading,
    )
    monkeypatch.setattr(log_worker, "run_once", _counting(calls, "checkpoint"))
    worker.start()
    log_worker.start()
    try:
        time.sleep(0.5)
        assert calls == []  # following: twenty-odd rounds skipped
        leading.value = True
        _until(lambda: {"sweep", "deliver", "checkpoint"} <= set(calls), "every job runs")
        leading.value = False
        time.sleep(0.2)  # a round under way when the lead was lost may still finish
        settled = len(calls)
        time.sleep(0.5)
        assert len(calls) == settled  # following again: no new rounds
    finally:
        worker.stop()
        log_worker.stop()
