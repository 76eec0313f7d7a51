"""Evidence bundles over HTTP (SPEC §6), scoped like the container or manifest they are of:
404 for what the caller may not see.

Building one may integrate the log and sign a checkpoint (when the latest checkpoint does not
cover the events yet), so these reads open a write transaction.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from service.auth.dependencies import CurrentActor
from service.custody.scope import visible_container
from service.deps import ClockDep, SessionDep, writes_on_read
from service.evidence import service
from service.labels.dependencies import SignerDep
from service.manifests.service import visible_manifest
from service.tlog.dependencies import LogSignerDep

router = APIRouter(prefix="/api/v1", tags=["evidence"])

PreviousSize = Annotated[
    int | None,
    Query(
        ge=1,
        le=2**62,
        description="the tree size of a checkpoint you kept: the bundle then proves the log "
        "only grew since",
    ),
]


def _answer(bundle: dict[str, Any], name: str) -> JSONResponse:
    return JSONResponse(
        bundle, headers={"Content-Disposition": f'attachment; filename="evidence-{name}.json"'}
    )


@router.get("/containers/{container_id}/evidence")
@writes_on_read
def container_evidence(
    container_id: str,
    label_signer: SignerDep,
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
    log_signer: LogSignerDep,
    previous_size: PreviousSize = None,
) -> JSONResponse:
    """A container's evidence bundle: its chain and, for each event, the transparency log's
    inclusion proof against a signed checkpoint, verifiable offline."""
    container = visible_container(session, actor, container_id)
    bundle = service.container_bundle(
        session=session,
        container=container,
        label_signer=label_signer,
        log_signer=log_signer,
        now=clock(),
        previous_size=previous_size,
    )
    return _answer(bundle, container.id)


@router.get("/manifests/{manifest_id}/evidence")
@writes_on_read
def manifest_evidence(
    manifest_id: uuid.UUID,
    label_signer: SignerDep,
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
    log_signer: LogSignerDep,
    previous_size: PreviousSize = None,
) -> JSONResponse:
    """A trip's evidence bundle: the manifest and its containers' chains with their transparency log
    proofs."""
    manifest = visible_manifest(session, actor, manifest_id)
    bundle = service.manifest_bundle(
        session=session,
        manifest=manifest,
        label_signer=label_signer,
        log_signer=log_signer,
        now=clock(),
        previous_size=previous_size,
    )
    return _answer(bundle, manifest.number)
