"""Scans over HTTP: parse, call the scan use case, answer."""

from __future__ import annotations

import contextlib
import functools

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from schemas.custody import ScanCreate, ScanResult
from service.audit_context import note_target
from service.auth.dependencies import Claims, actor_for
from service.auth.tokens import AccessClaims
from service.deps import in_write_transaction
from service.errors import DomainError
from service.labels.signing import LabelError, parse_label
from service.scanning.closing import close_scan
from service.scanning.held import ScanBatch
from service.scanning.service import submit_scan

router = APIRouter(prefix="/api/v1", tags=["custody"])


@router.post(
    "/scans",
    status_code=201,
    response_model=ScanResult,
    responses={200: {"model": ScanResult, "description": "a retry: the original answer"}},
)
async def post_scan(body: ScanCreate, request: Request, claims: Claims) -> JSONResponse:
    """Record one scan of a container's label: verified, checked against the custody state machine
    and the caller's organization, chained as an event, judged by the anomaly rules. Exactly once
    per `client_event_id`: a retry answers the first answer (200). A refusal is answered as a
    problem and kept as evidence."""
    with contextlib.suppress(LabelError):
        # The audit log names the scanned container, even when the scan is refused.
        note_target(request.scope, parse_label(body.qr_payload).container_id)
    # The caller, the scan and the commit in one trip to the thread pool.
    return await in_write_transaction(request, functools.partial(_scan, body, request, claims))


def _scan(
    body: ScanCreate,
    request: Request,
    claims: AccessClaims,
    session: Session,
) -> JSONResponse:
    state = request.app.state
    keys = state.key_ring.view(session)
    # The container is read (and locked) with the epoch the caller's checks go by: one
    # statement for both. Nothing is written before the caller is checked.
    batch = ScanBatch.prepare_one(session, keys, body)
    batch.unwritten_receipts = []  # written with the audit row, by close_scan
    actor = actor_for(request, session, claims, epoch=batch.epoch)
    try:
        answer = submit_scan(
            session=session,
            actor=actor,
            scan=body,
            public_keys=keys,
            now=state.clock(),
            profiles=state.profiles,
            custody_on_receipt_scan=state.settings.custody_on_receipt_scan,
            batch=batch,
        )
    except DomainError as exc:
        if exc.keep_changes:  # a refused scan is recorded: its audit row commits with it
            close_scan(session, batch, request.scope, exc.status, None)
        raise
    event = answer.body["event"]
    # The event's place in the transparency log (read from the log, never from the receipt).
    index = close_scan(session, batch, request.scope, answer.status, int(event["id"]))
    return JSONResponse(
        {**answer.body, "event": {**event, "log_index": index}}, status_code=answer.status
    )
