"""The phone-facing API (``/mobile/v1``): thin, over the same services as ``/api/v1``."""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from schemas.custody import AnomalyBrief, ContainerPublic
from schemas.manifests import ManifestSummary
from schemas.mobile import ResolveResult, SyncRequest, SyncResult
from schemas.tracks import TrackBatch, TrackBatchResult, TrackItemResult
from service.anomalies.dependencies import ProfilesDep
from service.anomalies.track import on_track
from service.audit.middleware import record_in_transaction
from service.auth.dependencies import Claims, CurrentActor, actor_for
from service.auth.tokens import AccessClaims
from service.deps import ClockDep, SessionDep, in_write_transaction
from service.errors import InvalidInput
from service.labels.dependencies import PublicKeysDep
from service.scanning.resolve import resolve_code, resolve_label
from service.scanning.sync import sync_scans
from service.tlog.service import with_log_indexes
from service.tracks.service import record_points

router = APIRouter(prefix="/mobile/v1", tags=["mobile"])


@router.get("/resolve", response_model=ResolveResult)
def resolve(
    session: SessionDep,
    keys: PublicKeysDep,
    actor: CurrentActor,
    qr: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
    code: Annotated[
        str | None, Query(max_length=20, description="the short code typed from the label")
    ] = None,
) -> ResolveResult:
    """Say what the phone scanned (``qr``), or what a typed short code (``code``) names."""
    if (qr is None) == (code is None):
        raise InvalidInput("give either qr (a scanned label) or code (a typed short code)")
    found = (
        resolve_label(session=session, actor=actor, qr=qr, public_keys=keys)
        if qr is not None
        else resolve_code(session=session, actor=actor, code=code or "")
    )
    return ResolveResult(
        validity=found.validity,
        detail=found.detail,
        container=ContainerPublic.model_validate(found.container) if found.container else None,
        actions=found.actions,
        open_manifests=[ManifestSummary.model_validate(m) for m in found.open_manifests],
        qr_payload=found.qr_payload,
    )


@router.post("/sync", response_model=SyncResult)
async def sync(body: SyncRequest, request: Request, claims: Claims) -> JSONResponse:
    """A phone's offline queue of scans, each judged alone: each item is answered with its own
    status (created, duplicate, or a problem), so one bad scan never holds back the others. Send
    again freely: every scan is taken once."""
    # The caller, the batch and the commit in one trip to the thread pool.
    return await in_write_transaction(request, functools.partial(_sync, body, request, claims))


def _sync(
    body: SyncRequest, request: Request, claims: AccessClaims, session: Session
) -> JSONResponse:
    actor = actor_for(request, session, claims)
    state = request.app.state
    results = sync_scans(
        session=session,
        actor=actor,
        device_id=body.device_id,
        scans=body.scans,
        public_keys=state.key_ring.view(session),
        now=state.clock(),
        profiles=state.profiles,
        custody_on_receipt_scan=state.settings.custody_on_receipt_scan,
    )
    # Each recorded event's place in the transparency log, sequenced now for the new ones.
    events = iter(with_log_indexes(session, [r["event"] for r in results if r.get("event")]))
    results = [{**r, "event": next(events)} if r.get("event") else r for r in results]
    # The batch's audit row commits with its scans.
    record_in_transaction(session, request.scope, 200)
    # Each item is already the JSON its schema gives (the stored answers, the problems): sent as
    # is rather than validated again, a thousand items at a time.
    return JSONResponse({"results": results})


@router.post("/tracks", response_model=TrackBatchResult)
def tracks(
    body: TrackBatch,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
    profiles: ProfilesDep,
) -> TrackBatchResult:
    """A batch of the trip's position fixes, queued on the phone; each point judged alone."""
    recorded = record_points(
        session=session,
        actor=actor,
        device_id=body.device_id,
        points=body.points,
        now=clock(),
        on_points=functools.partial(on_track, profiles=profiles),
    )
    record_in_transaction(session, request.scope, 200)
    return TrackBatchResult(
        results=[TrackItemResult.model_validate(r) for r in recorded.results],
        anomalies=[AnomalyBrief.model_validate(a) for a in recorded.anomalies],
    )
