"""What every report counts, as SQL aggregates over the course each container keeps
(:mod:`service.custody.course`): the containers registered in a period that some organizations
originated, hold or have custody of, grouped by who those parties are, the epidemic flag and
the state, and one tally of those groups per organization. The compliance report and the region
figures both count through here, so a figure an organization sees in its report is the figure
the regulator's region shows for it.

A stay is on time when it ended (or, still going, has lasted) within the limit of the profile
the anomaly rules judge that container by: the organization's, its epidemic variant for
epidemic waste. Limits differ per organization, so each group counts its late stays once per
limit any counted organization uses; each organization then reads the count for its own limit,
judged to the microsecond as :func:`service.anomalies.rules.overdue` judges (exactly the limit
is on time; a rule without a limit is never late).
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, ColumnElement, Select, case, func, literal, or_, select
from sqlmodel import Session

from schemas.reports import DwellStats, OnTime, Weights
from service.anomalies.profile import Profile, ProfiledOrganization, Profiles
from service.anomalies.rules import STAGE_RULE
from service.custody.course import COURSE_ACTIONS, MICROSECOND, at_column, kg_column, to_us
from service.custody.machine import Action, State
from service.custody.models import Container
from service.custody.stages import STAGES, Stage
from service.reports.settled import Aggregate, Row, Settled, summed

HOUR_US = 3_600_000_000
_C = Container.__table__.c  # type: ignore[attr-defined]


def counted(
    *,
    period_from: datetime,
    period_to: datetime,
    organizations: Collection[uuid.UUID] | None,
) -> list[ColumnElement[bool]]:
    """The containers registered in ``[period_from, period_to)`` that any of ``organizations``
    (None: any organization) originated, holds or has custody of."""
    where: list[ColumnElement[bool]] = [
        _C.created_at >= period_from,
        _C.created_at < period_to,
    ]
    if organizations is not None:
        ids = list(organizations)
        where.append(
            or_(
                _C.origin_organization_id.in_(ids),
                _C.holder_organization_id.in_(ids),
                _C.custodian_organization_id.in_(ids),
            )
        )
    return where


def us(value: int) -> ColumnElement[int]:
    """An integer the database adds to and compares with the course columns (a bigint)."""
    return literal(value, BigInteger)


def began(stage: Stage) -> ColumnElement[int]:
    return _C[at_column(stage.begins)]  # type: ignore[no-any-return]


def stay(stage: Stage, now: datetime) -> ColumnElement[int]:
    """How long ``stage`` lasted, or has lasted by ``now`` while it goes on (microseconds)."""
    return func.coalesce(_C[at_column(stage.ends)], us(to_us(now))) - began(stage)


class Group(NamedTuple):
    """The counted containers of one combination of parties, epidemic flag and state."""

    parties: frozenset[uuid.UUID]  # origin, holder and custodian organizations
    epidemic: bool
    state: str
    containers: int
    collected: float
    received: float
    # Per stage: how many began it, and how many of those overran each limit (microseconds).
    begun: Mapping[str, int]
    late: Mapping[str, Mapping[int, int]]


def _counting(
    organizations: Collection[uuid.UUID] | None,
) -> Callable[[datetime, datetime], list[ColumnElement[bool]]]:
    def where(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
        return counted(period_from=start, period_to=end, organizations=organizations)

    return where


def sums(
    session: Session,
    aggregate: Aggregate,
    *,
    period_from: datetime,
    period_to: datetime,
    organizations: Collection[uuid.UUID] | None,
    settled: Settled | None,
) -> list[Row]:
    """``aggregate`` over the containers :func:`counted` counts for the period."""
    return summed(
        session,
        aggregate,
        where=_counting(organizations),
        period_from=period_from,
        period_to=period_to,
        scope=None if organizations is None else frozenset(organizations),
        settled=settled,
    )


def groups(
    session: Session,
    *,
    period_from: datetime,
    period_to: datetime,
    organizations: Collection[uuid.UUID] | None,
    now: datetime,
    limits: Mapping[str, Collection[int]],
    settled: Settled | None = None,
) -> list[Group]:
    """The counted containers in groups, with their late stays counted against each of
    ``limits`` (per stage, in microseconds)."""
    keys = [
        _C.origin_organization_id,
        _C.holder_organization_id,
        _C.custodian_organization_id,
        _C.epidemic,
        _C.state,
    ]
    figures: list[ColumnElement[Any]] = [
        func.count(),
        func.sum(_C[kg_column(Action.collect)]),
        func.sum(_C[kg_column(Action.receive)]),
    ]
    figures += [func.count(began(stage)) for stage in STAGES]
    late_columns = [(s, limit) for s in STAGES for limit in sorted(limits.get(s.name, ()))]
    figures += [func.sum(case((stay(s, now) > us(limit), 1), else_=0)) for s, limit in late_columns]

    def build(where: list[ColumnElement[bool]], by: list[ColumnElement[Any]]) -> Select[Any]:
        return select(*by, *keys, *figures).where(*where).group_by(*by, *keys)

    aggregate = Aggregate(
        "groups", tuple((s.name, limit) for s, limit in late_columns), len(keys), build
    )
    out = []
    for row in sums(
        session,
        aggregate,
        period_from=period_from,
        period_to=period_to,
        organizations=organizations,
        settled=settled,
    ):
        origin, holder, custodian, epidemic, state, n, collected, received, *rest = row
        begun = dict(zip((s.name for s in STAGES), rest[: len(STAGES)], strict=True))
        late: dict[str, dict[int, int]] = {s.name: {} for s in STAGES}
        for (stage, limit), count in zip(late_columns, rest[len(STAGES) :], strict=True):
            late[stage.name][limit] = int(count or 0)
        out.append(
            Group(
                parties=frozenset(p for p in (origin, holder, custodian) if p is not None),
                epidemic=bool(epidemic),
                state=str(state),
                containers=int(n),
                collected=float(collected or 0.0),
                received=float(received or 0.0),
                begun=begun,
                late=late,
            )
        )
    return out


def dwell(
    session: Session,
    *,
    period_from: datetime,
    period_to: datetime,
    organizations: Collection[uuid.UUID] | None,
) -> dict[str, DwellStats]:
    """Per stage, the ended stays of the counted containers: how many, and the median and the
    90th percentile of their length in hours. One read of the stages' times."""
    where = counted(period_from=period_from, period_to=period_to, organizations=organizations)
    times = [_C[at_column(a)] for a in COURSE_ACTIONS]
    rows = session.connection().execute(select(*times).where(*where)).all()
    out: dict[str, DwellStats] = {}
    for stage in STAGES:
        b, e = COURSE_ACTIONS.index(stage.begins), COURSE_ACTIONS.index(stage.ends)
        hours = [(row[e] - row[b]) / HOUR_US for row in rows if None not in (row[b], row[e])]
        out[stage.name] = dwell_stats(hours)
    return out


def limit_us(profile: Profile, stage: str) -> int | None:
    """The stage's limit under ``profile`` in microseconds (None: never late)."""
    limit = profile.rule(STAGE_RULE[stage]).hours()
    return None if limit is None else limit // MICROSECOND


def profiles_of(org: ProfiledOrganization, profiles: Profiles) -> Callable[[bool], Profile]:
    """Which profile judges ``org``'s containers: epidemic waste or not."""

    def profile(epidemic: bool) -> Profile:
        return profiles.of(org, epidemic=epidemic)

    return profile


def dwell_stats(hours: list[float]) -> DwellStats:
    if not hours:
        return DwellStats(count=0, median_hours=None, p90_hours=None)
    ordered = sorted(hours)
    p90 = (
        statistics.quantiles(ordered, n=10, method="inclusive")[8]
        if len(ordered) > 1
        else ordered[0]
    )
    return DwellStats(
        count=len(ordered),
        median_hours=round(statistics.median(ordered), 2),
        p90_hours=round(p90, 2),
    )


@dataclass
class Tally:
    """One organization's figures over the groups added to it."""

    profile: Callable[[bool], Profile]
    containers: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    collected: float = 0.0
    received: float = 0.0
    disposed: float = 0.0
    total: Counter[str] = field(default_factory=Counter)
    late: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._limits = {
            epidemic: {s.name: limit_us(self.profile(epidemic), s.name) for s in STAGES}
            for epidemic in (False, True)
        }

    def limits(self) -> dict[str, set[int]]:
        """Per stage, the limits its groups must be counted against."""
        return {
            s.name: {v for by in self._limits.values() if (v := by[s.name]) is not None}
            for s in STAGES
        }

    def add(self, group: Group) -> None:
        self.containers += group.containers
        self.by_state[group.state] += group.containers
        self.collected += group.collected
        self.received += group.received
        if group.state == State.disposed:
            self.disposed += group.received
        for stage in STAGES:
            self.total[stage.name] += group.begun[stage.name]
            limit = self._limits[group.epidemic][stage.name]
            if limit is not None:
                self.late[stage.name] += group.late[stage.name][limit]

    def on_time(self) -> list[OnTime]:
        usual = self.profile(False)
        out = []
        for stage in STAGES:
            name, kind = stage.name, STAGE_RULE[stage.name]
            limit = usual.rule(kind).hours()
            total, late = self.total[name], self.late[name]
            out.append(
                OnTime(
                    rule=str(kind),
                    limit_hours=limit / timedelta(hours=1) if limit else None,
                    total=total,
                    late=late,
                    rate=round(1 - late / total, 4) if total else None,
                )
            )
        return out

    def weights(self) -> Weights:
        return Weights(
            collected_kg=round(self.collected, 3),
            received_kg=round(self.received, 3),
            disposed_kg=round(self.disposed, 3),
        )


def tally(
    session: Session,
    tallies: Mapping[uuid.UUID, Tally],
    *,
    period_from: datetime,
    period_to: datetime,
    now: datetime,
    settled: Settled | None = None,
) -> int:
    """Add the period's containers to the tally of each organization among their parties;
    returns how many containers were counted (each once)."""
    limits: dict[str, set[int]] = {s.name: set() for s in STAGES}
    for t in tallies.values():
        for stage, values in t.limits().items():
            limits[stage] |= values
    containers = 0
    for group in groups(
        session,
        period_from=period_from,
        period_to=period_to,
        organizations=list(tallies),
        now=now,
        limits=limits,
        settled=settled,
    ):
        containers += group.containers
        for party in group.parties & tallies.keys():
            tallies[party].add(group)
    return containers
