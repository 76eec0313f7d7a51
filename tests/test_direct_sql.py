"""Statements run straight on the driver store what SQLAlchemy's own execution stores, are seen
by cursor listeners, and fail as SQLAlchemy's errors, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from service.custody.machine import State
from service.db import EnumText, UTCDateTime
from service.direct_sql import DirectStatement
from tests.conftest import Database

_META = MetaData()
_ROWS = Table(
    "direct_sql_probe",
    _META,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(20), nullable=False, unique=True),
    Column("at", UTCDateTime, nullable=True),
    Column("state", EnumText(State, 20), nullable=True),
    Column("who", Uuid, nullable=True),
    Column("body", JSON, nullable=True),
    Column("weight", Float, nullable=True),
    Column("hits", Integer, nullable=False, default=0),
)
_GIVEN = ("key", "at", "state", "who", "body", "weight", "hits")
_INSERT = insert(_ROWS).values({name: bindparam(name, type_=_ROWS.c[name].type) for name in _GIVEN})
_BUMP = (
    update(_ROWS)
    .where(_ROWS.c.key == bindparam("wanted"))
    .values(hits=_ROWS.c.hits + 1)  # a value the statement holds itself
)


@pytest.fixture
def connection(session: Session) -> Iterator[Connection]:
    """The test's rolled-back transaction, with the probe table in it."""
    connection = session.connection()
    _ROWS.create(connection)
    yield connection


def _stored(connection: Connection) -> dict[str, tuple[Any, ...]]:
    """Each row's columns as read back (through SQLAlchemy's types), by key."""
    rows = connection.execute(select(_ROWS).order_by(_ROWS.c.key)).all()
    return {row.key: tuple(row)[2:] for row in rows}


_ROW_SHAPES = [
    {
        "at": datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=7))),
        "state": State.collected,
        "who": uuid.UUID("5b2a0c4e-1f3d-4a8b-9c6d-7e0f1a2b3c4d"),
        "body": {"detail": "kept", "list": [1, 2.5, None], "nested": {"ü": True}},
        "weight": 3.25,
        "hits": 4,
    },
    # absent values: every nullable column NULL, a plain string for the enum
    {"at": None, "state": "stored", "who": None, "body": None, "weight": None, "hits": 0},
]


@pytest.mark.parametrize("values", _ROW_SHAPES, ids=["every-type", "nulls"])
def test_a_direct_insert_stores_what_sqlalchemy_stores(
    connection: Connection, values: dict[str, Any]
) -> None:
    direct = DirectStatement(_INSERT)

    written = direct.write(connection, {"key": "direct", **values})
    connection.execute(_INSERT, {"key": "core", **values})

    stored = _stored(connection)
    assert stored["direct"] == stored["core"]
    at, state, who, body, weight, hits = stored["direct"]
    assert at == values["at"] and (at is None or at.tzinfo == UTC)
    assert state == (State(values["state"]) if values["state"] else None)
    assert (who, body, weight, hits) == (
        values["who"],
        values["body"],
        values["weight"],
        values["hits"],
    )
    # the new row's key, as an autoincrement insert gives it (SQLite's lastrowid; PostgreSQL
    # has no lastrowid, and its callers use RETURNING)
    if connection.dialect.name == "sqlite":
        [direct_id] = connection.execute(select(_ROWS.c.id).where(_ROWS.c.key == "direct")).one()
        assert written.lastrowid == direct_id


@pytest.mark.parametrize("row", _ROW_SHAPES, ids=["every-type", "nulls"])
def test_a_direct_read_gives_what_sqlalchemys_result_gives(
    connection: Connection, row: dict[str, Any]
) -> None:
    connection.execute(_INSERT, {"key": "k", **row})
    joined = (
        select(_ROWS, (_ROWS.c.hits * 2).label("double"), _ROWS.c.key.label("again"))
        .where(_ROWS.c.key == bindparam("wanted"))
        .with_for_update()
    )
    direct = DirectStatement(joined)

    got = direct.first(connection, {"wanted": "k"})

    assert got == dict(connection.execute(joined, {"wanted": "k"}).one()._mapping)
    assert got is not None
    assert got["at"] == row["at"] and got["double"] == 2 * row["hits"]
    assert got["state"] == State(row["state"]) and isinstance(got["state"], State)
    assert (got["who"], got["body"], got["again"]) == (row["who"], row["body"], "k")
    # the same statement again, and with no row
    assert direct.first(connection, {"wanted": "k"}) == got
    assert direct.first(connection, {"wanted": "nobody"}) is None
    # a statement whose first reading finds no row reads its columns' types at the next
    fresh = DirectStatement(joined)
    assert fresh.first(connection, {"wanted": "nobody"}) is None
    assert fresh.first(connection, {"wanted": "k"}) == got


def test_a_scalar_is_the_first_column_of_the_first_row_or_none(connection: Connection) -> None:
    returning = DirectStatement(_INSERT.returning(_ROWS.c.id, _ROWS.c.key))
    key_of = DirectStatement(select(_ROWS.c.id).where(_ROWS.c.key == bindparam("wanted")))
    row = {"hits": 1} | dict.fromkeys(_GIVEN[1:6])

    first = returning.scalar(connection, {"key": "a", **row})
    second = returning.scalar(connection, {"key": "b", **row})

    assert isinstance(first, int) and second != first
    assert key_of.scalar(connection, {"wanted": "b"}) == second
    assert key_of.scalar(connection, {"wanted": "nobody"}) is None


def test_a_value_the_statement_holds_is_sent_with_the_callers(connection: Connection) -> None:
    connection.execute(_INSERT, [{"key": k, "hits": 5} | dict.fromkeys(_GIVEN[1:6]) for k in "ab"])
    bump = DirectStatement(_BUMP)

    assert bump.write(connection, {"wanted": "a"}).rowcount == 1
    assert bump.write(connection, {"wanted": "a"}).rowcount == 1
    assert bump.write(connection, {"wanted": "nobody"}).rowcount == 0

    hits = {key: row[-1] for key, row in _stored(connection).items()}
    assert hits == {"a": 7, "b": 5}


def test_cursor_listeners_see_each_direct_statement(connection: Connection) -> None:
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    engine = connection.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        DirectStatement(_BUMP).write(connection, {"wanted": "x"})
        DirectStatement(_BUMP).write(connection, {"wanted": "y"})
    finally:
        event.remove(engine, "before_cursor_execute", note)

    assert len(seen) == 2
    statement, params = seen[1]
    assert statement.startswith("UPDATE direct_sql_probe SET hits=")
    assert "y" in (params.values() if isinstance(params, dict) else params)


def test_a_driver_error_is_raised_as_sqlalchemys_and_names_the_key(
    connection: Connection,
) -> None:
    direct = DirectStatement(_INSERT)
    row = {"key": "once", "hits": 0} | dict.fromkeys(_GIVEN[1:6])
    direct.write(connection, row)

    nested = connection.begin_nested()
    with pytest.raises(IntegrityError) as raised:
        direct.write(connection, row)
    nested.rollback()

    assert "once" in str(raised.value.params)
    if connection.dialect.name == "postgresql":
        assert raised.value.orig.diag.constraint_name == "direct_sql_probe_key_key"  # type: ignore[union-attr]
    assert list(_stored(connection)) == ["once"]


def test_a_missing_parameter_is_refused_before_anything_is_sent(connection: Connection) -> None:
    with pytest.raises(KeyError, match="weight"):
        DirectStatement(_INSERT).write(
            connection, {"key": "k", "hits": 1} | dict.fromkeys(_GIVEN[1:5])
        )
    assert _stored(connection) == {}


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        # hits has a Python-side default: SQLAlchemy computes it at execution
        (insert(_ROWS).values(key=bindparam("key")), "Python-side column defaults"),
        (
            select(_ROWS.c.id).where(_ROWS.c.key.in_(bindparam("keys", expanding=True))),
            "expanding",
        ),
    ],
    ids=["column-default", "expanding-in"],
)
def test_statements_that_need_sqlalchemys_execution_are_refused(
    connection: Connection, statement: Any, why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        DirectStatement(statement).write(connection, {"key": "k", "keys": ["k"]})
    assert _stored(connection) == {}


def test_a_lost_connection_is_given_up_as_sqlalchemy_gives_it_up(
    fresh_database: Database,
) -> None:
    if fresh_database.backend != "postgresql":
        pytest.skip("a SQLite connection is a file: there is no server to lose it")
    engine = fresh_database.engine
    with engine.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")

        with pytest.raises(DBAPIError) as raised:
            DirectStatement(_BUMP).write(connection, {"wanted": "x"})

        assert raised.value.connection_invalidated
        assert connection.invalidated
    # the pool gives out a working connection next
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1
