"""The phone-facing API (``/mobile/v1``): thin, over the same services as ``/api/v1``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from schemas.custody import ContainerPublic
from schemas.manifests import ManifestSummary
from schemas.mobile import ResolveResult, SyncItemResult, SyncRequest, SyncResult
from service.custody.resolve import resolve_label
from service.custody.sync import sync_scans
from service.deps import ClockDep, CurrentActor, PublicKeysDep, SessionDep, SettingsDep

router = APIRouter(prefix="/mobile/v1", tags=["mobile"])


@router.get("/resolve", response_model=ResolveResult)
def resolve(
    qr: Annotated[str, Query(min_length=1, max_length=300)],
    session: SessionDep,
    keys: PublicKeysDep,
    actor: CurrentActor,
) -> ResolveResult:
    found = resolve_label(session=session, actor=actor, qr=qr, public_keys=keys)
    return ResolveResult(
        validity=found.validity,
        detail=found.detail,
        container=ContainerPublic.model_validate(found.container) if found.container else None,
        actions=found.actions,
        open_manifests=[ManifestSummary.model_validate(m) for m in found.open_manifests],
    )


@router.post("/sync", response_model=SyncResult)
def sync(
    body: SyncRequest,
    session: SessionDep,
    keys: PublicKeysDep,
    actor: CurrentActor,
    clock: ClockDep,
    settings: SettingsDep,
) -> SyncResult:
    results = sync_scans(
        session=session,
        actor=actor,
        device_id=body.device_id,
        scans=body.scans,
        public_keys=keys,
        now=clock(),
        custody_on_receipt_scan=settings.custody_on_receipt_scan,
    )
    return SyncResult(results=[SyncItemResult.model_validate(r) for r in results])
