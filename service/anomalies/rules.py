"""The anomaly rules (SPEC §4) as pure functions over plain values.

Each rule takes the facts and its :class:`RuleSetting` (threshold, severity, legal source from
the profile) and returns a :class:`Finding` when it fires, ``None`` otherwise. Durations are on
event time (when things happened), never on when the server heard of them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from service.anomalies.models import Severity
from service.anomalies.profile import RuleSetting
from service.anomalies.working_days import Calendar, add_working_days
from service.geo import haversine_km
from service.labels.signing import short_code


class Kind(StrEnum):
    storage_overdue = "storage_overdue"
    collection_interval_exceeded = "collection_interval_exceeded"
    transit_overdue = "transit_overdue"
    disposal_overdue = "disposal_overdue"
    manifest_unconfirmed = "manifest_unconfirmed"
    weight_discrepancy = "weight_discrepancy"
    count_discrepancy = "count_discrepancy"
    missing_step = "missing_step"
    custody_mismatch = "custody_mismatch"
    scan_after_disposal = "scan_after_disposal"
    impossible_travel = "impossible_travel"
    forged_label = "forged_label"
    geofence_violation = "geofence_violation"
    unlicensed_receiver = "unlicensed_receiver"
    clock_skew = "clock_skew"
    # What a trip's track shows (service.anomalies.track_rules).
    unscheduled_stop = "unscheduled_stop"
    route_deviation = "route_deviation"
    track_gap = "track_gap"
    cross_border = "cross_border"


# The rule that times each stage of a container's life (service.custody.stages).
STAGE_RULE: dict[str, Kind] = {
    "storage": Kind.storage_overdue,
    "transit": Kind.transit_overdue,
    "disposal": Kind.disposal_overdue,
}


@dataclass(frozen=True)
class Finding:
    """What a rule found: the caller adds the subject and stores it exactly once."""

    kind: Kind
    severity: Severity
    rule: str
    threshold: str
    # Distinguishes one occurrence from another on the same subject (part of the dedupe key).
    cause: str
    facts: dict[str, Any] = field(default_factory=dict)


def finding(
    kind: Kind, setting: RuleSetting, threshold: str, cause: str, facts: dict[str, Any]
) -> Finding:
    """A finding of ``kind`` under ``setting`` (its severity and legal source)."""
    return Finding(
        kind=kind,
        severity=setting.severity,
        rule=setting.source[:200],
        threshold=threshold[:200],
        cause=cause,
        facts=facts,
    )


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


# ---------------------------------------------------------------------------------------------
# Silence: too long in one stage (event time)


def overdue(
    kind: Kind,
    *,
    since: datetime,
    now: datetime,
    setting: RuleSetting,
    limit_key: str = "limit_hours",
) -> Finding | None:
    """``storage_overdue``, ``collection_interval_exceeded``, ``transit_overdue``,
    ``disposal_overdue``, ``manifest_unconfirmed``: longer than the limit since ``since``.
    Exactly the limit does not fire; a rule without a limit (``limit_hours`` absent) never does."""
    limit = setting.hours(limit_key)
    if limit is None or now - since <= limit:
        return None
    return finding(
        kind,
        setting,
        f"> {_hours(limit):g} h",
        since.isoformat(),
        {
            "since": since.isoformat(),
            "elapsed_hours": _hours(now - since),
            "limit_hours": _hours(limit),
        },
    )


_SEVERITY_RANK = {Severity.info: 0, Severity.warning: 1, Severity.critical: 2}

# A late trip is one anomaly about its manifest, once per manifest (a manifest is one trip).
LATE_TRIP_CAUSE = "trip"


def late_trip(*, manifest_number: str, late_bags: Sequence[tuple[str, Finding]]) -> Finding:
    """One ``transit_overdue`` for a trip from its bags' own (container id, ``overdue``
    finding): the bags travel on one vehicle, so a late truck is one anomaly, not one per bag.
    Its severity is the most severe bag's; its rule, threshold and times are those of the bag
    longest past its limit; its facts list the bags by short code, the longest late first."""
    if not late_bags:
        raise ValueError("a late trip has at least one late bag")

    def overdue_hours(finding: Finding) -> float:
        return float(finding.facts["elapsed_hours"]) - float(finding.facts["limit_hours"])

    ordered = sorted(late_bags, key=lambda bag: (-overdue_hours(bag[1]), bag[0]))
    worst = ordered[0][1]
    return Finding(
        kind=Kind.transit_overdue,
        severity=max((f.severity for _, f in ordered), key=_SEVERITY_RANK.__getitem__),
        rule=worst.rule,
        threshold=worst.threshold,
        cause=LATE_TRIP_CAUSE,
        facts={
            "bags": [short_code(cid) for cid, _ in ordered],
            "overdue_hours": round(overdue_hours(worst), 2),
            "elapsed_hours": worst.facts["elapsed_hours"],
            "limit_hours": worst.facts["limit_hours"],
            "since": min((f.facts["since"] for _, f in ordered), key=datetime.fromisoformat),
            "manifest_number": manifest_number,
            "containers": [
                {
                    "container_id": cid,
                    "short_code": short_code(cid),
                    "since": f.facts["since"],
                    "elapsed_hours": f.facts["elapsed_hours"],
                    "limit_hours": f.facts["limit_hours"],
                }
                for cid, f in ordered
            ],
        },
    )


def manifest_hard_limit(
    *, dispatched_at: datetime, now: datetime, setting: RuleSetting
) -> Finding | None:
    """The regulators' hard limit on an unsigned manifest: working days (China, Art. 18, on
    the profile's ``working_days_calendar``) or hours (US, 45-day exception report). Critical.
    A limit in working days says in its facts which days it counted and on which calendar."""
    days = setting.number("hard_limit_working_days")
    hours = setting.number("hard_limit_hours")
    calendar_facts: dict[str, Any] = {}
    if days:
        calendar = Calendar(setting.values.get("working_days_calendar", Calendar.weekdays))
        counted = add_working_days(dispatched_at, int(days), calendar)
        deadline = counted.at
        calendar_facts = counted.facts()
        threshold = f"> {int(days)} working days"
    elif hours:
        deadline = dispatched_at + timedelta(hours=hours)
        threshold = f"> {hours:g} h"
    else:
        return None
    if now <= deadline:
        return None
    return Finding(
        kind=Kind.manifest_unconfirmed,
        severity=Severity.critical,
        rule=str(setting.values.get("hard_source", setting.source))[:200],
        threshold=threshold,
        cause=f"hard:{dispatched_at.isoformat()}",
        facts={
            "dispatched_at": dispatched_at.isoformat(),
            "deadline": deadline.isoformat(),
            "elapsed_hours": _hours(now - dispatched_at),
            **calendar_facts,
        },
    )


# ---------------------------------------------------------------------------------------------
# Discrepancies at receipt


def weight_discrepancy(
    *,
    collected_kg: float,
    received_kg: float,
    setting: RuleSetting,
    cause: str,
    per_container: bool = True,
) -> Finding | None:
    """Receipt weight differs from collection weight by more than the tolerance (10 %), and,
    per container, by more than the floor (0.2 kg) so that scale noise on light bags is quiet.
    The facts are signed like the manifest's: a receipt lighter than the collection is negative;
    nothing weighed at collection has no percentage (``None``)."""
    tolerance = setting.number("tolerance_pct", 10.0) or 0.0
    floor = (setting.number("floor_kg", 0.2) or 0.0) if per_container else 0.0
    diff = received_kg - collected_kg
    # Signed, as on the manifest: lighter at receipt than at collection is negative.
    pct = diff / collected_kg * 100 if collected_kg > 0 else None
    if (pct is not None and abs(pct) <= tolerance) or abs(diff) <= floor:
        return None
    return finding(
        Kind.weight_discrepancy,
        setting,
        f"> {tolerance:g} %" + (f" and > {floor:g} kg" if per_container else " (manifest total)"),
        cause,
        {
            "collected_kg": collected_kg,
            "received_kg": received_kg,
            "diff_kg": round(diff, 3),
            "diff_pct": None if pct is None else round(pct, 2),
        },
    )


def count_discrepancy(
    *, missing: Collection[str], extra: Collection[str], setting: RuleSetting, cause: str
) -> Finding | None:
    """Any container on the manifest not received, or received but not on it."""
    if not missing and not extra:
        return None
    return finding(
        Kind.count_discrepancy,
        setting,
        "any piece-count difference",
        cause,
        {"missing": sorted(missing), "extra": sorted(extra)},
    )


# ---------------------------------------------------------------------------------------------
# What a single scan reveals


def clock_skew(
    *,
    client_time: datetime | None,
    recorded_at: datetime,
    occurred_at: datetime,
    previous_occurred_at: datetime | None,
    setting: RuleSetting,
    cause: str,
) -> Finding | None:
    """The phone's clock more than the limit ahead of the server, or the event earlier than the
    container's previous event."""
    limit = timedelta(minutes=setting.number("limit_minutes", 10) or 10)
    facts: dict[str, Any] = {}
    if client_time is not None and client_time - recorded_at > limit:
        facts["ahead_seconds"] = round((client_time - recorded_at).total_seconds())
        facts["clamped_to"] = occurred_at.isoformat()
    if previous_occurred_at is not None and occurred_at < previous_occurred_at:
        facts["behind_previous_seconds"] = round(
            (previous_occurred_at - occurred_at).total_seconds()
        )
    if not facts:
        return None
    facts["client_time"] = client_time.isoformat() if client_time else None
    facts["recorded_at"] = recorded_at.isoformat()
    return finding(
        Kind.clock_skew,
        setting,
        f"> {limit.total_seconds() / 60:g} min ahead, or before the previous event",
        cause,
        facts,
    )


# Two scans seconds apart are timed to the minute: GPS and clocks are not finer than that.
MIN_TRAVEL_INTERVAL = timedelta(minutes=1)


def impossible_travel(
    *,
    previous: tuple[float, float] | None,
    previous_at: datetime,
    current: tuple[float, float] | None,
    current_at: datetime,
    setting: RuleSetting,
    cause: str,
    previous_uncertainty_m: float | None = None,
    current_uncertainty_m: float | None = None,
) -> Finding | None:
    """Two scans of one container imply a speed above the limit (a cloned label).

    Only the distance the positions prove counts: the straight distance less both positions'
    uncertainty (a GPS fix's accuracy radius, a site's radius when the scan names a site), and
    nothing under the floor (``min_distance_km``, default 3 km) ever fires, so that a jittery
    fix does not accuse a label of being cloned."""
    if previous is None or current is None:
        return None
    limit = setting.number("limit_kmh", 150.0) or 150.0
    floor = setting.number("min_distance_km", 3.0) or 0.0
    km = haversine_km(*previous, *current)
    uncertainty = ((previous_uncertainty_m or 0.0) + (current_uncertainty_m or 0.0)) / 1000
    proven = km - uncertainty
    if proven <= floor:
        return None
    interval = max(abs(current_at - previous_at), MIN_TRAVEL_INTERVAL)
    speed = proven / (interval.total_seconds() / 3600)
    if speed <= limit:
        return None
    return finding(
        Kind.impossible_travel,
        setting,
        f"> {limit:g} km/h over > {floor:g} km",
        cause,
        {
            "distance_km": round(km, 3),
            "uncertainty_km": round(uncertainty, 3),
            "interval_seconds": round(abs(current_at - previous_at).total_seconds()),
            "speed_kmh": round(speed, 1),
            "from": list(previous),
            "to": list(current),
        },
    )


@dataclass(frozen=True)
class SitePoint:
    site_id: str
    latitude: float
    longitude: float
    radius_m: float | None


def geofence_violation(
    *,
    point: tuple[float, float] | None,
    sites: Collection[SitePoint],
    setting: RuleSetting,
    cause: str,
    accuracy_m: float | None = None,
) -> Finding | None:
    """The scan point farther from every expected site than that site's radius (default 300 m),
    by more than the fix's accuracy: a fix whose accuracy radius reaches the site proves
    nothing."""
    if point is None or not sites:
        return None
    default_radius = setting.number("radius_m", 300.0) or 300.0
    nearest: tuple[float, SitePoint] | None = None
    for site in sites:
        metres = haversine_km(*point, site.latitude, site.longitude) * 1000
        if metres - (accuracy_m or 0.0) <= (site.radius_m or default_radius):
            return None
        if nearest is None or metres < nearest[0]:
            nearest = (metres, site)
    assert nearest is not None
    metres, site = nearest
    radius = site.radius_m or default_radius
    return finding(
        Kind.geofence_violation,
        setting,
        f"> {radius:g} m from the site",
        cause,
        {
            "point": list(point),
            **({"accuracy_m": accuracy_m} if accuracy_m is not None else {}),
            "site_id": site.site_id,
            "distance_m": round(metres, 1),
            "radius_m": radius,
        },
    )


def unlicensed_receiver(
    *,
    license_number: str | None,
    license_expires: date | None,
    licensed_categories: Collection[str],
    category: str,
    at: datetime,
    setting: RuleSetting,
    cause: str,
) -> Finding | None:
    """The receiving organization has no licence, an expired one (at event time), or one that
    does not cover the waste category."""
    reasons = []
    if not license_number:
        reasons.append("no licence")
    if license_expires is None or license_expires < at.date():
        reasons.append("licence expired" if license_expires else "no licence expiry on record")
    if category not in licensed_categories:
        reasons.append(f"not licensed for {category}")
    if not reasons:
        return None
    return finding(
        Kind.unlicensed_receiver,
        setting,
        "a valid licence covering the category",
        cause,
        {
            "reasons": reasons,
            "license_number": license_number,
            "license_expires": license_expires.isoformat() if license_expires else None,
            "category": category,
        },
    )


def flagged(
    kind: Kind, *, setting: RuleSetting, cause: str, threshold: str, facts: dict[str, Any]
) -> Finding:
    """The "always" rules (missing_step, custody_mismatch, scan_after_disposal, forged_label):
    the fact itself is the anomaly."""
    return finding(kind, setting, threshold, cause, facts)
