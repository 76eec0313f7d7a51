"""A manifest as its parties and regulators read it: parties, containers with their weights,
signatures, totals and discrepancies."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from schemas.manifests import (
    Discrepancies,
    ManifestContainer,
    ManifestPublic,
    ManifestSummary,
    ManifestTotals,
    PartyPublic,
    SignaturePublic,
)
from service.manifests.digest import manifest_digest
from service.manifests.models import Manifest
from service.manifests.service import signatures_of
from service.manifests.trip import trip_of
from service.organizations.models import Organization


def _party(org: Organization | None, org_id: uuid.UUID) -> PartyPublic:
    if org is None:  # a foreign key guarantees it; kept total for the type checker
        return PartyPublic(organization_id=org_id, name="?", kind="?", jurisdiction="?",
                           license_number=None)  # fmt: skip
    return PartyPublic(
        organization_id=org.id,
        name=org.name,
        kind=org.kind,
        jurisdiction=org.jurisdiction,
        license_number=org.license_number,
        address=org.address,
        phone=org.phone,
    )


def manifest_view(
    session: Session, manifest: Manifest, *, as_of: datetime | None = None
) -> ManifestPublic:
    """The manifest now, or as its record stood at ``as_of`` (its containers and signatures
    then; the parties as they are now)."""
    trip = trip_of(session, manifest, as_of=as_of)
    containers = [
        ManifestContainer(
            container_id=line.container.id,
            short_code=line.container.short_code,
            category=line.container.category,
            epidemic=line.container.epidemic,
            state=line.container.state,
            picked_up_at=line.pickup.occurred_at,
            collection_weight_kg=line.collection_weight_kg,
            pickup_weight_kg=line.pickup_weight_kg,
            received_at=line.receipt.occurred_at if line.receipt else None,
            receipt_weight_kg=line.receipt_weight_kg,
        )
        for line in trip.lines
    ]
    totals = ManifestTotals(
        containers=len(containers),
        received_containers=sum(1 for c in containers if c.received_at is not None),
        collection_weight_kg=round(sum(c.collection_weight_kg or 0 for c in containers), 3),
        receipt_weight_kg=round(sum(c.receipt_weight_kg or 0 for c in containers), 3),
    )
    summary = ManifestSummary.model_validate(manifest)
    parties = {
        key: _party(session.get(Organization, org_id), org_id)
        for key, org_id in (
            ("origin", manifest.origin_organization_id),
            ("transporter", manifest.transporter_organization_id),
            ("destination", manifest.destination_organization_id),
        )
    }
    signatures = [
        SignaturePublic.model_validate(s) for s in signatures_of(session, manifest.id, as_of=as_of)
    ]
    return ManifestPublic(
        **summary.model_dump(),
        **parties,
        containers=containers,
        signatures=signatures,
        totals=totals,
        discrepancies=Discrepancies.model_validate(manifest.discrepancies)
        if manifest.discrepancies is not None
        else None,
        content_sha256=manifest_digest(
            number=manifest.number,
            vehicle_plate=manifest.vehicle_plate,
            driver_name=manifest.driver_name,
            driver_licence_number=manifest.driver_licence_number,
            transport_permit_number=manifest.transport_permit_number,
            containers=containers,
            signatures=signatures,
            **parties,
        ),
    )
