"""The real application plus bench-only routes that measure the ceiling.

``POST /bench/bare`` inserts one plain row into a bench table through the same engine and
session dependency as every API write (one unit of work, BEGIN IMMEDIATE on SQLite), with no
authentication: what one write request costs in this stack when it does no domain work.
``POST /bench/authed`` adds the bearer-token check every API call pays (JWT decode, user and
organization lookup), so the two differ by exactly the authentication cost.

Serve it with ``uvicorn bench.app:create_bench_app --factory``.
"""

from __future__ import annotations

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
    insert,
)

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


def create_bench_app() -> FastAPI:
    app = create_app()
    create_bench_table(app.state.engine)

    @app.post("/bench/bare", status_code=201, tags=["bench"])
    def bare(body: BareIn, session: SessionDep) -> dict[str, Any]:
        session.execute(insert(bench_row).values(note=body.note, created_at=utcnow()))
        return {"ok": True}

    @app.post("/bench/authed", status_code=201, tags=["bench"])
    def authed(body: BareIn, session: SessionDep, actor: CurrentActor) -> dict[str, Any]:
        session.execute(insert(bench_row).values(note=body.note, created_at=utcnow()))
        return {"ok": True, "user": str(actor.user_id)}

    return app
