"""Detection on an accepted scan: the per-scan rules, evaluated inside the scan's transaction
and stored exactly once (a replay answers the same anomalies)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from service.anomalies.detection import as_str
from service.anomalies.models import Anomaly
from service.anomalies.profile import Profile, Profiles, RuleSetting
from service.anomalies.rules import (
    STAGE_RULE,
    Finding,
    Kind,
    SitePoint,
    clock_skew,
    flagged,
    geofence_violation,
    impossible_travel,
    overdue,
    unlicensed_receiver,
    weight_discrepancy,
)
from service.anomalies.store import Subject, store_findings
from service.anomalies.trips import (
    BagInTransit,
    LateBag,
    bags_in_transit,
    late_bags,
    transit_findings,
)
from service.custody.machine import Action, State
from service.custody.models import Container, CustodyEvent
from service.custody.stages import stage_ended_by
from service.manifests.models import Manifest
from service.organizations.directory import directory
from service.organizations.models import Organization, OrgKind, Site


@dataclass(frozen=True)
class PriorEvent:
    """What the rules read of a container's previous event: when and where it happened, and how
    accurately (five columns, not the whole row)."""

    occurred_at: datetime
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    site_id: uuid.UUID | None


@dataclass(frozen=True)
class AcceptedScan:
    """An accepted scan as the rules read it: the event, the container after it, and the rows
    the scan was checked against (so the rules need not look them up again)."""

    event: CustodyEvent
    container: Container
    previous_event: PriorEvent | None = None
    # When the stage this scan ends (or continues) had begun, before the scan.
    stage_since_before: datetime | None = None
    site: Site | None = None
    manifest: Manifest | None = None
    clock_ahead: timedelta | None = None


def _point(
    session: Session, event: CustodyEvent | PriorEvent, site: Site | None
) -> tuple[tuple[float, float] | None, float | None]:
    """Where an event happened, and how uncertain that is in metres: its GPS point, uncertain
    by the fix's accuracy (``None`` when the phone did not send it), else its site's
    coordinates, uncertain by the site's radius (``site``, when the caller has it already)."""
    if event.latitude is not None and event.longitude is not None:
        return (event.latitude, event.longitude), event.accuracy_m
    if event.site_id is not None:
        if site is None or site.id != event.site_id:
            site = directory(session).site(event.site_id)
        if site is not None:
            return (site.latitude, site.longitude), site.radius_m
    return None, None


def _sites(session: Session, organization_id: uuid.UUID | None) -> list[SitePoint]:
    if organization_id is None:
        return []
    return [
        SitePoint(str(s.id), s.latitude, s.longitude, s.radius_m)
        for s in directory(session).sites_of(organization_id)
    ]


def on_scan(
    session: Session, outcome: AcceptedScan, *, now: datetime, profiles: Profiles
) -> list[Anomaly]:
    """Evaluate the per-scan rules for an accepted scan; store and return what fired (including
    anomalies this scan names that were already on record, so a replay answers the same)."""
    event, container = outcome.event, outcome.container
    # The trip a pickup or a receipt belongs to; no rule reads another scan's manifest.
    manifest = outcome.manifest
    orgs = {o.id: o for o in _load_organizations(session, event, container, manifest)}
    actor_org = orgs.get(event.actor_organization_id) if event.actor_organization_id else None
    origin = orgs.get(container.origin_organization_id)
    responsible = actor_org
    if actor_org is None or actor_org.kind == OrgKind.regulator:
        responsible = orgs.get(container.holder_organization_id) or origin
    profile = profiles.of(responsible, epidemic=container.epidemic)
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
        before, before_m = _point(session, previous, None)
        now_at, now_m = _point(session, event, outcome.site)
        found.append(
            impossible_travel(
                previous=before,
                previous_at=previous.occurred_at,
                current=now_at,
                current_at=event.occurred_at,
                setting=profile.rule(Kind.impossible_travel),
                cause=cause,
                previous_uncertainty_m=before_m,
                current_uncertainty_m=now_m,
            )
        )
    found.append(_geofence(session, outcome, actor_org, profile, cause))

    if event.from_state == State.disposed:
        found.append(
            flagged(
                Kind.scan_after_disposal,
                setting=profile.rule(Kind.scan_after_disposal),
                cause=cause,
                threshold="any scan of a disposed container",
                facts={
                    "action": event.action,
                    "actor_organization_id": as_str(actor_org and actor_org.id),
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
        # What the collection weighed, after corrections (the container's course).
        collected = container.collect_kg
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
    stage = stage_ended_by(event.action, event.from_state)
    if stage is not None:
        since = outcome.stage_since_before
        if since is not None:
            kind = STAGE_RULE[stage.name]
            holder = _stage_holder(kind, origin, actor_org, manifest, orgs)
            stage_profile = profiles.of(holder, epidemic=container.epidemic)
            late = overdue(
                kind,
                since=since,
                now=event.occurred_at,
                setting=stage_profile.rule(kind),
            )
            if late is not None and kind is Kind.transit_overdue:
                extra.extend(_late_transit(session, outcome, manifest, holder, late, profiles))
            elif late is not None:
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


def _late_transit(
    session: Session,
    outcome: AcceptedScan,
    manifest: Manifest | None,
    holder: Organization | None,
    late: Finding,
    profiles: Profiles,
) -> list[tuple[Subject, Finding]]:
    """A bag received late. On a trip, the trip is late: one anomaly about the manifest,
    listing this bag and the trip's other bags still on the road past their limit at this
    receipt (the sweep's key, so the trip's other receipts and the next sweep add nothing)."""
    event, container = outcome.event, outcome.container
    bags = [
        LateBag.held_by(
            holder,
            container_id=container.id,
            manifest_id=manifest.id if manifest else None,
            finding=late,
        )
    ]
    if manifest is not None:
        orgs = directory(session)
        on_trip = [
            b
            for b in bags_in_transit(session, manifest_id=manifest.id)
            if b.container_id != container.id
        ]

        def setting(bag: BagInTransit) -> RuleSetting:
            owner = orgs.organization(bag.holder_id)
            return profiles.of(owner, epidemic=bag.epidemic).rule(Kind.transit_overdue)

        bags += [
            LateBag.held_by(
                orgs.organization(bag.holder_id),
                container_id=bag.container_id,
                manifest_id=manifest.id,
                finding=hit,
            )
            for bag, hit in late_bags(on_trip, now=event.occurred_at, setting=setting)
        ]
    return transit_findings(session, bags, event_id=event.id)


def _load_organizations(
    session: Session, event: CustodyEvent, container: Container, manifest: Manifest | None
) -> list[Organization]:
    """Every organization the per-scan rules may look at (from the directory in memory)."""
    wanted = {
        event.actor_organization_id,
        container.origin_organization_id,
        container.holder_organization_id,
        manifest.transporter_organization_id if manifest else None,
    }
    return list(directory(session).organizations(wanted).values())


def _stage_holder(
    kind: Kind,
    origin: Organization | None,
    actor_org: Organization | None,
    manifest: Manifest | None,
    orgs: dict[uuid.UUID, Organization],
) -> Organization | None:
    """Who held the container during the stage that a scan ends (whose profile times it)."""
    if kind is Kind.storage_overdue:
        return origin
    if kind is Kind.transit_overdue and manifest is not None:
        return orgs.get(manifest.transporter_organization_id)
    return actor_org


def _geofence(
    session: Session,
    outcome: AcceptedScan,
    actor_org: Organization | None,
    profile: Profile,
    cause: str,
) -> Finding | None:
    event = outcome.event
    if event.latitude is None or event.longitude is None or actor_org is None:
        return None
    if actor_org.kind == OrgKind.regulator:
        return None
    sites: list[SitePoint]
    if event.site_id is not None:
        site = outcome.site if outcome.site is not None else directory(session).site(event.site_id)
        sites = (
            [SitePoint(str(site.id), site.latitude, site.longitude, site.radius_m)] if site else []
        )
    elif event.action == Action.pickup and event.manifest_id is not None:
        manifest = outcome.manifest or session.get(Manifest, event.manifest_id)
        sites = _sites(session, manifest.origin_organization_id if manifest else None)
    else:
        sites = _sites(session, actor_org.id)
    return geofence_violation(
        point=(event.latitude, event.longitude),
        accuracy_m=event.accuracy_m,
        sites=sites,
        setting=profile.rule(Kind.geofence_violation),
        cause=cause,
    )
