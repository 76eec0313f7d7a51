"""Incremental detection: the rules that a scan, a refused scan or a manifest receipt reveals,
evaluated inside the same transaction and stored exactly once."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from service.anomalies.models import Anomaly
from service.anomalies.profile import Profile, profile_for
from service.anomalies.rules import (
    Finding,
    Kind,
    SitePoint,
    clock_skew,
    count_discrepancy,
    flagged,
    geofence_violation,
    impossible_travel,
    overdue,
    unlicensed_receiver,
    weight_discrepancy,
)
from service.anomalies.store import Subject, store_findings
from service.config import get_settings
from service.custody.machine import Action, State, skips_step
from service.custody.models import Container, CustodyEvent
from service.custody.service import Refusal, ScanOutcome
from service.manifests.models import Manifest
from service.organizations.models import Organization, OrgKind, Site

# The stage a leaving scan ends (the states it leaves) and the rule that times it.
_STAGE_EXIT: dict[str, tuple[frozenset[str], Kind]] = {
    Action.pickup: (frozenset({State.collected, State.hospital_storage}), Kind.storage_overdue),
    Action.receive: (frozenset({State.in_transit}), Kind.transit_overdue),
    Action.dispose: (frozenset({State.received, State.stored}), Kind.disposal_overdue),
}


def _default_profile() -> str:
    return get_settings().default_profile


def _profile(org: Organization | None, *, epidemic: bool = False) -> Profile:
    return profile_for(
        org.jurisdiction if org else None,
        epidemic=epidemic or bool(org and org.epidemic_mode),
        default=_default_profile(),
        own=org.anomaly_profile if org else None,
    )


def _point(session: Session, event: CustodyEvent) -> tuple[float, float] | None:
    """Where an event happened: its GPS point, else its site's coordinates."""
    if event.latitude is not None and event.longitude is not None:
        return (event.latitude, event.longitude)
    if event.site_id is not None:
        site = session.get(Site, event.site_id)
        if site is not None:
            return (site.latitude, site.longitude)
    return None


def _sites(session: Session, organization_id: uuid.UUID | None) -> list[SitePoint]:
    if organization_id is None:
        return []
    return [
        SitePoint(str(s.id), s.latitude, s.longitude, s.radius_m)
        for s in session.exec(select(Site).where(Site.organization_id == organization_id))
    ]


def collected_weight(session: Session, container_id: str) -> float | None:
    return session.exec(
        select(CustodyEvent.weight_kg)
        .where(CustodyEvent.container_id == container_id, CustodyEvent.action == Action.collect)
        .order_by(col(CustodyEvent.seq).desc())
        .limit(1)
    ).first()


def on_scan(session: Session, outcome: ScanOutcome, *, now: datetime) -> list[Anomaly]:
    """Evaluate the per-scan rules for an accepted scan; store and return what fired (including
    anomalies this scan names that were already on record, so a replay answers the same)."""
    event, container = outcome.event, outcome.container
    # Held for the whole evaluation (the identity map keeps only what something references),
    # so the helpers' own lookups of these organizations cost no round trip.
    orgs = {o.id: o for o in _load_organizations(session, event, container)}
    actor_org = orgs.get(event.actor_organization_id) if event.actor_organization_id else None
    origin = orgs.get(container.origin_organization_id)
    responsible = actor_org
    if actor_org is None or actor_org.kind == OrgKind.regulator:
        responsible = orgs.get(container.holder_organization_id) or origin
    profile = _profile(responsible, epidemic=container.epidemic)
    home = responsible or origin
    jurisdiction = home.jurisdiction if home else ""
    subject = Subject.container(
        container.id,
        jurisdiction=jurisdiction,
        organization_id=responsible.id if responsible else None,
        event_id=event.id,
    )
    cause = f"event:{event.id}"
    found: list[Finding | None] = []
    extra: list[tuple[Subject, Finding]] = []
    previous = outcome.previous_event

    found.append(
        clock_skew(
            client_time=event.client_time,
            recorded_at=event.recorded_at,
            occurred_at=event.occurred_at,
            previous_occurred_at=previous.occurred_at if previous else None,
            setting=profile.rule(Kind.clock_skew),
            cause=cause,
        )
    )
    if previous is not None:
        found.append(
            impossible_travel(
                previous=_point(session, previous),
                previous_at=previous.occurred_at,
                current=_point(session, event),
                current_at=event.occurred_at,
                setting=profile.rule(Kind.impossible_travel),
                cause=cause,
            )
        )
    found.append(_geofence(session, event, actor_org, profile, cause))

    if event.from_state == State.disposed:
        found.append(
            flagged(
                Kind.scan_after_disposal,
                setting=profile.rule(Kind.scan_after_disposal),
                cause=cause,
                threshold="any scan of a disposed container",
                facts={
                    "action": event.action,
                    "actor_organization_id": _s(actor_org and actor_org.id),
                },
            )
        )

    if event.action in (Action.receive, Action.pickup) and actor_org is not None:
        found.append(
            unlicensed_receiver(
                license_number=actor_org.license_number,
                license_expires=actor_org.license_expires,
                licensed_categories=actor_org.licensed_categories,
                category=container.category,
                at=event.occurred_at,
                setting=profile.rule(Kind.unlicensed_receiver),
                cause=cause,
            )
        )

    if event.action == Action.receive and event.weight_kg is not None:
        collected = collected_weight(session, container.id)
        if collected is not None:
            found.append(
                weight_discrepancy(
                    collected_kg=collected,
                    received_kg=event.weight_kg,
                    setting=profile.rule(Kind.weight_discrepancy),
                    cause=f"manifest:{container.current_manifest_id or event.id}",
                )
            )

    # A late hand-over is caught at the scan itself, with the sweep's own dedupe key.
    stage = _STAGE_EXIT.get(event.action)
    if stage is not None and event.from_state in stage[0]:
        since = outcome.stage_since_before
        if since is not None:
            holder = _stage_holder(session, stage[1], origin, actor_org, container)
            stage_profile = _profile(holder, epidemic=container.epidemic)
            late = overdue(
                stage[1],
                since=since,
                now=event.occurred_at,
                setting=stage_profile.rule(stage[1]),
            )
            if late is not None:
                stage_subject = Subject.container(
                    container.id,
                    jurisdiction=holder.jurisdiction if holder else jurisdiction,
                    organization_id=holder.id if holder else None,
                    event_id=event.id,
                )
                extra.append((stage_subject, late))

    pairs = [(subject, f) for f in found if f is not None] + extra
    named, _new = store_findings(session, pairs, now=now)
    return sorted(named, key=lambda a: (a.kind, a.dedupe_key))


def _load_organizations(
    session: Session, event: CustodyEvent, container: Container
) -> list[Organization]:
    """Every organization the per-scan rules may look at, in one round trip: the lookups that
    follow find them in the session's identity map (while the caller holds the list)."""
    manifest = (
        session.get(Manifest, container.current_manifest_id)
        if container.current_manifest_id
        else None
    )
    wanted = {
        event.actor_organization_id,
        container.origin_organization_id,
        container.holder_organization_id,
        manifest.transporter_organization_id if manifest else None,
    }
    ids = [i for i in wanted if i is not None]
    return list(session.exec(select(Organization).where(col(Organization.id).in_(ids))))


def _stage_holder(
    session: Session,
    kind: Kind,
    origin: Organization | None,
    actor_org: Organization | None,
    container: Container,
) -> Organization | None:
    """Who held the container during the stage that a scan ends (whose profile times it)."""
    if kind is Kind.storage_overdue:
        return origin
    if kind is Kind.transit_overdue and container.current_manifest_id is not None:
        manifest = session.get(Manifest, container.current_manifest_id)
        if manifest is not None:
            return session.get(Organization, manifest.transporter_organization_id)
    return actor_org


def _geofence(
    session: Session,
    event: CustodyEvent,
    actor_org: Organization | None,
    profile: Profile,
    cause: str,
) -> Finding | None:
    if event.latitude is None or event.longitude is None or actor_org is None:
        return None
    if actor_org.kind == OrgKind.regulator:
        return None
    sites: list[SitePoint]
    if event.site_id is not None:
        site = session.get(Site, event.site_id)
        sites = (
            [SitePoint(str(site.id), site.latitude, site.longitude, site.radius_m)] if site else []
        )
    elif event.action == Action.pickup and event.manifest_id is not None:
        manifest = session.get(Manifest, event.manifest_id)
        sites = _sites(session, manifest.origin_organization_id if manifest else None)
    else:
        sites = _sites(session, actor_org.id)
    return geofence_violation(
        point=(event.latitude, event.longitude),
        sites=sites,
        setting=profile.rule(Kind.geofence_violation),
        cause=cause,
    )


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# Refused scans


_FORGED = frozenset({"forged-label", "unknown-label-key"})


def flag_refusal(session: Session, refusal: Refusal) -> list[Anomaly]:
    """Flag what a refused scan reveals: a forged label, a scan of a disposed container, a
    skipped step, or a scanner who is neither custodian nor expected receiver."""
    rejection, container = refusal.rejection, refusal.container
    actor_org = (
        session.get(Organization, rejection.actor_organization_id)
        if rejection.actor_organization_id
        else None
    )
    origin = session.get(Organization, container.origin_organization_id) if container else None
    place = actor_org or origin
    profile = _profile(place, epidemic=bool(container and container.epidemic))
    jurisdiction = place.jurisdiction if place else ""
    now = rejection.recorded_at
    facts = {
        "rejection_id": str(rejection.id),
        "action": rejection.action,
        "problem": rejection.problem_type,
        "detail": rejection.detail,
        "actor_organization_id": _s(rejection.actor_organization_id),
        "point": [rejection.latitude, rejection.longitude]
        if rejection.latitude is not None
        else None,
    }
    cause = f"rejection:{rejection.id}"
    found: list[tuple[Subject, Finding]] = []

    if rejection.problem_type in _FORGED:
        digest = hashlib.sha256((rejection.qr_payload or "").encode()).hexdigest()[:32]
        label_container = _existing_container(session, rejection.qr_payload)
        subject = Subject(
            key=f"label:{digest}",
            jurisdiction=jurisdiction,
            organization_id=rejection.actor_organization_id,
            container_id=label_container,
        )
        found.append(
            (
                subject,
                flagged(
                    Kind.forged_label,
                    setting=profile.rule(Kind.forged_label),
                    cause="payload",
                    threshold="a label signature that does not verify",
                    facts={**facts, "qr_payload": rejection.qr_payload},
                ),
            )
        )
    if container is not None:
        subject = Subject.container(
            container.id,
            jurisdiction=jurisdiction,
            organization_id=rejection.actor_organization_id or container.holder_organization_id,
        )
        state = State(container.state)
        if state is State.disposed:
            found.append(
                (
                    subject,
                    flagged(
                        Kind.scan_after_disposal,
                        setting=profile.rule(Kind.scan_after_disposal),
                        cause=cause,
                        threshold="any scan of a disposed container",
                        facts=facts,
                    ),
                )
            )
        if rejection.problem_type == "custody-mismatch":
            found.append(
                (
                    subject,
                    flagged(
                        Kind.custody_mismatch,
                        setting=profile.rule(Kind.custody_mismatch),
                        cause=cause,
                        threshold="the scanner is neither custodian nor expected receiver",
                        facts={
                            **facts,
                            "custodian_organization_id": str(container.custodian_organization_id),
                        },
                    ),
                )
            )
        action = _action(rejection.action)
        if (
            action is not None
            and rejection.problem_type == "invalid-transition"
            and skips_step(state, action)
        ):
            found.append(
                (
                    subject,
                    flagged(
                        Kind.missing_step,
                        setting=profile.rule(Kind.missing_step),
                        cause=cause,
                        threshold="every required earlier state",
                        facts={**facts, "state": state.value},
                    ),
                )
            )
    named, _new = store_findings(session, found, now=now)
    return named


def on_refusal(session: Session, refusal: Refusal) -> list[Anomaly]:
    """The ``on_refusal`` callback of ``record_scan``: what the refusal raised (or named)."""
    return flag_refusal(session, refusal)


def _action(value: str | None) -> Action | None:
    try:
        return Action(value) if value else None
    except ValueError:
        return None


def _existing_container(session: Session, payload: str | None) -> str | None:
    parts = (payload or "").split(".")
    if len(parts) < 2 or not parts[1]:
        return None
    return parts[1] if session.get(Container, parts[1][:32]) is not None else None


# ---------------------------------------------------------------------------------------------
# Manifest receipt


def on_manifest_received(*, session: Session, manifest: Manifest, now: datetime) -> list[Anomaly]:
    """Raise weight and count discrepancies from what the manifest service computed at the
    destination's signature (``manifest.discrepancies``: ``missing`` and ``unexpected``
    containers, per-container ``weight`` lines beyond tolerance, and the ``total``).

    Per-container weight anomalies share their key with the receive scan's, so the two paths
    never raise the same discrepancy twice."""
    data: dict[str, Any] = manifest.discrepancies or {}
    origin = session.get(Organization, manifest.origin_organization_id)
    destination = session.get(Organization, manifest.destination_organization_id)
    profile = _profile(destination or origin)
    home = destination or origin
    jurisdiction = home.jurisdiction if home else ""
    org_id = manifest.destination_organization_id
    subject = Subject.manifest(manifest.id, jurisdiction=jurisdiction, organization_id=org_id)
    cause = "receipt"
    found: list[tuple[Subject, Finding]] = []
    counted = count_discrepancy(
        missing=[str(c) for c in (data.get("missing") or {}).get("container_ids", [])],
        extra=[str(c) for c in (data.get("unexpected") or {}).get("container_ids", [])],
        setting=profile.rule(Kind.count_discrepancy),
        cause=cause,
    )
    if counted is not None:
        found.append((subject, counted))
    total = data.get("total") or {}
    if total.get("collection_weight_kg") and total.get("receipt_weight_kg") is not None:
        weighed = weight_discrepancy(
            collected_kg=float(total["collection_weight_kg"]),
            received_kg=float(total["receipt_weight_kg"]),
            setting=profile.rule(Kind.weight_discrepancy),
            cause="total",
            per_container=False,
        )
        if weighed is not None:
            found.append((subject, weighed))
    known = _known_containers(session, [str(w.get("container_id")) for w in data.get("weight", [])])
    for item in data.get("weight", []):
        cid = str(item.get("container_id"))
        if item.get("collection_weight_kg") is None or item.get("receipt_weight_kg") is None:
            continue
        weighed = weight_discrepancy(
            collected_kg=float(item["collection_weight_kg"]),
            received_kg=float(item["receipt_weight_kg"]),
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
