"""Label keys, published for anyone to verify labels offline, and label images (SPEC §5)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from service.custody.router import visible_container
from service.deps import CurrentActor, SessionDep
from service.labels.keys import all_keys
from service.labels.render import label_png, label_sheet_pdf, label_svg
from service.labels.service import label_infos, label_payload, printable_containers
from service.manifests.numbers import CHINA_TIME, is_chinese

router = APIRouter(prefix="/api/v1/labels", tags=["labels"])


class PublicKey(BaseModel):
    key_id: str
    alg: str = "Ed25519"
    public_key: str
    active: bool


class PublicKeys(BaseModel):
    keys: list[PublicKey]


@router.get("/keys", response_model=PublicKeys)
def label_keys(session: SessionDep) -> PublicKeys:
    return PublicKeys(
        keys=[
            PublicKey(key_id=k.key_id, public_key=k.public_key, active=k.active)
            for k in all_keys(session)
        ]
    )


# ---------------------------------------------------------------------------------------------
# Label images and sheets (SPEC §5). Scoped like the container reads: 404 for what the caller
# may not see.

container_labels = APIRouter(prefix="/api/v1", tags=["labels"])

_PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}}}
_SVG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/svg+xml": {}}}}
_PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}


@container_labels.get(
    "/containers/{container_id}/label.png", response_class=Response, responses=_PNG
)
def label_image_png(
    container_id: str,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    box_size: Annotated[int, Query(ge=2, le=40)] = 8,
) -> Response:
    container = visible_container(session, actor, container_id)
    payload = label_payload(container, request.app.state.signer)
    return Response(label_png(payload, box_size=box_size), media_type="image/png")


@container_labels.get(
    "/containers/{container_id}/label.svg", response_class=Response, responses=_SVG
)
def label_image_svg(
    container_id: str, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    container = visible_container(session, actor, container_id)
    payload = label_payload(container, request.app.state.signer)
    return Response(label_svg(payload), media_type="image/svg+xml")


@container_labels.get("/labels/sheet.pdf", response_class=Response, responses=_PDF)
def label_sheet(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    ids: Annotated[str | None, Query(description="comma-separated container ids")] = None,
    batch_id: uuid.UUID | None = None,
) -> Response:
    containers = printable_containers(
        session=session,
        actor=actor,
        ids=[i.strip() for i in ids.split(",")] if ids is not None else None,
        batch_id=batch_id,
    )
    labels = label_infos(session=session, containers=containers, signer=request.app.state.signer)
    tz = CHINA_TIME if actor.jurisdiction and is_chinese(actor.jurisdiction) else None
    return Response(
        label_sheet_pdf(labels, tz=tz),
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="labels.pdf"'},
    )
