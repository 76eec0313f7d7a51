"""A region's figures, as the regulators' dashboard draws them: weights per day, anomalies per
day, how long containers stay in each stage, each organization's figures and the sites for the
map. SQL aggregates over the course each container keeps (:mod:`service.custody.course`),
counted per organization by the same :class:`Tally` as the compliance report.

Who sees what: an administrator any jurisdiction (or all), a regulator their jurisdiction, anyone
else their own organization.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from functools import partial
from time import perf_counter
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Engine, Select, case, cast, extract
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from schemas.reports import OrganizationFigures, RegionFigures, SiteFigures, StageStays
from service.anomalies.models import Anomaly, AnomalyStatus, Severity
from service.anomalies.profile import Profiles
from service.anomalies.rules import STAGE_RULE
from service.auth.actor import Actor
from service.auth.roles import Role
from service.custody.course import MICROSECOND, at_column, from_us, kg_column
from service.custody.machine import Action
from service.custody.models import Container
from service.custody.stages import STAGES
from service.errors import InvalidInput, NotFound
from service.jurisdictions import local_time
from service.organizations.models import Organization, OrgKind, Site
from service.reports.figures import (
    HOUR_US,
    Tally,
    began,
    profiles_of,
    stay,
    sums,
    tally,
    us,
)
from service.reports.service import visible_org
from service.reports.settled import Aggregate, Row, SettledFigures

log = logging.getLogger(__name__)

# The longest period one request may cover: a year, with room for a leap day and time zones.
MAX_PERIOD = timedelta(days=370)
# Stay buckets, in hours: the limits of the national and epidemic profiles fall on edges.
EDGES_HOURS = (6.0, 12.0, 24.0, 48.0, 72.0, 96.0, 168.0)
# Which timed action's day a weight counts on, and which weight it counts.
_WEIGHT_SERIES = {
    "collected": (Action.collect, Action.collect),
    "received": (Action.receive, Action.receive),
    "disposed": (Action.dispose, Action.receive),  # what the plant weighed in
}
_OPEN = (AnomalyStatus.open, AnomalyStatus.acknowledged)
_C = Container.__table__.c  # type: ignore[attr-defined]


def _slots(zone: tzinfo, days: list[date]) -> tuple[int, int]:
    """How to cut time into slots that each fall in one local day, as (offset, length) in
    microseconds: slot ``n`` begins at ``n * length - offset`` UTC. Whole days at the zone's
    offset when it stays the same over ``days`` (China's does), else quarter hours."""
    offsets = {
        datetime.combine(d, time(), zone).utcoffset() for d in (*days, days[-1] + timedelta(days=1))
    }
    if len(offsets) == 1 and (offset := offsets.pop()) is not None:
        return offset // MICROSECOND, 24 * HOUR_US
    return 0, HOUR_US // 4


def _scope(
    session: Session,
    actor: Actor,
    organization_id: uuid.UUID | None,
    jurisdiction: str | None,
) -> tuple[str | None, list[Organization]]:
    """The jurisdiction shown (None: several) and the organizations counted."""
    if organization_id is not None:
        org = visible_org(session, actor, organization_id)
        return org.jurisdiction, [org]
    if actor.is_admin:
        query = select(Organization)
        if jurisdiction is not None:
            query = query.where(Organization.jurisdiction == jurisdiction)
    elif actor.is_regulator:
        jurisdiction = actor.jurisdiction
        query = select(Organization).where(Organization.jurisdiction == jurisdiction)
    elif actor.organization_id is not None:
        org = visible_org(session, actor, actor.organization_id)
        return org.jurisdiction, [org]
    else:
        raise NotFound("the caller belongs to no organization")
    orgs = session.exec(query.where(Organization.kind != OrgKind.regulator)).all()
    return jurisdiction, sorted(orgs, key=lambda o: o.name)


def region_figures(
    *,
    session: Session,
    actor: Actor,
    period_from: datetime,
    period_to: datetime,
    now: datetime,
    profiles: Profiles,
    organization_id: uuid.UUID | None = None,
    jurisdiction: str | None = None,
    settled: SettledFigures | None = None,
) -> RegionFigures:
    if period_to <= period_from:
        raise InvalidInput("'to' must be after 'from'")
    if period_to - period_from > MAX_PERIOD:
        raise InvalidInput(f"a period covers at most {MAX_PERIOD.days} days")
    shown, orgs = _scope(session, actor, organization_id, jurisdiction)
    zone = local_time(shown)
    first, last = period_from.astimezone(zone).date(), period_to.astimezone(zone).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    index = {d: i for i, d in enumerate(days)}

    def day_of(at: datetime) -> int | None:
        return index.get(at.astimezone(zone).date())

    tallies = {o.id: Tally(profiles_of(o, profiles)) for o in orgs}
    kept = settled.look(session, now) if settled is not None else None
    containers = tally(
        session, tallies, period_from=period_from, period_to=period_to, now=now, settled=kept
    )
    sums_of = partial(
        sums,
        session,
        period_from=period_from,
        period_to=period_to,
        organizations=list(tallies),
        settled=kept,
    )
    weights = _weights_per_day(sums_of, zone, days, day_of)
    ended, ongoing = _stays(sums_of, now)

    region_profile = profiles.for_jurisdiction(shown)
    stages = []
    for stage in STAGES:
        limit = region_profile.rule(STAGE_RULE[stage.name]).hours()
        stages.append(
            StageStays(
                stage=stage.name,
                rule=str(STAGE_RULE[stage.name]),
                limit_hours=limit / timedelta(hours=1) if limit else None,
                edges_hours=list(EDGES_HOURS),
                ended=ended[stage.name],
                ongoing=ongoing[stage.name],
            )
        )
    org_ids = list(tallies)
    return RegionFigures(
        jurisdiction=shown,
        period_from=period_from,
        period_to=period_to,
        days=days,
        containers=containers,
        weights_per_day={k: [round(v, 3) for v in series] for k, series in weights.items()},
        anomalies_per_day=_anomalies_per_day(
            session, org_ids, period_from, period_to, _slots(zone, days), day_of, len(days)
        ),
        stages=stages,
        organizations=_organizations(session, orgs, tallies),
        sites=[
            SiteFigures(
                site_id=s.id,
                organization_id=s.organization_id,
                name=s.name,
                latitude=s.latitude,
                longitude=s.longitude,
            )
            for s in session.exec(
                select(Site)
                .where(col(Site.organization_id).in_(org_ids))
                .order_by(col(Site.organization_id), col(Site.name))
            )
        ],
    )


def _weights_per_day(
    sums_of: Callable[[Aggregate], list[Row]],
    zone: tzinfo,
    days: list[date],
    day_of: Callable[[datetime], int | None],
) -> dict[str, list[float]]:
    """Every series in one pass: the weights summed per combination of the slots their
    actions fall in (a few thousand: a container is collected, received and disposed within
    days), then each series' weight added to the day of its action's slot."""
    weights = {name: [0.0] * len(days) for name in _WEIGHT_SERIES}
    offset, length = _slots(zone, days)
    actions = list(dict.fromkeys(on for on, _ in _WEIGHT_SERIES.values()))
    weighed = list(dict.fromkeys(kg for _, kg in _WEIGHT_SERIES.values()))
    slots = [(_C[at_column(a)] + us(offset)) // us(length) for a in actions]
    totals = [func.sum(_C[kg_column(w)]) for w in weighed]

    def build(where: list[ColumnElement[bool]], by: list[ColumnElement[Any]]) -> Select[Any]:
        return sa_select(*by, *slots, *totals).where(*where).group_by(*by, *slots)

    for row in sums_of(Aggregate("weights", (offset, length), len(slots), build)):
        slot_of = dict(zip(actions, row[: len(actions)], strict=True))
        kg_of = dict(zip(weighed, row[len(actions) :], strict=True))
        for name, (on, kg) in _WEIGHT_SERIES.items():
            n, total = slot_of[on], kg_of[kg]
            i = day_of(from_us(n * length - offset)) if n is not None else None
            if i is not None and total:
                weights[name][i] += total
    return weights


def _stays(
    sums_of: Callable[[Aggregate], list[Row]], now: datetime
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Per stage, how many stays ended and how many go on, in each bucket of their length:
    one pass, grouped by every stage's bucket (none where the stage did not begin)."""
    ended = {s.name: [0] * (len(EDGES_HOURS) + 1) for s in STAGES}
    ongoing = {s.name: [0] * (len(EDGES_HOURS) + 1) for s in STAGES}
    keys: list[ColumnElement[Any]] = []
    for stage in STAGES:
        keys.append(
            case(
                (began(stage).is_(None), None),
                *(
                    (stay(stage, now) < us(round(edge * HOUR_US)), i)
                    for i, edge in enumerate(EDGES_HOURS)
                ),
                else_=len(EDGES_HOURS),
            )
        )
        keys.append(_C[at_column(stage.ends)].is_(None))

    def build(where: list[ColumnElement[bool]], by: list[ColumnElement[Any]]) -> Select[Any]:
        return sa_select(*by, *keys, func.count()).where(*where).group_by(*by, *keys)

    for *buckets, n in sums_of(Aggregate("stays", EDGES_HOURS, len(keys), build)):
        for stage, b, still in zip(STAGES, buckets[::2], buckets[1::2], strict=True):
            if b is not None:
                (ongoing if still else ended)[stage.name][b] += n
    return ended, ongoing


def _anomalies_per_day(
    session: Session,
    org_ids: list[uuid.UUID],
    period_from: datetime,
    period_to: datetime,
    slots: tuple[int, int],
    day_of: Callable[[datetime], int | None],
    n_days: int,
) -> dict[str, list[int]]:
    """How many anomalies of each kind were detected on each day: counted per kind and slot
    (:func:`_slots`) by the database, the slots then put on their days."""
    offset, length = (v // 1_000_000 for v in slots)  # whole seconds
    seconds = _epoch_seconds(session, Anomaly.__table__.c.detected_at)  # type: ignore[attr-defined]
    slot = (seconds + offset) // length
    per_day: dict[str, list[int]] = defaultdict(lambda: [0] * n_days)
    for kind, n, count in session.connection().execute(
        sa_select(col(Anomaly.kind), slot, func.count())
        .where(
            col(Anomaly.organization_id).in_(org_ids),
            col(Anomaly.detected_at) >= period_from,
            col(Anomaly.detected_at) < period_to,
        )
        .group_by(col(Anomaly.kind), slot)
    ):
        i = day_of(from_us((n * length - offset) * 1_000_000))
        if i is not None:
            per_day[kind][i] += count
    return dict(sorted(per_day.items()))


def _epoch_seconds(session: Session, column: Any) -> ColumnElement[int]:
    """A timestamp column as whole seconds since 1970 (UTC), on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(extract("epoch", column)), BigInteger)
    # SQLite keeps UTC as ISO text; its date functions round to the millisecond, so the
    # fraction of a second is cut off first.
    return cast(func.strftime("%s", func.substr(column, 1, 19)), BigInteger)


def _organizations(
    session: Session, orgs: list[Organization], tallies: dict[uuid.UUID, Tally]
) -> list[OrganizationFigures]:
    open_count: Counter[uuid.UUID] = Counter()
    critical: Counter[uuid.UUID] = Counter()
    for org_id, severity, n in session.exec(
        select(Anomaly.organization_id, Anomaly.severity, func.count())
        .where(
            col(Anomaly.organization_id).in_(list(tallies)),
            col(Anomaly.status).in_(_OPEN),
        )
        .group_by(col(Anomaly.organization_id), col(Anomaly.severity))
    ):
        assert org_id is not None
        open_count[org_id] += n
        if severity == Severity.critical:
            critical[org_id] += n
    return [
        OrganizationFigures(
            organization_id=o.id,
            name=o.name,
            kind=o.kind,
            jurisdiction=o.jurisdiction,
            license_number=o.license_number,
            license_expires=o.license_expires,
            profile=tallies[o.id].profile(False).name,
            containers=tallies[o.id].containers,
            on_time=tallies[o.id].on_time(),
            weights=tallies[o.id].weights(),
            open_anomalies=open_count[o.id],
            critical_open_anomalies=critical[o.id],
        )
        for o in orgs
    ]


def keep_region_sums(
    engine: Engine | Connection,
    settled: SettledFigures,
    profiles: Profiles,
    clock: Callable[[], datetime],
) -> None:
    """Compute what ``settled`` keeps for each jurisdiction's region over the longest period a
    request may ask for, so that a regulator's first request after the server starts is
    answered from kept sums (a province's year takes seconds to add up the first time)."""
    warden = Actor(
        user_id=uuid.UUID(int=0),
        username="kept sums",
        role=Role.admin,
        organization_id=None,
        organization_kind=None,
        jurisdiction=None,
    )
    with Session(engine) as session:
        jurisdictions = session.exec(select(Organization.jurisdiction).distinct()).all()
    for jurisdiction in sorted(j for j in jurisdictions if j is not None):
        now = clock()
        started = perf_counter()
        with Session(engine) as session:
            figures = region_figures(
                session=session,
                actor=warden,
                period_from=now - MAX_PERIOD,
                period_to=now,
                now=now,
                profiles=profiles,
                jurisdiction=jurisdiction,
                settled=settled,
            )
        log.info(
            "region sums of %s kept: %d containers in %.1f s",
            jurisdiction,
            figures.containers,
            perf_counter() - started,
        )
