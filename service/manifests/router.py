"""Transfer manifests over HTTP: parse, call one service function, answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from schemas.common import Page
from schemas.manifests import ManifestCreate, ManifestPublic, ManifestSummary, SignatureCreate
from service.audit.context import note_target
from service.deps import ClockDep, CurrentActor, SessionDep
from service.errors import InvalidInput
from service.manifests import service
from service.manifests.models import ManifestState
from service.manifests.pdf import manifest_pdf
from service.pagination import MAX_LIMIT, decode_cursor, page_of

router = APIRouter(prefix="/api/v1", tags=["manifests"])


@router.post("/manifests", status_code=201, response_model=ManifestPublic)
def create_manifest(
    body: ManifestCreate,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
) -> ManifestPublic:
    manifest = service.create_manifest(session=session, actor=actor, request=body, now=clock())
    note_target(request.scope, manifest.id)
    return service.manifest_view(session, manifest)


@router.get("/manifests", response_model=Page[ManifestSummary])
def list_manifests(
    session: SessionDep,
    actor: CurrentActor,
    state: ManifestState | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[ManifestSummary]:
    rows = service.list_manifests(
        session=session, actor=actor, state=state, after=_after(cursor), limit=limit + 1
    )
    rows, next_cursor = page_of(
        rows, limit, lambda m: {"at": m.created_at.isoformat(), "id": str(m.id)}
    )
    return Page[ManifestSummary](
        items=[ManifestSummary.model_validate(m) for m in rows],
        next_cursor=next_cursor,
    )


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        return datetime.fromisoformat(str(values["at"])), uuid.UUID(str(values["id"]))
    except (KeyError, ValueError):
        raise InvalidInput("the cursor is not one this service gave out") from None


# Declared before /manifests/{manifest_id} so that "<id>.pdf" is not taken for an id.
@router.get(
    "/manifests/{manifest_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def manifest_document(manifest_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> Response:
    manifest = service.visible_manifest(session, actor, manifest_id)
    document = manifest_pdf(service.manifest_view(session, manifest))
    return Response(
        document,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="manifest-{manifest.number}.pdf"'},
    )


@router.get("/manifests/{manifest_id}", response_model=ManifestPublic)
def get_manifest(
    manifest_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> ManifestPublic:
    return service.manifest_view(session, service.visible_manifest(session, actor, manifest_id))


@router.post("/manifests/{manifest_id}/sign", response_model=ManifestPublic)
def sign_manifest(
    manifest_id: uuid.UUID,
    body: SignatureCreate,
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
) -> ManifestPublic:
    manifest = service.sign_manifest(
        session=session, actor=actor, manifest_id=manifest_id, request=body, now=clock()
    )
    return service.manifest_view(session, manifest)


@router.post("/manifests/{manifest_id}/close", response_model=ManifestPublic)
def close_manifest(
    manifest_id: uuid.UUID, session: SessionDep, actor: CurrentActor, clock: ClockDep
) -> ManifestPublic:
    manifest = service.close_manifest(
        session=session, actor=actor, manifest_id=manifest_id, now=clock()
    )
    return service.manifest_view(session, manifest)
