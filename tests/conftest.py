"""Fixtures: a migrated database per backend, a rolled-back transaction per test, the app.

The suite runs on SQLite always and on PostgreSQL too when ``TEST_DATABASE_URL`` is set:
every database test runs once per backend. Each PostgreSQL run migrates into a schema of its
own and drops it at the end, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import Session

from service.app import create_app
from service.config import Settings
from service.db import make_engine, unit_of_work
from service.deps import Sessions
from service.migrate import upgrade

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


class FakeClock:
    """A clock the test moves by hand (time-dependent rules never wait for real time)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Database:
    """A migrated database of one backend, with its URL (for tests that open their own
    connections, such as the concurrency tests)."""

    def __init__(self, backend: str, url: str, engine: Engine) -> None:
        self.backend, self.url, self.engine = backend, url, engine


def _postgres_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def _migrated(backend: str, tmp_dir: Path) -> Iterator[Database]:
    """A newly migrated database of ``backend``, dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / 'test.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            yield Database("sqlite", url, engine)
        finally:
            engine.dispose()
        return
    assert PG_URL is not None
    schema = f"medwaste_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _postgres_schema_url(PG_URL, schema)
    try:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield Database("postgresql", url, engine)
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """The shared database of one backend; tests see it through a rolled-back transaction."""
    with _migrated(request.param, tmp_path_factory.mktemp("db")) as db:
        yield db


@pytest.fixture
def fresh_database(database: Database, tmp_path: Path) -> Iterator[Database]:
    """A database of its own (same backend) for a test that must commit for real, such as the
    concurrency tests: custody rows can never be deleted, so they must not land in the
    shared database where other tests would see them."""
    with _migrated(database.backend, tmp_path) as db:
        yield db


@pytest.fixture
def engine(database: Database) -> Engine:
    return database.engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; commits made by
    the code under test only release savepoints."""
    connection = engine.connect()
    outer = connection.begin()
    db_session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    if engine.dialect.name == "postgresql":
        # What a real COMMIT does on PostgreSQL: run the deferred trigger that appends the
        # transaction's custody events to the transparency log (commits here only release a
        # savepoint, and the outer transaction never commits).
        event.listen(db_session, "before_commit", _enter_log)
    try:
        yield db_session
    finally:
        db_session.close()
        outer.rollback()
        connection.close()


def _enter_log(db_session: Session) -> None:
    db_session.flush()
    db_session.execute(text("SET CONSTRAINTS custody_event_enters_log IMMEDIATE"))
    db_session.execute(text("SET CONSTRAINTS custody_event_enters_log DEFERRED"))


def through(session: Session) -> Sessions:
    """Every unit of work an app opens, as one in the test's ``session`` (its transaction)."""

    @contextmanager
    def sessions(*, write: bool = False) -> Iterator[Session]:
        with unit_of_work(session):
            yield session

    return sessions


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", sweep_interval_seconds=0, log_checkpoint_seconds=0)


@pytest.fixture
def app(settings: Settings, engine: Engine, session: Session, clock: FakeClock):  # type: ignore[no-untyped-def]
    application = create_app(settings, engine=engine, clock=clock)
    application.state.sessions = through(session)

    def write_audit(entry: object) -> None:
        # Into the test's own transaction: a row from a second connection would wait on it.
        with unit_of_work(session):
            session.add(entry)

    application.state.audit_writer = write_audit
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
