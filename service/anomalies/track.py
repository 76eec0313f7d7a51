"""Detection on a trip's track: as points arrive (the ``on_points`` hook of
:func:`service.tracks.service.record_points`) and by the sweep (a phone gone silent), and the
track as readers see it, with its stops and what the rules found on it.

Anomalies are the manifest's, in the queue of the origin's jurisdiction, with the transporter
as the organization answerable. Each episode is raised once: its key is its first moment, and
a finding that overlaps an anomaly already raised for the same kind on the same trip (an
episode whose start moved when late points arrived) is that anomaly, not a new one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from schemas.custody import AnomalyBrief
from schemas.tracks import TrackPointPublic, TrackPublic, TrackStop
from service.anomalies.models import Anomaly
from service.anomalies.profile import Profile, Profiles
from service.anomalies.rules import Finding, Kind, SitePoint
from service.anomalies.store import Subject, dedupe_key, store_findings
from service.anomalies.track_rules import (
    Fix,
    Load,
    cross_border,
    route_deviation,
    stops_of,
    track_gap,
    unscheduled_stop,
)
from service.jurisdictions import Box, bounds
from service.manifests.models import Manifest, ManifestState
from service.manifests.trip import trip_of
from service.organizations.directory import directory
from service.organizations.models import Organization
from service.tracks.models import TrackPoint
from service.tracks.service import points_of

TRACK_KINDS = (Kind.unscheduled_stop, Kind.route_deviation, Kind.track_gap, Kind.cross_border)


@dataclass(frozen=True)
class TripFacts:
    """What the track rules judge a trip against."""

    subject: Subject
    profile: Profile
    loads: list[Load]
    sites: list[SitePoint]
    origins: list[tuple[float, float]]
    destinations: list[tuple[float, float]]
    allowed: dict[str, Box]


def _sites(session: Session, organization_id: uuid.UUID) -> list[SitePoint]:
    return [
        SitePoint(str(s.id), s.latitude, s.longitude, s.radius_m)
        for s in directory(session).sites_of(organization_id)
    ]


def _allowed(origin: Organization | None, destination: Organization | None) -> dict[str, Box]:
    """The jurisdictions the trip may cross: the origin's, and the destination's when the
    manifest names one in another province (the manifest is the transfer's record). Empty
    when any of them has no box on file (nothing can be judged)."""
    names = {o.jurisdiction for o in (origin, destination) if o is not None}
    boxes = {name: bounds(name) for name in names}
    if not boxes or any(box is None for box in boxes.values()):
        return {}
    return {name: box for name, box in boxes.items() if box is not None}


def trip_facts(session: Session, manifest: Manifest, profiles: Profiles) -> TripFacts:
    orgs = directory(session).organizations(
        {
            manifest.origin_organization_id,
            manifest.transporter_organization_id,
            manifest.destination_organization_id,
        }
    )
    origin = orgs.get(manifest.origin_organization_id)
    destination = orgs.get(manifest.destination_organization_id)
    loads = [
        Load(
            container_id=line.container.id,
            picked_up_at=line.pickup.occurred_at,
            received_at=line.receipt.occurred_at if line.receipt is not None else None,
        )
        for line in trip_of(session, manifest).lines
    ]
    origin_sites = _sites(session, manifest.origin_organization_id)
    destination_sites = _sites(session, manifest.destination_organization_id)
    return TripFacts(
        subject=Subject.manifest(
            manifest.id,
            jurisdiction=origin.jurisdiction if origin else "",
            organization_id=manifest.transporter_organization_id,
        ),
        profile=profiles.of(origin),
        loads=loads,
        sites=[
            *origin_sites,
            *_sites(session, manifest.transporter_organization_id),
            *destination_sites,
        ],
        origins=[(s.latitude, s.longitude) for s in origin_sites],
        destinations=[(s.latitude, s.longitude) for s in destination_sites],
        allowed=_allowed(origin, destination),
    )


def fixes_of(session: Session, manifest_id: uuid.UUID) -> list[Fix]:
    rows = session.execute(
        sa_select(
            col(TrackPoint.recorded_at),
            col(TrackPoint.latitude),
            col(TrackPoint.longitude),
            col(TrackPoint.accuracy_m),
        )
        .where(col(TrackPoint.manifest_id) == manifest_id)
        .order_by(col(TrackPoint.recorded_at))
    ).all()
    return [Fix(r[0], r[1], r[2], r[3]) for r in rows]


def judge(fixes: Sequence[Fix], facts: TripFacts, *, now: datetime | None = None) -> list[Finding]:
    """Every track rule the trip's profile has, over its fixes (``now``: the sweep's moment,
    for a silence still going on)."""
    rules = facts.profile.rules
    found: list[Finding] = []
    if Kind.unscheduled_stop in rules:
        found += unscheduled_stop(
            fixes=fixes,
            loads=facts.loads,
            sites=facts.sites,
            setting=rules[Kind.unscheduled_stop],
        )
    if Kind.route_deviation in rules:
        found += route_deviation(
            fixes=fixes,
            loads=facts.loads,
            origins=facts.origins,
            destinations=facts.destinations,
            setting=rules[Kind.route_deviation],
        )
    if Kind.track_gap in rules:
        found += track_gap(fixes=fixes, loads=facts.loads, setting=rules[Kind.track_gap], now=now)
    if Kind.cross_border in rules:
        found += cross_border(
            fixes=fixes, loads=facts.loads, allowed=facts.allowed, setting=rules[Kind.cross_border]
        )
    return found


def _span(facts: dict[str, object]) -> tuple[datetime, datetime | None] | None:
    start, end = facts.get("from"), facts.get("to")
    if not isinstance(start, str):
        return None
    return datetime.fromisoformat(start), (
        datetime.fromisoformat(end) if isinstance(end, str) else None
    )


def _overlap(a: tuple[datetime, datetime | None], b: tuple[datetime, datetime | None]) -> bool:
    return (b[1] is None or a[0] <= b[1]) and (a[1] is None or b[0] <= a[1])


def store_episodes(
    session: Session,
    manifest_id: uuid.UUID,
    subject: Subject,
    found: Sequence[Finding],
    *,
    now: datetime,
) -> list[Anomaly]:
    """Store each episode once; the new anomalies. A finding for an episode already raised
    (the same key, or the same kind over an overlapping span: its start moved when late points
    arrived) is that anomaly again: its facts grow with the episode (a stop that lasted longer,
    a silence that ended), nothing else about it changes."""
    if not found:
        return []
    raised = session.exec(
        select(Anomaly).where(
            Anomaly.manifest_id == manifest_id,
            col(Anomaly.kind).in_([str(k) for k in TRACK_KINDS]),
        )
    ).all()
    fresh = []
    for finding in found:
        key, span = dedupe_key(subject, finding), _span(finding.facts)
        same = next(
            (
                a
                for a in raised
                if a.kind == finding.kind
                and (
                    a.dedupe_key == key
                    or (span is not None and (other := _span(a.facts)) and _overlap(span, other))
                )
            ),
            None,
        )
        if same is None:
            fresh.append((subject, finding))
        elif _grown(same.facts, finding.facts):
            same.facts = finding.facts
            same.updated_at = now
            session.add(same)
    _named, new = store_findings(session, fresh, now=now, named=False)
    return new


def _grown(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether ``after`` tells more of the same episode: it lasted longer, or it ended."""
    longer = float(after.get("minutes") or 0) > float(before.get("minutes") or 0)
    ended = before.get("ongoing") is True and after.get("ongoing") is False
    return longer or ended


def on_track(
    session: Session, manifest: Manifest, now: datetime, profiles: Profiles
) -> list[Anomaly]:
    """Judge a trip's whole track after new points arrived; the anomalies newly raised."""
    facts = trip_facts(session, manifest, profiles)
    found = judge(fixes_of(session, manifest.id), facts)
    return store_episodes(session, manifest.id, facts.subject, found, now=now)


def _shortest_gap(profiles: Profiles) -> timedelta | None:
    limits = [
        p.rule(Kind.track_gap).number("limit_minutes", 30) or 30.0
        for p in profiles.all()
        if Kind.track_gap in p.rules
    ]
    return timedelta(minutes=min(limits)) if limits else None


def sweep_track_gaps(
    session: Session, now: datetime, profiles: Profiles
) -> tuple[list[Anomaly], int]:
    """Trips in transit whose phone has gone silent for longer than the limit (a phone switched
    off): the new anomalies, and how many trips were examined."""
    limit = _shortest_gap(profiles)
    if limit is None:
        return [], 0
    # Each trip's last fix through the (manifest, time) index: the work follows the trips in
    # transit, never the stored tracks.
    last = (
        sa_select(func.max(col(TrackPoint.recorded_at)))
        .where(col(TrackPoint.manifest_id) == col(Manifest.id))
        .scalar_subquery()
    )
    rows = session.execute(
        sa_select(col(Manifest.id), last).where(col(Manifest.state) == ManifestState.in_transit)
    ).all()
    new: list[Anomaly] = []
    for manifest_id, latest in rows:
        # No fix at all: a trip not tracked (the rule judges nothing); a recent fix: no gap.
        if latest is None or now - latest <= limit:
            continue
        manifest = session.get(Manifest, manifest_id)
        if manifest is None:
            continue
        facts = trip_facts(session, manifest, profiles)
        setting = facts.profile.rules.get(Kind.track_gap)
        if setting is None:
            continue
        found = track_gap(
            fixes=fixes_of(session, manifest_id), loads=facts.loads, setting=setting, now=now
        )
        new += store_episodes(session, manifest_id, facts.subject, found, now=now)
    return new, len(rows)


def track_view(session: Session, manifest: Manifest, profiles: Profiles) -> TrackPublic:
    """The trip's track as readers see it: its points, its stops (as the trip's profile sees
    them, at the parties' sites or not) and the anomalies the track rules raised on it."""
    points = points_of(session, manifest.id)
    facts = trip_facts(session, manifest, profiles)
    fixes = [Fix(p.recorded_at, p.latitude, p.longitude, p.accuracy_m) for p in points]
    setting = facts.profile.rules.get(Kind.unscheduled_stop)
    stops = stops_of(fixes, setting) if setting is not None else []
    anomalies = session.exec(
        select(Anomaly)
        .where(
            Anomaly.manifest_id == manifest.id,
            col(Anomaly.kind).in_([str(k) for k in TRACK_KINDS]),
        )
        .order_by(col(Anomaly.detected_at), col(Anomaly.id))
    ).all()
    return TrackPublic(
        manifest_id=manifest.id,
        points=[TrackPointPublic.model_validate(p) for p in points],
        stops=[
            TrackStop(
                started_at=s.started_at,
                ended_at=s.ended_at,
                minutes=s.minutes,
                latitude=s.latitude,
                longitude=s.longitude,
            )
            for s in stops
        ],
        anomalies=[AnomalyBrief.model_validate(a) for a in anomalies],
    )
