"""Each rule as a pure function: it fires, it nearly fires and must not; profiles resolve."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from service.anomalies.profile import SHIPPED, Profiles, load_profile
from service.anomalies.rules import (
    Kind,
    SitePoint,
    clock_skew,
    count_discrepancy,
    geofence_violation,
    impossible_travel,
    manifest_hard_limit,
    overdue,
    unlicensed_receiver,
    weight_discrepancy,
)
from service.anomalies.working_days import Calendar, add_working_days

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday
CN = load_profile("cn-national")


@pytest.mark.parametrize(
    ("kind", "hours"),
    [
        (Kind.storage_overdue, 48),
        (Kind.collection_interval_exceeded, 48),
        (Kind.transit_overdue, 24),
        (Kind.disposal_overdue, 48),
        (Kind.manifest_unconfirmed, 24),
    ],
)
def test_overdue_rules_fire_past_the_limit_only(kind: Kind, hours: int) -> None:
    setting = CN.rule(kind)
    assert overdue(kind, since=T0, now=T0 + timedelta(hours=hours), setting=setting) is None
    hit = overdue(kind, since=T0, now=T0 + timedelta(hours=hours, minutes=1), setting=setting)
    assert hit is not None and hit.cause == T0.isoformat() and hit.rule


def test_profiles_by_jurisdiction_and_epidemic() -> None:
    assert SHIPPED.name_for("CN-37") == "cn-national"
    assert SHIPPED.name_for("US-CA") == "us-rcra"
    assert SHIPPED.name_for("IN-DL") == "in-bmw-2016"
    assert Profiles(default="cn-national").name_for("FR-75") == "cn-national"
    epidemic = SHIPPED.for_jurisdiction("CN-37", epidemic=True)
    assert epidemic.name == "cn-epidemic"
    assert epidemic.rule(Kind.disposal_overdue).hours() == timedelta(hours=12)
    assert epidemic.rule(Kind.collection_interval_exceeded).hours() == timedelta(hours=24)
    assert epidemic.rule(Kind.storage_overdue).hours() == timedelta(hours=48)  # inherited
    assert SHIPPED.for_jurisdiction("IN-DL", epidemic=True).name == "in-bmw-2016"


def test_manifest_hard_limits_working_days_and_us_45_days() -> None:
    assert add_working_days(T0, 5, Calendar.weekdays).at == T0 + timedelta(days=7)
    cn = CN.rule(Kind.manifest_unconfirmed)
    assert manifest_hard_limit(dispatched_at=T0, now=T0 + timedelta(days=7), setting=cn) is None
    hit = manifest_hard_limit(dispatched_at=T0, now=T0 + timedelta(days=7, minutes=1), setting=cn)
    assert hit is not None and hit.severity == "critical"
    us = load_profile("us-rcra").rule(Kind.manifest_unconfirmed)
    assert (
        overdue(Kind.manifest_unconfirmed, since=T0, now=T0 + timedelta(days=35), setting=us)
        is None
    )
    assert overdue(Kind.manifest_unconfirmed, since=T0, now=T0 + timedelta(days=36), setting=us)
    assert manifest_hard_limit(dispatched_at=T0, now=T0 + timedelta(days=45), setting=us) is None
    assert manifest_hard_limit(dispatched_at=T0, now=T0 + timedelta(days=46), setting=us)


def test_weight_tolerance_and_floor() -> None:
    s = CN.rule(Kind.weight_discrepancy)
    assert weight_discrepancy(collected_kg=10, received_kg=11, setting=s, cause="x") is None
    assert weight_discrepancy(collected_kg=10, received_kg=11.1, setting=s, cause="x")
    # 50 % of a light bag but under the 0.2 kg floor: scale noise
    assert weight_discrepancy(collected_kg=0.3, received_kg=0.45, setting=s, cause="x") is None
    assert weight_discrepancy(
        collected_kg=100, received_kg=111, setting=s, cause="t", per_container=False
    )


def test_count_discrepancy_any_difference() -> None:
    s = CN.rule(Kind.count_discrepancy)
    assert count_discrepancy(missing=[], extra=[], setting=s, cause="r") is None
    hit = count_discrepancy(missing=["a"], extra=[], setting=s, cause="r")
    assert hit is not None and hit.severity == "critical"


def test_clock_skew_ahead_and_behind() -> None:
    s = CN.rule(Kind.clock_skew)
    ok = clock_skew(
        client_time=T0 + timedelta(minutes=10),
        recorded_at=T0,
        occurred_at=T0,
        previous_occurred_at=T0 - timedelta(hours=1),
        setting=s,
        cause="e",
    )
    assert ok is None
    assert clock_skew(
        client_time=T0 + timedelta(minutes=11),
        recorded_at=T0,
        occurred_at=T0,
        previous_occurred_at=None,
        setting=s,
        cause="e",
    )
    assert clock_skew(
        client_time=T0,
        recorded_at=T0,
        occurred_at=T0,
        previous_occurred_at=T0 + timedelta(seconds=1),
        setting=s,
        cause="e",
    )


def test_impossible_travel_speed_limit() -> None:
    s = CN.rule(Kind.impossible_travel)
    a, b = (40.0, 111.0), (41.0, 111.0)  # about 111 km
    assert (
        impossible_travel(
            previous=a,
            previous_at=T0,
            current=b,
            current_at=T0 + timedelta(hours=1),
            setting=s,
            cause="e",
        )
        is None
    )
    hit = impossible_travel(
        previous=a,
        previous_at=T0,
        current=b,
        current_at=T0 + timedelta(minutes=40),
        setting=s,
        cause="e",
    )
    assert hit is not None and hit.facts["speed_kmh"] > 150


def test_geofence_radius() -> None:
    s = CN.rule(Kind.geofence_violation)
    site = SitePoint("s", 40.0, 111.0, 300.0)
    assert geofence_violation(point=(40.0025, 111.0), sites=[site], setting=s, cause="e") is None
    assert geofence_violation(point=(40.0030, 111.0), sites=[site], setting=s, cause="e")


def test_unlicensed_receiver_reasons() -> None:
    s = CN.rule(Kind.unlicensed_receiver)
    args = {
        "license_number": "L1",
        "licensed_categories": ["infectious"],
        "at": T0,
        "setting": s,
        "cause": "e",
    }
    assert (
        unlicensed_receiver(license_expires=date(2026, 11, 2), category="infectious", **args)
        is None
    )
    expired = unlicensed_receiver(license_expires=date(2026, 11, 1), category="infectious", **args)
    assert expired is not None and expired.facts["reasons"] == ["licence expired"]
    wrong = unlicensed_receiver(license_expires=date(2030, 1, 1), category="sharps", **args)
    assert wrong is not None and wrong.severity == "critical"
