"""Container label images and printable sheets (SPEC §5), scoped like the container reads:
404 for what the caller may not see."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from service.auth.dependencies import CurrentActor
from service.custody.labels import label_infos, label_payload, printable_containers
from service.custody.scope import visible_container
from service.deps import SessionDep
from service.jurisdictions import local_time
from service.labels.dependencies import SignerDep
from service.labels.render import label_png, label_sheet_pdf, label_svg, label_thermal_pdf

router = APIRouter(prefix="/api/v1", tags=["labels"])

_PNG: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The label as a PNG image: the QR code (its payload MW1.id.key.signature), "
        "the short code printed under it and the category",
        "content": {"image/png": {}},
    }
}
_SVG: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The label as an SVG drawing (scales to any printer): the QR code, the "
        "short code and the category",
        "content": {"image/svg+xml": {}},
    }
}
_PDF: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A PDF to print, bilingual (中文 / English): per label the QR code, short "
        "code, category name and colour, origin, department, date and the biohazard notice",
        "content": {"application/pdf": {}},
    }
}


@router.get("/containers/{container_id}/label.png", response_class=Response, responses=_PNG)
def label_image_png(
    container_id: str,
    signer: SignerDep,
    session: SessionDep,
    actor: CurrentActor,
    box_size: Annotated[int, Query(ge=2, le=40)] = 8,
) -> Response:
    """A container's label as a PNG image (QR code, short code, category)."""
    container = visible_container(session, actor, container_id)
    payload = label_payload(container, signer)
    return Response(label_png(payload, box_size=box_size), media_type="image/png")


@router.get("/containers/{container_id}/label.svg", response_class=Response, responses=_SVG)
def label_image_svg(
    container_id: str, signer: SignerDep, session: SessionDep, actor: CurrentActor
) -> Response:
    """A container's label as an SVG image (QR code, short code, category)."""
    container = visible_container(session, actor, container_id)
    payload = label_payload(container, signer)
    return Response(label_svg(payload), media_type="image/svg+xml")


@router.get("/labels/sheet.pdf", response_class=Response, responses=_PDF)
def label_sheet(
    signer: SignerDep,
    session: SessionDep,
    actor: CurrentActor,
    ids: Annotated[str | None, Query(description="comma-separated container ids")] = None,
    batch_id: uuid.UUID | None = None,
    stock: Annotated[
        Literal["a4", "100x70", "60x40"],
        Query(description="A4 sheets of 8, or one label per page on thermal roll stock (mm)"),
    ] = "a4",
) -> Response:
    """The labels of a batch (or of the containers named) as a PDF to print: A4 sheets of 8
    labels, or one label per page for the thermal roll printers of 100 x 70 or 60 x 40 mm
    stock, so that one label comes out per bag."""
    containers = printable_containers(
        session=session,
        actor=actor,
        ids=[i.strip() for i in ids.split(",")] if ids is not None else None,
        batch_id=batch_id,
    )
    labels = label_infos(session=session, containers=containers, signer=signer)
    tz = local_time(actor.jurisdiction)
    document = (
        label_sheet_pdf(labels, tz=tz)
        if stock == "a4"
        else label_thermal_pdf(labels, stock=stock, tz=tz)
    )
    return Response(
        document,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="labels-{stock}.pdf"'},
    )
