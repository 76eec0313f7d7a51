"""The sweep: what silence reveals (a container nobody scans, a manifest nobody signs).

It reads only open work, through indexes: containers by (state, state_since), manifests by
state, open anomalies by (status, detected_at). Its cost grows with what is open now, never
with custody history. Findings are stored with ON CONFLICT DO NOTHING, so sweeps may run again,
late, or two at once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from service.anomalies.models import Anomaly, AnomalyStatus, AnomalyStep, Severity
from service.anomalies.profile import Profile, Profiles, RuleSetting
from service.anomalies.rules import STAGE_RULE, Finding, Kind, manifest_hard_limit, overdue
from service.anomalies.store import Subject, store_findings
from service.anomalies.track import sweep_track_gaps
from service.anomalies.trips import (
    BagInTransit,
    LateBag,
    bags_in_transit,
    late_bags,
    transit_findings,
)
from service.custody.models import Container
from service.custody.stages import DISPOSAL, STORAGE
from service.manifests.models import Manifest, ManifestState
from service.organizations.models import Organization, OrgKind

ESCALATE_AFTER = timedelta(hours=24)
_NEXT_LEVEL = {Severity.info: Severity.warning, Severity.warning: Severity.critical}

Progress = Callable[[str, int, int], None]


@dataclass
class SweepReport:
    at: datetime
    examined: dict[str, int] = field(default_factory=dict)
    new: list[Anomaly] = field(default_factory=list)
    escalated: list[Anomaly] = field(default_factory=list)

    @property
    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for anomaly in self.new:
            counts[anomaly.kind] += 1
        return dict(sorted(counts.items()))


@dataclass(frozen=True)
class _Org:
    id: uuid.UUID
    kind: str
    jurisdiction: str
    epidemic_mode: bool
    anomaly_profile: str | None = None


class _Profiles:
    """Profile lookups, memoised per (jurisdiction, epidemic, own profile) for one sweep."""

    def __init__(self, profiles: Profiles) -> None:
        self.profiles = profiles
        self._cache: dict[tuple[str, bool, str | None], Profile] = {}

    def __call__(self, org: _Org | None, epidemic: bool) -> Profile:
        key = (
            org.jurisdiction if org else "",
            epidemic or bool(org and org.epidemic_mode),
            org.anomaly_profile if org else None,
        )
        if key not in self._cache:
            self._cache[key] = self.profiles.of(org, epidemic=epidemic)
        return self._cache[key]


def shortest_limit(profiles: Profiles, kind: Kind, key: str = "limit_hours") -> timedelta | None:
    """The smallest limit any profile sets for ``kind``: the SQL pre-filter (each candidate is
    then judged against its own profile)."""
    limits = [
        limit
        for p in profiles.all()
        if kind in p.rules and (limit := p.rule(kind).hours(key)) is not None
    ]
    return min(limits) if limits else None


def _orgs(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, _Org]:
    wanted = list(set(ids))
    out: dict[uuid.UUID, _Org] = {}
    for start in range(0, len(wanted), 1000):
        for org in session.exec(
            select(Organization).where(col(Organization.id).in_(wanted[start : start + 1000]))
        ):
            out[org.id] = _Org(
                org.id, org.kind, org.jurisdiction, org.epidemic_mode, org.anomaly_profile
            )
    return out


def _stage_rows(
    session: Session, states: tuple[str, ...], cutoff: datetime
) -> list[tuple[str, uuid.UUID, uuid.UUID, bool, datetime]]:
    """Open containers in ``states`` whose current stage began before ``cutoff``: (id, origin,
    holder, epidemic, stage start). One range scan per state of the (state, stage_since)
    index: the work follows the open containers, never the history."""
    rows = session.execute(
        sa_select(
            col(Container.id),
            col(Container.origin_organization_id),
            col(Container.holder_organization_id),
            col(Container.epidemic),
            col(Container.stage_since),
        ).where(col(Container.state).in_(states), col(Container.stage_since) < cutoff)
    ).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def run_sweep(
    *,
    session: Session,
    now: datetime,
    profiles: Profiles,
    progress: Progress | None = None,
) -> SweepReport:
    """Find what silence reveals as of ``now`` and escalate stale critical work; store each
    finding once. The caller commits."""
    judge = _Profiles(profiles)
    report = SweepReport(at=now)
    found: list[tuple[Subject, Finding]] = []
    step = 0
    steps = 7

    def tick(label: str) -> None:
        nonlocal step
        step += 1
        if progress is not None:
            progress(label, step, steps)

    # storage_overdue and collection_interval_exceeded: waste at the hospital.
    limits = [
        x
        for x in (
            shortest_limit(profiles, Kind.storage_overdue),
            shortest_limit(profiles, Kind.collection_interval_exceeded),
        )
        if x is not None
    ]
    held = _stage_rows(session, tuple(sorted(STORAGE.states)), now - min(limits)) if limits else []
    orgs = _orgs(session, [r[1] for r in held])
    oldest: dict[uuid.UUID, datetime] = {}
    for cid, origin_id, holder_id, epidemic, since in held:
        origin = orgs.get(origin_id)
        profile = judge(origin, epidemic)
        if Kind.storage_overdue in profile.rules:
            hit = overdue(
                Kind.storage_overdue,
                since=since,
                now=now,
                setting=profile.rule(Kind.storage_overdue),
            )
            if hit is not None:
                found.append((_container(cid, origin), hit))
        oldest[holder_id] = min(since, oldest.get(holder_id, since))
    report.examined["hospital_waste"] = len(held)
    tick("storage")

    found.extend(_collection_interval(session, oldest, now, judge))
    tick("collection interval")

    transit, report.examined["in_transit"] = _transit_overdue(session, now, judge)
    found.extend(transit)
    tick("transit")

    at_plant, report.examined["at_plant"] = _stage_overdue(
        session,
        now,
        judge,
        STAGE_RULE[DISPOSAL.name],
        tuple(sorted(DISPOSAL.states)),
        holder_kind=OrgKind.disposal,
    )
    found.extend(at_plant)
    tick("disposal")

    found.extend(_manifests(session, now, judge, report))
    tick("manifests")

    _named, report.new = store_findings(session, found, now=now, named=False)
    # track_gap: trips in transit whose phone went silent (stored per episode, once).
    gaps, report.examined["trips_in_transit"] = sweep_track_gaps(session, now, profiles)
    report.new += gaps
    tick("tracks")
    report.escalated = escalate(session=session, now=now)
    tick("escalation")
    return report


def _stage_overdue(
    session: Session,
    now: datetime,
    profiles: _Profiles,
    kind: Kind,
    states: tuple[str, ...],
    *,
    holder_kind: OrgKind | None = None,
) -> tuple[list[tuple[Subject, Finding]], int]:
    """Containers in ``states`` whose stage has lasted longer than their holder's profile
    allows (optionally only where the holder is of ``holder_kind``); with how many were
    examined."""
    limit = shortest_limit(profiles.profiles, kind)
    if limit is None:
        return [], 0
    rows = _stage_rows(session, states, now - limit)
    orgs = _orgs(session, [r[2] for r in rows])
    found: list[tuple[Subject, Finding]] = []
    for cid, _origin, holder_id, epidemic, since in rows:
        holder = orgs.get(holder_id)
        if holder_kind is not None and (holder is None or holder.kind != holder_kind):
            continue
        hit = overdue(kind, since=since, now=now, setting=profiles(holder, epidemic).rule(kind))
        if hit is not None:
            found.append((_container(cid, holder), hit))
    return found, len(rows)


def _transit_overdue(
    session: Session, now: datetime, profiles: _Profiles
) -> tuple[list[tuple[Subject, Finding]], int]:
    """Bags in transit longer than their holder's profile allows: one finding per late trip,
    one per late bag on no trip; with how many bags were examined."""
    kind = Kind.transit_overdue
    limit = shortest_limit(profiles.profiles, kind)
    if limit is None:
        return [], 0
    bags = bags_in_transit(session, started_before=now - limit)
    orgs = _orgs(session, [bag.holder_id for bag in bags])

    def setting(bag: BagInTransit) -> RuleSetting:
        return profiles(orgs.get(bag.holder_id), bag.epidemic).rule(kind)

    late = [
        LateBag.held_by(
            orgs.get(bag.holder_id),
            container_id=bag.container_id,
            manifest_id=bag.manifest_id,
            finding=hit,
        )
        for bag, hit in late_bags(bags, now=now, setting=setting)
    ]
    return transit_findings(session, late), len(bags)


def _container(container_id: str, org: _Org | None) -> Subject:
    return Subject.container(
        container_id,
        jurisdiction=org.jurisdiction if org else "",
        organization_id=org.id if org else None,
    )


def _collection_interval(
    session: Session,
    oldest: dict[uuid.UUID, datetime],
    now: datetime,
    profiles: _Profiles,
) -> list[tuple[Subject, Finding]]:
    """A hospital holding waste with no pickup for longer than the limit: the clock runs from
    the later of its last dispatched trip and its oldest waiting waste."""
    if not oldest:
        return []
    last_pickup: dict[uuid.UUID, datetime | None] = dict(
        session.execute(
            sa_select(col(Manifest.origin_organization_id), func.max(col(Manifest.dispatched_at)))
            .where(col(Manifest.origin_organization_id).in_(list(oldest)))
            .group_by(col(Manifest.origin_organization_id))
        ).all()
    )
    orgs = _orgs(session, oldest)
    out = []
    for hospital_id, waiting_since in oldest.items():
        org = orgs.get(hospital_id)
        if org is None or org.kind != OrgKind.hospital:
            continue
        picked = last_pickup.get(hospital_id)
        since = max(waiting_since, picked) if picked else waiting_since
        setting = profiles(org, False).rules.get(Kind.collection_interval_exceeded)
        hit = (
            overdue(Kind.collection_interval_exceeded, since=since, now=now, setting=setting)
            if setting
            else None
        )
        if hit is not None:
            subject = Subject(
                key=f"organization:{hospital_id}",
                jurisdiction=org.jurisdiction,
                organization_id=hospital_id,
            )
            out.append((subject, hit))
    return out


def _manifests(
    session: Session, now: datetime, profiles: _Profiles, report: SweepReport
) -> list[tuple[Subject, Finding]]:
    """Manifests in transit the destination has not signed within the limit (and past the
    regulators' hard limit)."""
    rows = session.execute(
        sa_select(
            col(Manifest.id),
            col(Manifest.origin_organization_id),
            col(Manifest.destination_organization_id),
            col(Manifest.dispatched_at),
        ).where(col(Manifest.state) == ManifestState.in_transit)
    ).all()
    report.examined["manifests_in_transit"] = len(rows)
    orgs = _orgs(session, [r[1] for r in rows])
    out = []
    for manifest_id, origin_id, destination_id, dispatched_at in rows:
        if dispatched_at is None:
            continue
        origin = orgs.get(origin_id)
        setting = profiles(origin, False).rule(Kind.manifest_unconfirmed)
        subject = Subject.manifest(
            manifest_id,
            jurisdiction=origin.jurisdiction if origin else "",
            organization_id=destination_id,
        )
        for hit in (
            overdue(Kind.manifest_unconfirmed, since=dispatched_at, now=now, setting=setting),
            manifest_hard_limit(dispatched_at=dispatched_at, now=now, setting=setting),
        ):
            if hit is not None:
                out.append((subject, hit))
    return out


def escalate(*, session: Session, now: datetime) -> list[Anomaly]:
    """Open anomalies nobody has acknowledged within 24 h rise one level (info → warning →
    critical; a critical one is marked escalated), once, with a workflow step by no user."""
    stale = list(
        session.exec(
            select(Anomaly)
            .where(
                Anomaly.status == AnomalyStatus.open,
                col(Anomaly.detected_at) < now - ESCALATE_AFTER,
                col(Anomaly.escalated_at).is_(None),
            )
            .with_for_update(skip_locked=True)
        )
    )
    for anomaly in stale:
        before = anomaly.severity
        anomaly.severity = _NEXT_LEVEL.get(Severity(before), Severity.critical)
        anomaly.escalated_at = now
        anomaly.updated_at = now
        session.add(anomaly)
        session.add(
            AnomalyStep(
                anomaly_id=anomaly.id,
                from_status=anomaly.status,
                to_status=anomaly.status,
                user_id=None,
                note=f"escalated: open for more than 24 h ({before} → {anomaly.severity})",
                at=now,
            )
        )
    session.flush()
    return stale
