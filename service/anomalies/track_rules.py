"""The track rules (SPEC §4) as pure functions over a trip's position fixes.

Each rule reads the fixes in time order, what was on board when (:class:`Load`), and its
:class:`RuleSetting`; it returns one :class:`Finding` per *episode* (a stop, a detour, a
silence, a stretch abroad), whose ``cause`` names the episode's first moment, so that a track
read again as more points arrive raises nothing twice. Only what happens while waste is on
board counts. A fix whose accuracy radius is wider than the rule's ``max_accuracy_m`` proves
nothing and is left out; the distances that do count are reduced by the fix's accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.anomalies.profile import RuleSetting
from service.anomalies.rules import Finding, Kind, SitePoint, finding
from service.geo import EARTH_RADIUS_KM, LatLon, haversine_km, km_from_segment
from service.jurisdictions import Box

KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True)
class Fix:
    at: datetime
    latitude: float
    longitude: float
    accuracy_m: float

    @property
    def point(self) -> LatLon:
        return (self.latitude, self.longitude)


@dataclass(frozen=True)
class Load:
    """One container on the trip: picked up at, received at (``None`` while on board)."""

    container_id: str
    picked_up_at: datetime
    received_at: datetime | None = None

    def aboard(self, at: datetime) -> bool:
        return self.picked_up_at <= at and (self.received_at is None or at < self.received_at)


def on_board(loads: Sequence[Load], at: datetime) -> list[str]:
    """The containers on board at ``at``, sorted."""
    return sorted(load.container_id for load in loads if load.aboard(at))


@dataclass(frozen=True)
class Stop:
    """A stretch of fixes all within the stop radius of the first one."""

    started_at: datetime
    ended_at: datetime
    latitude: float
    longitude: float
    # The widest accuracy radius among the stop's fixes.
    accuracy_m: float

    @property
    def minutes(self) -> float:
        return round((self.ended_at - self.started_at).total_seconds() / 60, 1)


def _minutes(setting: RuleSetting, key: str, default: float) -> timedelta:
    return timedelta(minutes=setting.number(key, default) or default)


def _accurate(fixes: Sequence[Fix], setting: RuleSetting, default: float = 200.0) -> list[Fix]:
    limit = setting.number("max_accuracy_m", default) or default
    return [f for f in fixes if f.accuracy_m <= limit]


def find_stops(
    fixes: Sequence[Fix], *, radius_m: float, longer_than: timedelta, max_accuracy_m: float
) -> list[Stop]:
    """Where the vehicle stood still for longer than ``longer_than``: runs of accurate fixes
    each within ``radius_m`` of the run's first fix."""
    good = [f for f in fixes if f.accuracy_m <= max_accuracy_m]
    found: list[Stop] = []
    i = 0
    while i < len(good):
        anchor, j = good[i], i
        while (
            j + 1 < len(good) and haversine_km(*anchor.point, *good[j + 1].point) * 1000 <= radius_m
        ):
            j += 1
        if good[j].at - anchor.at > longer_than:
            run = good[i : j + 1]
            found.append(
                Stop(
                    started_at=anchor.at,
                    ended_at=good[j].at,
                    latitude=round(sum(f.latitude for f in run) / len(run), 6),
                    longitude=round(sum(f.longitude for f in run) / len(run), 6),
                    accuracy_m=max(f.accuracy_m for f in run),
                )
            )
            i = j + 1
        else:
            i += 1
    return found


def stops_of(fixes: Sequence[Fix], setting: RuleSetting) -> list[Stop]:
    """The stops the ``unscheduled_stop`` setting sees (its radius, limit and accuracy)."""
    return find_stops(
        fixes,
        radius_m=setting.number("stop_radius_m", 150.0) or 150.0,
        longer_than=_minutes(setting, "limit_minutes", 20),
        max_accuracy_m=setting.number("max_accuracy_m", 200.0) or 200.0,
    )


def _runs(marks: Iterable[tuple[Fix, float | None]]) -> list[list[tuple[Fix, float]]]:
    """The runs of consecutive fixes marked with a value (outside where they should be, by
    that much); a fix marked ``None`` ends a run."""
    runs: list[list[tuple[Fix, float]]] = []
    run: list[tuple[Fix, float]] = []
    for fix, value in marks:
        if value is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append((fix, value))
    if run:
        runs.append(run)
    return runs


def _nearest_site(point: LatLon, sites: Sequence[SitePoint]) -> tuple[SitePoint, float] | None:
    best: tuple[SitePoint, float] | None = None
    for site in sites:
        metres = haversine_km(*point, site.latitude, site.longitude) * 1000
        if best is None or metres < best[1]:
            best = (site, metres)
    return best


def unscheduled_stop(
    *,
    fixes: Sequence[Fix],
    loads: Sequence[Load],
    sites: Sequence[SitePoint],
    setting: RuleSetting,
) -> list[Finding]:
    """Stationary longer than the limit (20 min) with waste on board, farther than the site
    radius from every registered site of the trip's parties."""
    default_radius = setting.number("site_radius_m", 300.0) or 300.0
    limit = _minutes(setting, "limit_minutes", 20)
    found = []
    for stop in stops_of(fixes, setting):
        aboard = on_board(loads, stop.started_at)
        if not aboard:
            continue
        nearest = _nearest_site((stop.latitude, stop.longitude), sites)
        if nearest is not None:
            site, metres = nearest
            # A site within reach of the stop's accuracy counts as the stop's place.
            if metres - stop.accuracy_m <= (site.radius_m or default_radius):
                continue
        found.append(
            finding(
                Kind.unscheduled_stop,
                setting,
                f"> {limit.total_seconds() / 60:g} min stationary away from the parties' sites",
                f"stop:{stop.started_at.isoformat()}",
                {
                    "latitude": stop.latitude,
                    "longitude": stop.longitude,
                    "from": stop.started_at.isoformat(),
                    "to": stop.ended_at.isoformat(),
                    "minutes": stop.minutes,
                    "accuracy_m": stop.accuracy_m,
                    "nearest_site_id": nearest[0].site_id if nearest else None,
                    "nearest_site_m": round(nearest[1]) if nearest else None,
                    "containers": aboard,
                },
            )
        )
    return found


def route_deviation(
    *,
    fixes: Sequence[Fix],
    loads: Sequence[Load],
    origins: Sequence[LatLon],
    destinations: Sequence[LatLon],
    setting: RuleSetting,
) -> list[Finding]:
    """Farther than the limit (10 km, beyond the fix's accuracy) from every straight corridor
    between an origin site and a destination site, for at least ``min_points`` fixes in a row
    with waste on board. No corridor (a party without sites): nothing to judge."""
    if not origins or not destinations:
        return []
    limit = setting.number("limit_km", 10.0) or 10.0
    min_points = int(setting.number("min_points", 2) or 1)
    marks = []
    for fix in _accurate(fixes, setting):
        if not on_board(loads, fix.at):
            continue
        km = min(km_from_segment(fix.point, a, b) for a in origins for b in destinations)
        marks.append((fix, km if km - fix.accuracy_m / 1000 > limit else None))
    episodes = _runs(marks)
    found = []
    for episode in episodes:
        if len(episode) < min_points:
            continue
        first, last = episode[0][0], episode[-1][0]
        farthest, km = max(episode, key=lambda pair: pair[1])
        found.append(
            finding(
                Kind.route_deviation,
                setting,
                f"> {limit:g} km from the corridor origin → destination",
                f"deviation:{first.at.isoformat()}",
                {
                    "latitude": farthest.latitude,
                    "longitude": farthest.longitude,
                    "max_km": round(km, 2),
                    "from": first.at.isoformat(),
                    "to": last.at.isoformat(),
                    "minutes": round((last.at - first.at).total_seconds() / 60, 1),
                    "fixes": len(episode),
                    "containers": on_board(loads, first.at),
                },
            )
        )
    return found


def track_gap(
    *,
    fixes: Sequence[Fix],
    loads: Sequence[Load],
    setting: RuleSetting,
    now: datetime | None = None,
) -> list[Finding]:
    """No fix for longer than the limit (30 min) while waste is on board. Any fix counts, however
    inaccurate (the phone was on). The first gap runs from the first pickup; with ``now`` (the
    sweep), the silence since the last fix counts too, as an ongoing gap. A trip with no fix at
    all is not tracked (recorded by another system, or by a phone without the app) and has no
    gap to judge."""
    if not loads or not fixes:
        return []
    limit = _minutes(setting, "limit_minutes", 30)
    start = min(load.picked_up_at for load in loads)
    # When the last container came off (None while any is on board).
    unloaded = (
        None
        if any(load.received_at is None for load in loads)
        else max(load.received_at for load in loads if load.received_at is not None)
    )
    moments = sorted({start, *(f.at for f in fixes if f.at >= start)})
    ends: list[datetime | None] = [*moments[1:], None]
    found = []
    for begin, end in zip(moments, ends, strict=True):
        aboard = on_board(loads, begin)
        if not aboard:
            continue
        ongoing = end is None
        until = end if end is not None else now
        if until is None:
            continue
        if unloaded is not None and unloaded < until:
            until, ongoing = unloaded, False
        if until - begin <= limit:
            continue
        last = next((f for f in reversed(fixes) if f.at <= begin), None)
        found.append(
            finding(
                Kind.track_gap,
                setting,
                f"> {limit.total_seconds() / 60:g} min without a position while carrying waste",
                f"gap:{begin.isoformat()}",
                {
                    "latitude": last.latitude if last else None,
                    "longitude": last.longitude if last else None,
                    "from": begin.isoformat(),
                    "to": None if ongoing else until.isoformat(),
                    "minutes": round((until - begin).total_seconds() / 60, 1),
                    "ongoing": ongoing,
                    "containers": aboard,
                },
            )
        )
    return found


def _km_outside(box: Box, point: LatLon) -> float:
    """How far ``point`` lies outside ``box`` (0 inside), in kilometres."""
    lat, lon = point
    dlat = max(box.south - lat, 0.0, lat - box.north)
    dlon = max(box.west - lon, 0.0, lon - box.east)
    return math.hypot(dlat * KM_PER_DEGREE, dlon * KM_PER_DEGREE * math.cos(math.radians(lat)))


def cross_border(
    *,
    fixes: Sequence[Fix],
    loads: Sequence[Load],
    allowed: dict[str, Box],
    setting: RuleSetting,
) -> list[Finding]:
    """Fixes with waste on board outside every allowed jurisdiction (the origin's, and the
    destination's on a manifest between two provinces), by more than the fix's accuracy. The
    boxes are coarse: a crossing may go unseen, none is invented. No box on file: nothing to
    judge; a profile with ``applies = false`` does not judge."""
    if not allowed or not setting.values.get("applies", True):
        return []
    marks = []
    for fix in _accurate(fixes, setting, default=1000.0):
        if not on_board(loads, fix.at):
            continue
        outside = min(_km_outside(box, fix.point) for box in allowed.values())
        marks.append((fix, outside if outside > fix.accuracy_m / 1000 else None))
    episodes = [[fix for fix, _km in run] for run in _runs(marks)]
    names = sorted(allowed)
    return [
        finding(
            Kind.cross_border,
            setting,
            f"outside {' / '.join(names)} without an approved transfer",
            f"border:{episode[0].at.isoformat()}",
            {
                "latitude": episode[0].latitude,
                "longitude": episode[0].longitude,
                "from": episode[0].at.isoformat(),
                "to": episode[-1].at.isoformat(),
                "minutes": round((episode[-1].at - episode[0].at).total_seconds() / 60, 1),
                "fixes": len(episode),
                "allowed": names,
                "containers": on_board(loads, episode[0].at),
            },
        )
        for episode in episodes
    ]
