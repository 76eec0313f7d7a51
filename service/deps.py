"""Request dependencies every domain shares: settings, the clock, the database session.

Who is calling lives in :mod:`service.auth.dependencies`; the label keys in
:mod:`service.labels.dependencies`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from service.config import Settings
from service.db import WRITE_METHODS, session_scope, write_scans

Clock = Callable[[], datetime]
T = TypeVar("T")


class Sessions(Protocol):
    """Where a request's units of work come from (``app.state.sessions``): a context manager
    that commits on success and rolls back on error (a test hands in its own transaction)."""

    def __call__(self, *, write: bool = False) -> AbstractContextManager[Session]: ...


def engine_sessions(engine: Engine) -> Sessions:
    return functools.partial(session_scope, engine)


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


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request, committed when the endpoint returns.

    Declared with ``scope="function"`` below so the commit happens before the response is
    sent: a client never sees 2xx for a write that failed to commit.
    """
    with _sessions(request)(write=_writes(request)) as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A read-only unit of work, for work a write route does before it writes and that must not
    hold the SQLite write lock (checking a password: argon2 takes tens of milliseconds)."""
    with _sessions(request)() as session:
        yield session


async def in_write_transaction(request: Request, work: Callable[[Session], T]) -> T:
    """``work`` in one write unit of work, committed before this returns, on one thread-pool
    thread: for the routes a phone calls most (a scan, a sync batch).

    A ``def`` route with a session and a caller to resolve goes to the thread pool four times
    (opening the session, the caller, the route, the commit); on SQLite the write lock, taken
    at the first, is held while the event loop schedules the others. Here the session opens,
    ``work`` runs and the transaction commits in one trip: the lock is held only while the
    thread works. Exceptions propagate as from the route itself; a refusal that must stay on
    record (``keep_changes``) commits first, as with :data:`SessionDep`.

    A started server hands this work to a few threads at a time (``app.state.scan_turns``: one
    on SQLite, which writes one transaction at a time; ``Settings.scan_threads`` on
    PostgreSQL): the other requests wait their turn here, in the order they came, instead of in
    threads contending for the GIL and, on SQLite, for the write lock, which whichever thread
    the scheduler woke first would take (the unlucky ones made the latency's tail).

    ``work`` runs once more, in a new unit of work, if a concurrent request recorded one of its
    scans first (:func:`service.db.write_scans`)."""
    sessions = _sessions(request)

    def run() -> T:
        return write_scans(functools.partial(sessions, write=True), work)

    turns: CapacityLimiter | None = getattr(request.app.state, "scan_turns", None)
    return await to_thread.run_sync(run, limiter=turns)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
