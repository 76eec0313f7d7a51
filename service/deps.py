"""Request dependencies every domain shares: settings, the clock, the database session.

Who is calling lives in :mod:`service.auth.dependencies`; the label keys in
:mod:`service.labels.dependencies`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from service.config import Settings
from service.db import WRITE_METHODS, session_scope

Clock = Callable[[], datetime]


# The dependencies that only read the application's state are ``async``: FastAPI runs a plain
# ``def`` dependency in the thread pool, a hop to another thread and back for a dictionary read.


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    """The application's clock (a test or the demo hands in one of its own)."""
    clock: Clock = request.app.state.clock
    return clock


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def writes_on_read(endpoint: Endpoint) -> Endpoint:
    """Mark a GET route whose work may write (it gets a write transaction, as a POST does)."""
    endpoint.__dict__["medwaste_writes"] = True
    return endpoint


def _writes(request: Request) -> bool:
    route = request.scope.get("route")
    marked = getattr(getattr(route, "endpoint", None), "medwaste_writes", False)
    return request.method in WRITE_METHODS or bool(marked)


def get_session(request: Request, engine: Engine = Depends(get_engine)) -> Iterator[Session]:
    """One unit of work per request, committed when the endpoint returns.

    Declared with ``scope="function"`` below so the commit happens before the response is
    sent: a client never sees 2xx for a write that failed to commit.
    """
    with session_scope(engine, write=_writes(request)) as session:
        yield session


def get_read_session(request: Request, engine: Engine = Depends(get_engine)) -> Iterator[Session]:
    """A read-only unit of work, for work a write route does before it writes and that must not
    hold the SQLite write lock (checking a password: argon2 takes tens of milliseconds)."""
    with session_scope(engine) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
