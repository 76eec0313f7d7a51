"""Transfer manifests over HTTP: parse, call one service function, answer."""

from __future__ import annotations

import functools
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from schemas.common import Instant, Page
from schemas.manifests import (
    ManifestCreate,
    ManifestPublic,
    ManifestSummary,
    ManifestVerification,
    SignatureCreate,
)
from service.anomalies.dependencies import ProfilesDep
from service.anomalies.receipt import on_manifest_received
from service.audit_context import note_target
from service.auth.dependencies import CurrentActor
from service.deps import ClockDep, SessionDep, SettingsDep
from service.manifests import service
from service.manifests.models import ManifestState
from service.manifests.pdf import manifest_pdf
from service.manifests.verification import verification_path, verify_copy
from service.manifests.verify_page import verification_page
from service.manifests.views import manifest_view
from service.pagination import MAX_LIMIT, a_uuid, an_aware_time, page_of, read_cursor
from service.tracks.service import points_of

router = APIRouter(prefix="/api/v1", tags=["manifests"])
# The page a printed manifest's QR code opens, for anyone holding the paper.
page_router = APIRouter(tags=["manifests"])


@router.post("/manifests", status_code=201, response_model=ManifestPublic)
def create_manifest(
    body: ManifestCreate,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
) -> ManifestPublic:
    """Open a trip's transfer manifest (转移联单) from an origin to a destination through a
    transporter; the containers picked up onto it join it."""
    manifest = service.create_manifest(session=session, actor=actor, request=body, now=clock())
    note_target(request.scope, manifest.id)
    return manifest_view(session, manifest)


@router.get("/manifests", response_model=Page[ManifestSummary])
def list_manifests(
    session: SessionDep,
    actor: CurrentActor,
    state: ManifestState | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[ManifestSummary]:
    """The manifests the caller's organization is a party to (a regulator's: its jurisdiction's),
    newest first, a page at a time."""
    rows = service.list_manifests(
        session=session,
        actor=actor,
        state=state,
        after=read_cursor(cursor, at=an_aware_time, id=a_uuid),
        limit=limit + 1,
    )
    rows, next_cursor = page_of(
        rows, limit, lambda m: {"at": m.created_at.isoformat(), "id": str(m.id)}
    )
    return Page[ManifestSummary](
        items=[ManifestSummary.model_validate(m) for m in rows],
        next_cursor=next_cursor,
    )


# Declared before /manifests/{manifest_id} so that "<id>.pdf" is not taken for an id.
@router.get(
    "/manifests/{manifest_id}.pdf",
    response_class=Response,
    responses={
        200: {
            "description": "The transfer manifest (转移联单) as a PDF of A4 pages, with its "
            "content digest (SHA-256) and a QR code to the public check of this copy",
            "content": {"application/pdf": {}},
        }
    },
)
def manifest_document(
    manifest_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    """The manifest as a printable transfer manifest (转移联单) PDF: parties, transport, waste
    codes, containers and weights, seal and signature boxes, and a QR code leading to the
    public page that checks this copy's content digest against the record."""
    manifest = service.visible_manifest(session, actor, manifest_id)
    printed_at = clock()
    view = manifest_view(session, manifest, as_of=printed_at)
    check_url = settings.public_base_url + verification_path(
        manifest, sha256=view.content_sha256, printed_at=printed_at
    )
    route = [(p.recorded_at, p.latitude, p.longitude) for p in points_of(session, manifest.id)]
    document = manifest_pdf(view, check_url, route)
    return Response(
        document,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="manifest-{manifest.number}.pdf"'},
    )


@router.get("/manifests/{manifest_id}", response_model=ManifestPublic)
def get_manifest(
    manifest_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> ManifestPublic:
    """One manifest: its parties, state, containers and the discrepancies its receipt found."""
    return manifest_view(session, service.visible_manifest(session, actor, manifest_id))


@router.post("/manifests/{manifest_id}/sign", response_model=ManifestPublic)
def sign_manifest(
    manifest_id: uuid.UUID,
    body: SignatureCreate,
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
    profiles: ProfilesDep,
) -> ManifestPublic:
    """Sign the manifest as one of its parties. Origin and transporter together dispatch the
    trip (custody moves to the transporter); the destination's signature receives it (custody
    moves to the destination; missing containers and weight differences are found and flagged)."""
    manifest = service.sign_manifest(
        session=session,
        actor=actor,
        manifest_id=manifest_id,
        request=body,
        now=clock(),
        on_received=functools.partial(on_manifest_received, profiles=profiles),
    )
    return manifest_view(session, manifest)


@router.post("/manifests/{manifest_id}/close", response_model=ManifestPublic)
def close_manifest(
    manifest_id: uuid.UUID, session: SessionDep, actor: CurrentActor, clock: ClockDep
) -> ManifestPublic:
    """Close a received manifest (its destination or an administrator): the trip's record is
    complete."""
    manifest = service.close_manifest(
        session=session, actor=actor, manifest_id=manifest_id, now=clock()
    )
    return manifest_view(session, manifest)


_PRINTED_SHA256 = Query(
    pattern=r"^[0-9a-f]{64}$", description="the digest printed on the copy (SHA-256, hex)"
)
_PRINTED_AT = Query(description="when the copy was printed (its QR code says)")


@router.get("/manifests/{manifest_id}/verification", response_model=ManifestVerification)
def verify_manifest_copy(
    manifest_id: uuid.UUID,
    session: SessionDep,
    sha256: Annotated[str | None, _PRINTED_SHA256] = None,
    at: Annotated[Instant | None, _PRINTED_AT] = None,
) -> ManifestVerification:
    """Check a printed manifest against its record, without signing in: whether the record,
    as it stood when the copy was printed, has the digest the copy prints, and what was
    recorded since. Shows only what the paper shows, without personal names."""
    return verify_copy(session, manifest_id, sha256=sha256, printed_at=at)


@page_router.get(
    "/verify/manifests/{manifest_id}",
    response_class=HTMLResponse,
    responses={
        200: {
            "description": "An HTML page (Chinese and English) saying whether the printed copy "
            "matches the record, and what was recorded since it was printed"
        }
    },
)
def verify_manifest_page(
    manifest_id: uuid.UUID,
    session: SessionDep,
    sha256: Annotated[str | None, _PRINTED_SHA256] = None,
    at: Annotated[Instant | None, _PRINTED_AT] = None,
) -> HTMLResponse:
    """The page a printed manifest's QR code opens: the check of
    ``/api/v1/manifests/{id}/verification``, in Chinese and English, for a phone's browser."""
    check = verify_copy(session, manifest_id, sha256=sha256, printed_at=at)
    return HTMLResponse(verification_page(check))
