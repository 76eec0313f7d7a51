"""What every report reads: each container's course through the timed stages, and one tally of
it per organization. The compliance report and the region figures both count through here, so
a figure an organization sees in its report is the figure the regulator's region shows for it.

A container's course is read from the events that still stand after corrections, with the
corrected weights (:mod:`service.custody.ledger`): the first standing event of each action that
begins or ends a stage (:mod:`service.custody.stages`). Rows are streamed, one container at a
time, without building ORM objects: a province's year is millions of events.
"""

from __future__ import annotations

import itertools
import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import String, and_, or_, select, type_coerce
from sqlmodel import Session

from schemas.reports import DwellStats, OnTime, Weights
from service.anomalies.detection import ProfiledOrganization, org_profile
from service.anomalies.profile import Profile
from service.anomalies.rules import STAGE_RULE, overdue
from service.custody.ledger import corrected_weights, standing_events
from service.custody.machine import Action, State
from service.custody.models import Container, CustodyEvent
from service.custody.stages import STAGES

# The actions a course is made of, and the corrections that may void or reweigh them.
_TIMED = frozenset(a for stage in STAGES for a in (stage.begins, stage.ends))
_READ = sorted({*_TIMED, Action.correct})
_ROWS_PER_FETCH = 5000


class _Event(NamedTuple):
    id: int | None
    action: str
    weight_kg: float | None
    corrects_event_id: int | None
    correction_reason: str | None
    correction_data: Mapping[str, Any] | None
    occurred_at: datetime


@dataclass(frozen=True)
class Course:
    """One container as the reports count it."""

    id: str
    state: str
    parties: frozenset[uuid.UUID]  # origin, holder and custodian organizations
    epidemic: bool
    # The first standing event of each timed action: when, and its (corrected) weight.
    at: Mapping[str, datetime]
    weights: Mapping[str, float | None]

    def stays(self) -> Iterator[tuple[str, datetime, datetime | None]]:
        """(stage, began, ended or None while it goes on) for each stage the container began."""
        for stage in STAGES:
            began = self.at.get(stage.begins)
            if began is not None:
                yield stage.name, began, self.at.get(stage.ends)


def courses(
    session: Session,
    *,
    period_from: datetime,
    period_to: datetime,
    organizations: Collection[uuid.UUID] | None,
) -> Iterator[Course]:
    """The containers registered in ``[period_from, period_to)`` that any of ``organizations``
    (None: any organization) originated, holds or has custody of."""
    c, e = Container.__table__.c, CustodyEvent.__table__.c  # type: ignore[attr-defined]
    where = [c.created_at >= period_from, c.created_at < period_to]
    if organizations is not None:
        ids = list(organizations)
        where.append(
            or_(
                c.origin_organization_id.in_(ids),
                c.holder_organization_id.in_(ids),
                c.custodian_organization_id.in_(ids),
            )
        )
    # Raw values (strings on SQLite), converted once per container rather than by the column
    # types on every row: the courses of a province's year are millions of rows.
    stmt = (
        select(
            c.id,
            type_coerce(c.state, String),
            type_coerce(c.origin_organization_id, String),
            type_coerce(c.holder_organization_id, String),
            type_coerce(c.custodian_organization_id, String),
            c.epidemic,
            e.id,
            type_coerce(e.action, String),
            e.weight_kg,
            e.corrects_event_id,
            type_coerce(e.correction_reason, String),
            e.correction_data,
            type_coerce(e.occurred_at, String),
        )
        .select_from(
            Container.__table__.outerjoin(  # type: ignore[attr-defined]
                CustodyEvent.__table__,  # type: ignore[attr-defined]
                and_(e.container_id == c.id, e.action.in_(_READ)),
            )
        )
        .where(*where)
        .order_by(c.id, e.seq)
        .execution_options(yield_per=_ROWS_PER_FETCH)
    )
    rows = session.connection().execute(stmt)
    for container_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        first, *rest = list(group)
        chain = [
            _Event(row[6], row[7], row[8], row[9], row[10], row[11], _utc(row[12]))
            for row in (first, *rest)
            if row[6] is not None
        ]
        weights = corrected_weights(chain)
        at: dict[str, datetime] = {}
        weight: dict[str, float | None] = {}
        for event in standing_events(chain):
            if event.action in _TIMED and event.action not in at:
                at[event.action] = event.occurred_at
                weight[event.action] = weights.get(event.id or 0)
        yield Course(
            id=container_id,
            state=first[1],
            parties=frozenset(_uuid(p) for p in first[2:5] if p is not None),
            epidemic=bool(first[5]),
            at=at,
            weights=weight,
        )


def _utc(value: str | datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite keeps UTC text, PostgreSQL gives
    aware datetimes)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _uuid(value: str | uuid.UUID) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def profiles_of(org: ProfiledOrganization, default: str) -> Callable[[bool], Profile]:
    """Which profile judges ``org``'s containers: epidemic waste or not."""

    def profile(epidemic: bool) -> Profile:
        return org_profile(org, epidemic=epidemic, default=default)

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
    """One organization's figures over the courses added to it. A stage is on time when it
    ended (or, still going, has lasted) within the limit of the profile the anomaly rules
    judge that container by: the organization's, its epidemic variant for epidemic waste."""

    profile: Callable[[bool], Profile]
    now: datetime
    containers: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    collected: float = 0.0
    received: float = 0.0
    disposed: float = 0.0
    dwell: dict[str, list[float]] = field(default_factory=lambda: {s.name: [] for s in STAGES})
    total: Counter[str] = field(default_factory=Counter)
    late: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._profiles = {False: self.profile(False), True: self.profile(True)}

    def add(self, course: Course) -> None:
        self.containers += 1
        self.by_state[course.state] += 1
        collected = course.weights.get(Action.collect)
        received = course.weights.get(Action.receive)
        self.collected += collected or 0.0
        self.received += received or 0.0
        if course.state == State.disposed:
            self.disposed += received or 0.0
        profile = self._profiles[course.epidemic]
        for stage, began, ended in course.stays():
            if ended is not None:
                self.dwell[stage].append((ended - began) / timedelta(hours=1))
            self.total[stage] += 1
            setting = profile.rule(STAGE_RULE[stage])
            if overdue(STAGE_RULE[stage], since=began, now=ended or self.now, setting=setting):
                self.late[stage] += 1

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

    def dwell_stats(self) -> dict[str, DwellStats]:
        return {name: dwell_stats(hours) for name, hours in self.dwell.items()}
