"""Scans over HTTP: parse, call the scan use case, answer."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from schemas.custody import ScanCreate, ScanResult
from service.anomalies.dependencies import ProfilesDep
from service.audit.middleware import record_in_transaction
from service.audit_context import note_target
from service.auth.dependencies import CurrentActor
from service.deps import ClockDep, SessionDep, SettingsDep
from service.errors import DomainError
from service.labels.dependencies import PublicKeysDep
from service.labels.signing import LabelError, parse_label
from service.scanning.service import submit_scan
from service.tlog.service import with_log_indexes

router = APIRouter(prefix="/api/v1", tags=["custody"])


@router.post(
    "/scans",
    status_code=201,
    response_model=ScanResult,
    responses={200: {"model": ScanResult, "description": "a retry: the original answer"}},
)
def post_scan(
    body: ScanCreate,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
    settings: SettingsDep,
    profiles: ProfilesDep,
    keys: PublicKeysDep,
) -> JSONResponse:
    """Record one scan of a container's label: verified, checked against the custody state machine
    and the caller's organization, chained as an event, judged by the anomaly rules. Exactly once
    per `client_event_id`: a retry answers the first answer (200). A refusal is answered as a
    problem and kept as evidence."""
    with contextlib.suppress(LabelError):
        # The audit log names the scanned container, even when the scan is refused.
        note_target(request.scope, parse_label(body.qr_payload).container_id)
    try:
        answer = submit_scan(
            session=session,
            actor=actor,
            scan=body,
            public_keys=keys,
            now=clock(),
            profiles=profiles,
            custody_on_receipt_scan=settings.custody_on_receipt_scan,
        )
    except DomainError as exc:
        if exc.keep_changes:  # a refused scan is recorded: its audit row commits with it
            record_in_transaction(session, request.scope, exc.status)
        raise
    record_in_transaction(session, request.scope, answer.status)
    # The event's place in the transparency log (read from the log, never from the receipt).
    [event] = with_log_indexes(session, [answer.body["event"]])
    return JSONResponse({**answer.body, "event": event}, status_code=answer.status)
