"""A paper transfer manifest checked against its record.

The printed copy's QR code carries the digest it prints (``content_sha256``) and the moment it
was printed. The record as it stood at that moment (:func:`manifest_view` ``as_of``: the events
and signatures recorded by then) must have that digest; what was recorded since (a receipt, a
signature, a correction) is listed, since it is why today's digest differs from the paper's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from schemas.manifests import ManifestContainer, ManifestVerification, RecordChange, Verdict
from service.custody.machine import Action
from service.custody.models import CustodyEvent
from service.manifests.errors import ManifestNotFound
from service.manifests.models import Manifest
from service.manifests.views import manifest_view


def verification_path(manifest: Manifest, *, sha256: str, printed_at: datetime) -> str:
    """Where a printed copy's QR code leads (relative to the service's public address)."""
    at = printed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"/verify/manifests/{manifest.id}?sha256={sha256}&at={at}"


def verify_copy(
    session: Session,
    manifest_id: uuid.UUID,
    *,
    sha256: str | None,
    printed_at: datetime | None,
) -> ManifestVerification:
    manifest = session.get(Manifest, manifest_id)
    if manifest is None:
        raise ManifestNotFound(f"manifest {manifest_id} not found")
    now = manifest_view(session, manifest)
    if sha256 is None:
        verdict = Verdict.unchecked
    else:
        then = now if printed_at is None else manifest_view(session, manifest, as_of=printed_at)
        verdict = Verdict.matches if then.content_sha256 == sha256 else Verdict.differs
    changes: list[RecordChange] = []
    if printed_at is not None:
        changes = _changes_since(session, manifest, now.containers, printed_at)
        changes += [
            RecordChange(recorded_at=s.signed_at, change="signature", subject=s.party)
            for s in now.signatures
            if s.signed_at > printed_at
        ]
        changes.sort(key=lambda c: c.recorded_at)
    return ManifestVerification(
        manifest_id=manifest.id,
        number=manifest.number,
        state=manifest.state,
        vehicle_plate=manifest.vehicle_plate,
        jurisdiction=now.origin.jurisdiction,
        origin=now.origin.name,
        transporter=now.transporter.name,
        destination=now.destination.name,
        containers=now.totals.containers,
        content_sha256=now.content_sha256,
        printed_sha256=sha256,
        printed_at=printed_at,
        verdict=verdict,
        changes_since=changes,
    )


_CHANGES: dict[str, Literal["pickup", "receipt", "correction"]] = {
    Action.pickup: "pickup",
    Action.receive: "receipt",
    Action.correct: "correction",
}


def _changes_since(
    session: Session, manifest: Manifest, containers: list[ManifestContainer], since: datetime
) -> list[RecordChange]:
    """This trip's pickups and receipts, and corrections of its containers, recorded after
    ``since``."""
    codes = {c.container_id: c.short_code for c in containers}
    if not codes:
        return []
    e = CustodyEvent
    on_this_trip = or_(
        and_(col(e.action) == Action.pickup, col(e.manifest_id) == manifest.id),
        and_(
            col(e.action) == Action.receive,
            col(e.actor_organization_id) == manifest.destination_organization_id,
            or_(col(e.manifest_id).is_(None), col(e.manifest_id) == manifest.id),
        ),
        col(e.action) == Action.correct,
    )
    rows = session.exec(
        select(e.container_id, e.action, e.recorded_at)
        .where(col(e.container_id).in_(list(codes)), col(e.recorded_at) > since, on_this_trip)
        .order_by(col(e.recorded_at), col(e.id))
    )
    return [
        RecordChange(recorded_at=at, change=_CHANGES[action], subject=codes[cid])
        for cid, action, at in rows
    ]
