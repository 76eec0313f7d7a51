"""The real application plus bench-only routes that measure the ceiling.

``POST /bench/bare`` inserts one plain row into a bench table through the same engine and
session dependency as every API write (one unit of work, BEGIN IMMEDIATE and the in-process
write lock on SQLite), with no authentication and no audit entry: a bare FastAPI route that
inserts one row, the most a write request can do in this stack. It is served by a plain
FastAPI app of its own (no middleware) in front of which the product app sits.
``POST /bench/authed`` is a product route (audited like every write) with the bearer-token
check every API call pays, and the same one-row insert.
``GET /bench/statements`` says how many SQL statements this process has sent so far (an engine
event listener counts them), so a benchmark can divide by the scans it made.

Serve it with ``uvicorn bench.app:create_bench_app --factory``.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    event,
    insert,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from service.app import create_app
from service.auth.dependencies import CurrentActor
from service.db import UTCDateTime, utcnow
from service.deps import SessionDep

# Its own metadata: the bench table is never part of the product's schema or migrations.
bench_metadata = MetaData()
bench_row = Table(
    "bench_row",
    bench_metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("note", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


class BareIn(BaseModel):
    note: str = Field(min_length=1, max_length=200)


def create_bench_table(engine: Engine) -> None:
    bench_metadata.create_all(engine, checkfirst=True)


class StatementCounter:
    """Counts every statement the engine sends (``executemany`` counts once), by its first
    word, through SQLAlchemy's ``before_cursor_execute`` event."""

    def __init__(self, engine: Engine) -> None:
        self.total = 0
        self.by_verb: dict[str, int] = {}
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        self.total += 1
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        self.by_verb[verb] = self.by_verb.get(verb, 0) + 1


def create_bench_app() -> ASGIApp:
    app = create_app()
    engine: Engine = app.state.engine
    create_bench_table(engine)
    counter = StatementCounter(engine)

    @app.post("/bench/authed", status_code=201, tags=["bench"])
    def authed(body: BareIn, session: SessionDep, actor: CurrentActor) -> dict[str, Any]:
        session.execute(insert(bench_row).values(note=body.note, created_at=utcnow()))
        return {"ok": True, "user": str(actor.user_id)}

    bare_app = FastAPI()
    bare_app.state.engine = engine
    bare_app.state.sessions = app.state.sessions

    @bare_app.post("/bench/bare", status_code=201)
    def bare(body: BareIn, session: SessionDep) -> dict[str, Any]:
        session.execute(insert(bench_row).values(note=body.note, created_at=utcnow()))
        return {"ok": True}

    @bare_app.get("/bench/statements")
    def statements() -> dict[str, Any]:
        return {"pid": os.getpid(), "total": counter.total, "by_verb": dict(counter.by_verb)}

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/bench/bare", "/bench/statements"):
            await bare_app(scope, receive, send)
        else:
            await app(scope, receive, send)  # lifespan included

    return dispatch
