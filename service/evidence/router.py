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

from schemas import examples as ex
from schemas.common import example_of
from schemas.custody import EXAMPLE_CHAIN, ScanResult
from schemas.manifests import ManifestPublic
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


def _logged(event: dict[str, Any]) -> dict[str, Any]:
    """An event as a bundle carries it: its hashed content and its inclusion proof."""
    content = {k: v for k, v in event.items() if k not in ("id", "hash", "log_index")}
    return {
        "id": event["id"],
        "log_index": event["log_index"],
        "hash": event["hash"],
        "content": {**content, "v": 1},
        "inclusion": ex.INCLUSION[event["log_index"]],
    }


# The example container's bundle just after its receipt (an offline verifier accepts it).
_RECEIPT = example_of(ScanResult)
_CONTAINER_BUNDLE: dict[str, Any] = {
    "format": "medwaste-evidence/1",
    "subject": {"kind": "container", "id": ex.CONTAINER_ID},
    "generated_at": "2026-11-02T05:00:12.408551+00:00",
    "log": {
        "origin": ex.LOG_ORIGIN,
        "checkpoint": ex.CHECKPOINT_NOTE,
        "tree_size": ex.LOG_TREE_SIZE,
        "root_hash": ex.LOG_ROOT_HASH,
        "key": ex.LOG_VKEY,
    },
    "label_keys": [
        {"key_id": ex.LABEL_KEY_ID, "alg": "Ed25519", "public_key": ex.LABEL_PUBLIC_KEY}
    ],
    "containers": [
        {
            "container": {**_RECEIPT["container"], "last_seq": 4, "last_hash": ex.RECEIVE_HASH},
            "label": {"qr_payload": ex.LABEL, "key_id": ex.LABEL_KEY_ID},
            "events": [_logged(event) for event in EXAMPLE_CHAIN],
        }
    ],
    "consistency": None,
}
_MANIFEST = example_of(ManifestPublic)


def _bundle_answer(what: str, bundle: dict[str, Any]) -> dict[int | str, Any]:
    return {
        200: {
            "description": f"{what}'s evidence bundle (JSON, as a file to keep): the log's "
            "signed checkpoint and key, the label keys, and each container with its label and "
            "events, each event with its inclusion proof",
            "content": {"application/json": {"example": bundle}},
        }
    }


def _answer(bundle: dict[str, Any], name: str) -> JSONResponse:
    return JSONResponse(
        bundle, headers={"Content-Disposition": f'attachment; filename="evidence-{name}.json"'}
    )


@router.get(
    "/containers/{container_id}/evidence",
    responses=_bundle_answer("The container", _CONTAINER_BUNDLE),
)
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


@router.get(
    "/manifests/{manifest_id}/evidence",
    responses=_bundle_answer(
        "The trip",
        {
            **_CONTAINER_BUNDLE,
            "subject": {"kind": "manifest", "id": ex.MANIFEST_ID, "number": ex.MANIFEST_NUMBER},
            "manifest": _MANIFEST,
        },
    ),
)
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
