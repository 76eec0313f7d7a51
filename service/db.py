"""Engine, sessions, column types and the constraint naming convention.

One place commits: :func:`get_session` commits when the endpoint returns (before the response is
sent) and rolls back when it raises. Services only ``flush()``.

SQLite allows one writer at a time. Write requests therefore take an in-process lock and open
their transaction with ``BEGIN IMMEDIATE`` so that concurrent writers queue instead of failing
with ``database is locked`` half-way through; PostgreSQL relies on row locks instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, String, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import class_mapper
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

E = TypeVar("E", bound=StrEnum)
M = TypeVar("M", bound=SQLModel)
T = TypeVar("T")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored in UTC, aware on the way out on every dialect."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EnumText(TypeDecorator[E]):
    """A string enum stored as its plain text value (a VARCHAR: no database enum type to
    migrate when a value is added), read back as the enum."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def as_loaded(model: type[M], values: Mapping[str, Any]) -> M:
    """An instance of the table ``model`` holding ``values``, built the way the ORM builds one
    from a row it loads: no validation, no attribute events, no defaults (``values`` gives every
    column the caller reads), attached to no session. For rows the scan path reads or writes
    with Core: a model's constructor costs some 140 microseconds, this a few."""
    instance: M = class_mapper(model).class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


# The keys that make a scan's client_event_id once-only: its stored answer and its event.
_ONCE_ONLY = frozenset({"pk_scan_receipt", "uq_custody_event_client_event_id"})


def write_scans(
    open_unit: Callable[[], AbstractContextManager[Session]], work: Callable[[Session], T]
) -> T:
    """``work`` (recording scans) in a write unit of work from ``open_unit``, committed; once
    more in a new one if a concurrent transaction recorded one of its scans (the same
    ``client_event_id``) first. A single scan locks only its container's row: a concurrent
    retry of it that waited there read the scan's receipt before the first committed, and
    fails on the receipt's or the event's unique key. Nothing of that attempt is kept; the next
    finds the stored answer. (PostgreSQL names the key; SQLite writes one transaction at a
    time and never races there.)"""
    try:
        with open_unit() as session:
            return work(session)
    except IntegrityError as exc:
        diag = getattr(exc.orig, "diag", None)
        if getattr(diag, "constraint_name", None) not in _ONCE_ONLY:
            raise
    with open_unit() as session:
        return work(session)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


_write_locks: dict[int, threading.Lock] = {}


def write_lock(engine: Engine) -> threading.Lock:
    return _write_locks.setdefault(id(engine), threading.Lock())


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            create_private_file(Path(parsed.database))
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def create_private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only (0600), unless it exists, as SQLite would
    otherwise create it world-readable. SQLite gives its ``-wal`` and ``-shm`` files the
    database file's permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below emit BEGIN itself (pysqlite's own handling
        # of transactions cannot express BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("medwaste_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Commit when the block succeeds; roll back when it raises, except for errors that
    carry ``keep_changes`` (a refusal that must stay on record: a refused scan is evidence)."""
    try:
        yield session
        session.commit()
    except BaseException as exc:
        if getattr(exc, "keep_changes", False):
            session.commit()
        else:
            session.rollback()
        raise


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on error.

    ``write=True`` serializes the transaction against other writers of this process on SQLite
    and starts it as a write transaction, so a read-then-write never fails half-way through.
    """
    lock = write_lock(engine) if write and is_sqlite(engine) else None
    if lock is not None:
        lock.acquire()
    try:
        with Session(engine, expire_on_commit=False) as session:
            if write:
                session.connection(execution_options={"medwaste_write": True})
            with unit_of_work(session):
                yield session
    finally:
        if lock is not None:
            lock.release()
