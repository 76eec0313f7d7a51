"""What the reports add up over containers whose course is over, kept per day of registration.

A container is *settled* when it is disposed with its pickup, receipt and disposal on record
(``SETTLED``). Its stays have all ended, so the time of the request no longer enters its
figures, and only a new event on it (a scan, a correction) or a manifest signature moving its
custody changes them. A province's year is almost all settled containers. Their sums
(:class:`Aggregate`) are kept here, per UTC day of registration, and each request reads from
the database only the containers still on their way (an index holds them) and the hours at the
edges of its period.

Kept sums are dropped when they may have changed. Before a request uses them, it reads what was
recorded since the last request looked (:meth:`SettledFigures.look`):

- the events with an id above the highest seen then, and those recorded (``recorded_at``) less
  than :data:`WINDOW` before it — a transaction that took an id earlier but committed later;
- the manifests dispatched or received since then, less :data:`WINDOW` (the signatures that
  move custody to the transporter and to the plant, without an event);

and drops the days their containers were registered on. A transaction that takes longer than
:data:`WINDOW` to commit, or servers whose clocks differ by more, would defeat the second reading.

Each process keeps its own sums; several servers on one database each read what changed. On
PostgreSQL the queries of one request see the database at slightly different moments (READ
COMMITTED): a container that changes while a request runs can be counted twice or not at all
in that answer, and is counted right in the next.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlmodel import Session

from service.custody.models import SETTLED, UNSETTLED, Container, CustodyEvent
from service.manifests.models import Manifest

# The longest a transaction that records events or moves custody may take to commit, and the
# most two servers' clocks may differ by.
WINDOW = timedelta(minutes=2)
# How many callers' scopes (a jurisdiction's organizations, one organization...) keep sums.
MAX_SCOPES = 64
DAY = timedelta(days=1)

Row = tuple[Any, ...]
Where = list[ColumnElement[bool]]

_CONTAINER = Container.__table__  # type: ignore[attr-defined]
_EVENT = CustodyEvent.__table__  # type: ignore[attr-defined]
_MANIFEST = Manifest.__table__  # type: ignore[attr-defined]
_C, _E, _M = _CONTAINER.c, _EVENT.c, _MANIFEST.c


@dataclass(frozen=True)
class Aggregate:
    """A sum the reports make over the containers they count. ``build(where, by)`` selects the
    columns ``by``, then ``keys`` key columns, then figures to add up, over the containers
    ``where`` picks, grouped by ``by`` and the keys. ``depends`` is what else its figures depend
    on (the limits it counts late stays against, the slots it groups times by): sums kept for
    other values are not used."""

    name: str
    depends: Hashable
    keys: int
    build: Callable[[Where, list[ColumnElement[Any]]], Select[Any]]


def add_up(rows: Iterable[Sequence[Any]], keys: int) -> list[Row]:
    """One row per key, its figures summed (a null adds nothing)."""
    sums: dict[Row, list[Any]] = {}
    for row in rows:
        key = tuple(row[:keys])
        have = sums.get(key)
        if have is None:
            sums[key] = list(row[keys:])
            continue
        for i, value in enumerate(row[keys:]):
            if value is not None:
                have[i] = value if have[i] is None else have[i] + value
    return [(*key, *values) for key, values in sums.items()]


def summed(
    session: Session,
    aggregate: Aggregate,
    *,
    where: Callable[[datetime, datetime], Where],
    period_from: datetime,
    period_to: datetime,
    scope: Hashable,
    settled: Settled | None,
) -> list[Row]:
    """``aggregate``'s rows over the containers ``where(period_from, period_to)`` picks: from
    the database alone, or with what ``settled`` keeps for ``scope`` (what ``where`` counts)."""
    if settled is None:
        stmt = aggregate.build(where(period_from, period_to), [])
        return add_up(session.connection().execute(stmt), aggregate.keys)
    return settled.rows(
        aggregate, where=where, period_from=period_from, period_to=period_to, scope=scope
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _utc_day(session: Session, column: Any) -> ColumnElement[str]:
    """The UTC day of a timestamp column, as ``YYYY-MM-DD`` text, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # SQLite keeps UTC timestamps as ISO text


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days)]


class SettledFigures:
    """One process's kept sums over settled containers, per scope, aggregate and UTC day."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (scope, aggregate name, depends) -> day -> rows; least recently used first.
        self._kept: OrderedDict[Hashable, dict[date, list[Row]]] = OrderedDict()
        # The same, added up over whole months whose every day is kept.
        self._months: dict[tuple[Hashable, date], list[Row]] = {}
        # Catching up: how many times it ran, when the last one looked (the request's clock)
        # and the highest event id it saw; for each day, the run that last dropped it.
        self._runs = 0
        self._looked: tuple[datetime, int] | None = None
        self._dropped: dict[date, int] = {}

    def look(self, session: Session, now: datetime) -> Settled:
        """Drop the days of the containers that changed since the last look; then what is kept
        answers for ``session``'s requests at ``now``."""
        return Settled(self, session, now, self._catch_up(session, now))

    def _catch_up(self, session: Session, now: datetime) -> int:
        """Returns this look's number, which the sums computed after it are stamped with."""
        with self._lock:
            self._runs += 1
            highest = session.connection().execute(select(func.max(_E.id))).scalar() or 0
            if self._looked is not None and self._kept:
                since, seen = self._looked
                changed = self._changed(session, since - WINDOW, seen)
                for day in changed:
                    self._drop(day)
            self._looked = (now, highest)
            return self._runs

    def _changed(self, session: Session, since: datetime, seen: int) -> set[date]:
        """The registration days of the containers with an event above id ``seen`` or
        recorded after ``since``, or on a manifest dispatched or received after ``since``."""
        connection = session.connection()
        day = _utc_day(session, _C.created_at)
        # Walk the events back from the newest until one recorded before ``since`` and below
        # ``seen``: the index on the id, no scan of the whole log.
        floor = connection.execute(
            select(_E.id)
            .where(_E.recorded_at < since, _E.id <= seen)
            .order_by(_E.id.desc())
            .limit(1)
        ).scalar()
        by_event = (
            select(day)
            .select_from(_CONTAINER.join(_EVENT, _E.container_id == _C.id))
            .where(_E.id > (floor or 0))
        )
        days = set(connection.execute(by_event).scalars())
        # The trips first, then their containers (by the index on the manifest): a handful of
        # trips moved since the last look, among a year's.
        moved = list(
            connection.execute(
                select(_M.id).where(or_(_M.dispatched_at >= since, _M.received_at >= since))
            ).scalars()
        )
        for i in range(0, len(moved), 500):
            on_trips = select(day).where(_C.current_manifest_id.in_(moved[i : i + 500]))
            days.update(connection.execute(on_trips).scalars())
        return {date.fromisoformat(d) for d in days if d is not None}

    def _drop(self, day: date) -> None:
        self._dropped[day] = self._runs
        for days in self._kept.values():
            days.pop(day, None)
        month = day.replace(day=1)
        for key in [k for k in self._months if k[1] == month]:
            del self._months[key]

    def settled(
        self,
        session: Session,
        aggregate: Aggregate,
        where: Callable[[datetime, datetime], Where],
        scope: Hashable,
        first: date,
        last: date,
        run: int,
    ) -> list[Row]:
        """The rows of the settled containers registered from ``first`` to ``last``
        (excluded): those kept, and the days not kept computed (and kept)."""
        key = (scope, aggregate.name, aggregate.depends)
        days = _days(first, last)
        months = _whole_months(first, last)
        with self._lock:
            kept = self._kept.setdefault(key, {})
            self._kept.move_to_end(key)
            while len(self._kept) > MAX_SCOPES:
                old, _ = self._kept.popitem(last=False)
                for month_key in [k for k in self._months if k[0] == old]:
                    del self._months[month_key]
            merged = {m: rows for m in months if (rows := self._months.get((key, m))) is not None}
            have = {d: kept[d] for d in days if d in kept and d.replace(day=1) not in merged}
        in_merged = {d for m in merged for d in _month_days(m)}
        missing = [d for d in days if d not in have and d not in in_merged]
        computed = self._compute(session, aggregate, where, missing)
        for day in missing:
            have[day] = computed.get(day, [])
        for month in months:
            if month not in merged:
                merged[month] = add_up(
                    (row for d in _month_days(month) for row in have.pop(d)), aggregate.keys
                )
        with self._lock:
            # Kept only if no look since this request's own dropped the day: the sums were
            # computed from what the database held at or after this request's look.
            fresh = [d for d in missing if self._dropped.get(d, 0) < run]
            kept.update((d, computed.get(d, [])) for d in fresh)
            for month, rows in merged.items():
                if all(d in kept for d in _month_days(month)):
                    self._months[(key, month)] = rows
        return [row for rows in (*merged.values(), *have.values()) for row in rows]

    def _compute(
        self,
        session: Session,
        aggregate: Aggregate,
        where: Callable[[datetime, datetime], Where],
        days: list[date],
    ) -> dict[date, list[Row]]:
        """The settled containers' rows for ``days``, one query per run of consecutive days."""
        out: dict[date, list[Row]] = {}
        day = _utc_day(session, _C.created_at)
        # One object for each key value (organization ids repeat on every day's rows).
        values: dict[Any, Any] = {}
        for start, end in _runs(days):
            stmt = aggregate.build([*where(_midnight(start), _midnight(end)), SETTLED], [day])
            for created, *row in session.connection().execute(stmt):
                key = tuple(values.setdefault((type(v), v), v) for v in row[: aggregate.keys])
                out.setdefault(date.fromisoformat(created), []).append(
                    (*key, *row[aggregate.keys :])
                )
        return out


class Settled:
    """What :class:`SettledFigures` keeps, looked at for one request."""

    def __init__(self, figures: SettledFigures, session: Session, now: datetime, run: int):
        self._figures, self._session, self._now, self._run = figures, session, now, run

    def rows(
        self,
        aggregate: Aggregate,
        *,
        where: Callable[[datetime, datetime], Where],
        period_from: datetime,
        period_to: datetime,
        scope: Hashable,
    ) -> list[Row]:
        """``aggregate``'s rows over the containers ``where(start, end)`` counts for the
        period, added up: the settled ones of the whole past UTC days inside it from what is
        kept, the others from the database."""
        session = self._session
        first = (period_from - timedelta(microseconds=1)).astimezone(UTC).date() + DAY
        last = min(period_to, self._now).astimezone(UTC).date()
        if first >= last:
            stmt = aggregate.build(where(period_from, period_to), [])
            return add_up(session.connection().execute(stmt), aggregate.keys)
        start, end = _midnight(first), _midnight(last)
        live: list[Where] = [[*where(start, end), UNSETTLED]]
        if period_from < start:
            live.append(where(period_from, start))
        if end < period_to:
            live.append(where(end, period_to))
        rows: list[Row] = []
        for condition in live:
            rows.extend(session.connection().execute(aggregate.build(condition, [])))
        rows.extend(self._figures.settled(session, aggregate, where, scope, first, last, self._run))
        return add_up(rows, aggregate.keys)


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as ``[start, end)`` ranges."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + DAY)
        else:
            runs.append((day, day + DAY))
    return runs


def _following_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def _month_days(month: date) -> list[date]:
    return _days(month, _following_month(month))


def _whole_months(first: date, last: date) -> list[date]:
    """The first days of the calendar months lying wholly in ``[first, last)``."""
    month = first if first.day == 1 else _following_month(first.replace(day=1))
    months = []
    while _following_month(month) <= last:
        months.append(month)
        month = _following_month(month)
    return months
