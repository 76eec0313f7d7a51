"""Every write request (POST, PUT, PATCH, DELETE) leaves one audit row, whatever its outcome:
refused (401, 403, 404, 409, 422, 429), failed (500) or done.

A pure ASGI middleware: it lets the request run, notes the status the response started with,
and then writes the row in a short transaction of its own, so a refusal that rolled the
request's work back is still on record.

A route may instead write its row into its own transaction (:func:`record_in_transaction`,
the scan routes do): the row then commits with the work, before the answer is sent, and costs
no second transaction. The middleware writes a row of its own only when the answer's status is
not the one recorded (the work rolled back, or failed after the commit).

The row is written by ``app.state.audit_writer`` (a callable taking the
:class:`AuditEntry`; by default :func:`engine_writer`), dated by ``app.state.clock``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from anyio import to_thread
from sqlalchemy import Engine, event, insert
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.audit.models import AuditEntry
from service.audit_context import audit_context
from service.db import WRITE_METHODS, session_scope

log = logging.getLogger(__name__)

AuditWriter = Callable[[AuditEntry], None]


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            if audit_context(scope).recorded_status != status:
                entry = build_entry(scope, status)
                try:
                    await to_thread.run_sync(_writer_for(scope["app"]), entry)
                except Exception:
                    log.exception(
                        "could not write the audit entry for %s %s", entry.method, entry.path
                    )


_PENDING = "medwaste_audit_pending"


def record_in_transaction(session: Session, scope: Scope, status: int) -> None:
    """Write the request's audit row into its own unit of work, as the answer ``status``.

    The row commits with the work, before the answer is sent. Only once that commit has
    happened does the middleware count the request as recorded; if the work rolls back, the
    middleware writes the row in a transaction of its own, as for any other route."""
    # A Core insert on the transaction's connection: the ORM's bulk-insert path and a model
    # instance cost more than the row itself.
    session.connection().execute(INSERT_ENTRY, entry_in_transaction(session, scope, status))


def entry_in_transaction(session: Session, scope: Scope, status: int) -> dict[str, Any]:
    """The request's audit row as column values, for the caller to insert into the unit of work
    of ``session`` (it counts as recorded once that commits, as with
    :func:`record_in_transaction`)."""
    session.info[_PENDING] = (scope, status)
    return entry_values(scope, status)


@event.listens_for(Session, "after_commit")
def _recorded(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        scope, status = pending
        audit_context(scope).recorded_status = status


@event.listens_for(Session, "after_soft_rollback")
def _not_recorded(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


INSERT_ENTRY = insert(AuditEntry.__table__)  # type: ignore[attr-defined]


def build_entry(scope: Scope, status: int) -> AuditEntry:
    return AuditEntry(**entry_values(scope, status))


def entry_values(scope: Scope, status: int) -> dict[str, Any]:
    """The audit row of a request answered ``status``, as column values."""
    ctx = audit_context(scope)
    route = scope.get("route")
    template = getattr(route, "path", None)
    params: dict[str, Any] = scope.get("path_params") or {}
    target = ctx.target_id or (str(next(iter(params.values())))[:100] if params else None)
    client = scope.get("client")
    return {
        "occurred_at": _now(scope),
        "user_id": ctx.user_id,
        "username": ctx.username,
        "organization_id": ctx.organization_id,
        "method": scope["method"],
        "path": (template or scope["path"])[:300],
        "target_id": target,
        "client_address": client[0][:64] if client else None,
        "device_id": ctx.device_id,
        "status_code": status,
    }


def _now(scope: Scope) -> datetime:
    """The app's clock, the one the request's dependencies went by."""
    clock: Callable[[], datetime] = scope["app"].state.clock
    return clock()


def _writer_for(app: Any) -> AuditWriter:
    writer: AuditWriter = app.state.audit_writer
    return writer


def engine_writer(engine: Engine) -> AuditWriter:
    """Write each audit row in a short write transaction of its own."""

    def write(entry: AuditEntry) -> None:
        with session_scope(engine, write=True) as session:
            session.add(entry)

    return write
