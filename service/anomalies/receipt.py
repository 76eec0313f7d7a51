"""Detection at a manifest's receipt: the count and weight discrepancies the destination's
signature revealed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from schemas.manifests import Discrepancies
from service.anomalies.models import Anomaly
from service.anomalies.profile import Profiles
from service.anomalies.rules import Finding, Kind, count_discrepancy, weight_discrepancy
from service.anomalies.store import Subject, store_findings
from service.custody.models import Container
from service.manifests.models import Manifest
from service.organizations.models import Organization


def on_manifest_received(
    session: Session, manifest: Manifest, data: Discrepancies, now: datetime, profiles: Profiles
) -> list[Anomaly]:
    """Raise the count and weight discrepancies the destination's signature revealed: the
    ``on_received`` hook of :func:`service.manifests.service.sign_manifest`.

    Per-container weight anomalies share their key with the receive scan's, so the two paths
    never raise the same discrepancy twice."""
    origin = session.get(Organization, manifest.origin_organization_id)
    destination = session.get(Organization, manifest.destination_organization_id)
    profile = profiles.of(destination or origin)
    home = destination or origin
    jurisdiction = home.jurisdiction if home else ""
    org_id = manifest.destination_organization_id
    subject = Subject.manifest(manifest.id, jurisdiction=jurisdiction, organization_id=org_id)
    cause = "receipt"
    found: list[tuple[Subject, Finding]] = []
    counted = count_discrepancy(
        missing=list(data.missing.container_ids),
        extra=list(data.unexpected.container_ids),
        setting=profile.rule(Kind.count_discrepancy),
        cause=cause,
    )
    if counted is not None:
        found.append((subject, counted))
    if data.total.collection_weight_kg:
        weighed = weight_discrepancy(
            collected_kg=data.total.collection_weight_kg,
            received_kg=data.total.receipt_weight_kg,
            setting=profile.rule(Kind.weight_discrepancy),
            cause="total",
            per_container=False,
        )
        if weighed is not None:
            found.append((subject, weighed))
    known = _known_containers(session, [item.container_id for item in data.weight])
    for item in data.weight:
        cid = item.container_id
        weighed = weight_discrepancy(
            collected_kg=item.collection_weight_kg,
            received_kg=item.receipt_weight_kg,
            setting=profile.rule(Kind.weight_discrepancy),
            cause=f"manifest:{manifest.id}",
        )
        if weighed is not None and cid in known:
            found.append(
                (
                    Subject.container(
                        cid,
                        jurisdiction=jurisdiction,
                        organization_id=org_id,
                        manifest_id=manifest.id,
                    ),
                    weighed,
                )
            )
    named, _new = store_findings(session, found, now=now)
    return named


def _known_containers(session: Session, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    return set(session.exec(select(Container.id).where(col(Container.id).in_(ids))))
