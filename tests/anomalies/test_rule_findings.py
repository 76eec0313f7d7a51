"""What each rule tells a regulator when it fires — the whole finding: kind, severity, the legal
source, the threshold, the cause and the facts (distance, speed, percentages) — on several input
shapes, with absent inputs and profiles that leave a value out."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from service.anomalies.models import Severity
from service.anomalies.profile import RuleSetting, load_profile
from service.anomalies.rules import (
    Finding,
    Kind,
    SitePoint,
    clock_skew,
    count_discrepancy,
    flagged,
    geofence_violation,
    haversine_km,
    impossible_travel,
    manifest_hard_limit,
    overdue,
    unlicensed_receiver,
    weight_discrepancy,
)

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday
CN = load_profile("cn-national")
US = load_profile("us-rcra")
R_KM = 6371.0088  # the IUGG mean Earth radius


def setting(kind: Kind, **values: float | str) -> RuleSetting:
    """A profile entry with only the given values (the others left out)."""
    return RuleSetting(kind=kind, severity=Severity.warning, source=f"test {kind}", values=values)


def central_angle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance by the spherical law of cosines (a different formula than the
    one under test, so the two check each other)."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    cos_angle = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return R_KM * math.acos(max(-1.0, min(1.0, cos_angle)))


# --- silence


def test_overdue_finding_in_full() -> None:
    s = CN.rule(Kind.storage_overdue)
    hit = overdue(
        Kind.storage_overdue,
        since=T0,
        now=T0 + timedelta(hours=49, minutes=20, seconds=30),
        setting=s,
    )
    assert hit == Finding(
        kind=Kind.storage_overdue,
        severity=Severity.warning,
        rule="《医疗废物管理条例》(2011) 第十七条：暂时贮存的时间不得超过 2 天",
        threshold="> 48 h",
        cause="2026-11-02T08:00:00+00:00",
        facts={"since": "2026-11-02T08:00:00+00:00", "elapsed_hours": 49.34, "limit_hours": 48.0},
    )


def test_overdue_reads_the_limit_it_is_told_to() -> None:
    s = setting(Kind.transit_overdue, limit_hours=24, epidemic_limit_hours=6.5)
    hit = overdue(
        Kind.transit_overdue,
        since=T0,
        now=T0 + timedelta(hours=7),
        setting=s,
        limit_key="epidemic_limit_hours",
    )
    assert hit is not None
    assert (hit.kind, hit.threshold, hit.facts["limit_hours"], hit.facts["elapsed_hours"]) == (
        Kind.transit_overdue,
        "> 6.5 h",
        6.5,
        7.0,
    )
    assert overdue(Kind.transit_overdue, since=T0, now=T0 + timedelta(hours=7), setting=s) is None


def test_a_rule_without_a_limit_never_fires() -> None:
    s = setting(Kind.storage_overdue)
    assert overdue(Kind.storage_overdue, since=T0, now=T0 + timedelta(days=400), setting=s) is None


def test_a_long_legal_source_is_cut_to_200_characters() -> None:
    s = RuleSetting(Kind.storage_overdue, Severity.warning, "条" * 250, {"limit_hours": 1})
    hit = overdue(Kind.storage_overdue, since=T0, now=T0 + timedelta(hours=2), setting=s)
    assert hit is not None and hit.rule == "条" * 200


def test_hard_limit_in_working_days_in_full() -> None:
    s = CN.rule(Kind.manifest_unconfirmed)
    # Dispatched on a Friday: five working days end the next Friday.
    friday = T0 + timedelta(days=4)
    hit = manifest_hard_limit(
        dispatched_at=friday, now=friday + timedelta(days=7, hours=1), setting=s
    )
    assert hit == Finding(
        kind=Kind.manifest_unconfirmed,
        severity=Severity.critical,
        rule="《危险废物转移管理办法》(2021) 第十八条：5 个工作日内确认接收",
        threshold="> 5 working days",
        cause="hard:2026-11-06T08:00:00+00:00",
        facts={
            "dispatched_at": "2026-11-06T08:00:00+00:00",
            "deadline": "2026-11-13T08:00:00+00:00",
            "elapsed_hours": 169.0,
            "calendar": "chinesecalendar 1.11.0",
            "working_days_counted": 5,
            "days_counted": [
                "2026-11-09",
                "2026-11-10",
                "2026-11-11",
                "2026-11-12",
                "2026-11-13",
            ],
            "make_up_days_counted": [],
            "days_skipped": {"2026-11-07": "weekend", "2026-11-08": "weekend"},
        },
    )


def test_hard_limit_in_hours_in_full() -> None:
    s = US.rule(Kind.manifest_unconfirmed)
    hit = manifest_hard_limit(
        dispatched_at=T0, now=T0 + timedelta(hours=1080, minutes=30), setting=s
    )
    assert hit is not None
    assert (hit.threshold, hit.severity, hit.cause) == (
        "> 1080 h",
        Severity.critical,
        f"hard:{T0.isoformat()}",
    )
    assert hit.rule == "40 CFR 262.42(a)(2): exception report when no signed copy within 45 days"
    assert hit.facts == {
        "dispatched_at": T0.isoformat(),
        "deadline": (T0 + timedelta(hours=1080)).isoformat(),
        "elapsed_hours": 1080.5,
    }


def test_hard_limit_without_its_own_source_cites_the_rules_source() -> None:
    s = setting(Kind.manifest_unconfirmed, hard_limit_hours=2)
    hit = manifest_hard_limit(dispatched_at=T0, now=T0 + timedelta(hours=3), setting=s)
    assert hit is not None and hit.rule == "test manifest_unconfirmed"
    assert manifest_hard_limit(dispatched_at=T0, now=T0 + timedelta(hours=2), setting=s) is None


def test_no_hard_limit_configured_never_fires() -> None:
    s = setting(Kind.manifest_unconfirmed, limit_hours=24)
    assert manifest_hard_limit(dispatched_at=T0, now=T0 + timedelta(days=365), setting=s) is None


# --- weights and counts


def test_a_lighter_container_in_full() -> None:
    s = CN.rule(Kind.weight_discrepancy)
    hit = weight_discrepancy(collected_kg=5.0, received_kg=4.25, setting=s, cause="ev-9")
    assert hit == Finding(
        kind=Kind.weight_discrepancy,
        severity=Severity.warning,
        rule=s.source,
        threshold="> 10 % and > 0.2 kg",
        cause="ev-9",
        facts={"collected_kg": 5.0, "received_kg": 4.25, "diff_kg": -0.75, "diff_pct": -15.0},
    )


def test_a_heavier_container_is_positive_to_the_gram_and_the_hundredth() -> None:
    s = CN.rule(Kind.weight_discrepancy)
    hit = weight_discrepancy(collected_kg=3.0, received_kg=4.23456, setting=s, cause="c")
    assert hit is not None
    assert hit.facts == {
        "collected_kg": 3.0,
        "received_kg": 4.23456,
        "diff_kg": 1.235,
        "diff_pct": 41.15,
    }


def test_the_weight_rule_and_the_manifest_give_the_same_signed_percentage() -> None:
    from service.manifests.discrepancies import WeighedLine, compute_discrepancies

    s = CN.rule(Kind.weight_discrepancy)
    for sent, got in ((10.0, 8.5), (10.0, 11.5), (0.5, 0.8)):
        rule = weight_discrepancy(collected_kg=sent, received_kg=got, setting=s, cause="c")
        manifest = compute_discrepancies([WeighedLine("a", sent, True, got)], [])
        assert rule is not None and manifest.weight
        assert rule.facts["diff_pct"] == manifest.weight[0].difference_pct
        assert rule.facts["diff_kg"] == manifest.weight[0].difference_kg


def test_a_manifest_total_has_no_floor() -> None:
    s = CN.rule(Kind.weight_discrepancy)
    hit = weight_discrepancy(
        collected_kg=1.0, received_kg=1.15, setting=s, cause="t", per_container=False
    )
    assert hit is not None
    assert hit.threshold == "> 10 % (manifest total)"
    assert hit.facts["diff_pct"] == 15.0


def test_nothing_weighed_at_collection_is_flagged_without_a_percentage() -> None:
    s = CN.rule(Kind.weight_discrepancy)
    hit = weight_discrepancy(collected_kg=0.0, received_kg=0.5, setting=s, cause="c")
    assert hit is not None and hit.facts["diff_pct"] is None and hit.facts["diff_kg"] == 0.5
    assert weight_discrepancy(collected_kg=0.0, received_kg=0.1, setting=s, cause="c") is None


def test_a_light_bag_over_the_floor_gets_its_percentage() -> None:
    s = CN.rule(Kind.weight_discrepancy)
    hit = weight_discrepancy(collected_kg=0.5, received_kg=0.8, setting=s, cause="c")
    assert hit is not None and hit.facts["diff_pct"] == 60.0


def test_exactly_the_floor_is_quiet() -> None:
    s = CN.rule(Kind.weight_discrepancy)
    assert weight_discrepancy(collected_kg=0.4, received_kg=0.2, setting=s, cause="c") is None


def test_a_profile_without_weight_values_uses_10_percent_and_0_2_kg() -> None:
    s = setting(Kind.weight_discrepancy)
    assert weight_discrepancy(collected_kg=10.0, received_kg=11.0, setting=s, cause="c") is None
    assert (
        weight_discrepancy(collected_kg=1.0, received_kg=1.2 - 1e-9, setting=s, cause="c") is None
    )
    hit = weight_discrepancy(collected_kg=10.0, received_kg=11.1, setting=s, cause="c")
    assert hit is not None and hit.threshold == "> 10 % and > 0.2 kg"


def test_a_profile_of_its_own_sets_tolerance_and_floor() -> None:
    s = setting(Kind.weight_discrepancy, tolerance_pct=5, floor_kg=0.5)
    assert weight_discrepancy(collected_kg=10.0, received_kg=10.5, setting=s, cause="c") is None
    hit = weight_discrepancy(collected_kg=10.0, received_kg=10.6, setting=s, cause="c")
    assert hit is not None and hit.threshold == "> 5 % and > 0.5 kg"
    assert weight_discrepancy(collected_kg=2.0, received_kg=2.45, setting=s, cause="c") is None


def test_zero_tolerance_and_zero_floor_flag_any_difference() -> None:
    s = setting(Kind.weight_discrepancy, tolerance_pct=0, floor_kg=0)
    hit = weight_discrepancy(collected_kg=100.0, received_kg=100.5, setting=s, cause="c")
    assert hit is not None and hit.threshold == "> 0 % and > 0 kg"
    assert weight_discrepancy(collected_kg=2.0, received_kg=2.5, setting=s, cause="c") is not None
    total = weight_discrepancy(
        collected_kg=3.0, received_kg=3.5, setting=s, cause="t", per_container=False
    )
    assert total is not None


def test_count_discrepancy_with_only_extra_containers_in_full() -> None:
    s = CN.rule(Kind.count_discrepancy)
    hit = count_discrepancy(missing=[], extra={"zz9", "aa1"}, setting=s, cause="receipt")
    assert hit == Finding(
        kind=Kind.count_discrepancy,
        severity=Severity.critical,
        rule="运营方选择（国家未规定数值）：件数有任何差异即视为重大，参照美国 40 CFR 264.72",
        threshold="any piece-count difference",
        cause="receipt",
        facts={"missing": [], "extra": ["aa1", "zz9"]},
    )


def test_count_discrepancy_names_missing_ones_sorted() -> None:
    hit = count_discrepancy(
        missing=("c", "a"), extra=(), setting=CN.rule(Kind.count_discrepancy), cause="r"
    )
    assert hit is not None and hit.facts == {"missing": ["a", "c"], "extra": []}


# --- clocks


def test_a_phone_clock_ahead_in_full() -> None:
    s = CN.rule(Kind.clock_skew)
    hit = clock_skew(
        client_time=T0 + timedelta(minutes=25, seconds=30),
        recorded_at=T0,
        occurred_at=T0,
        previous_occurred_at=T0 - timedelta(hours=2),
        setting=s,
        cause="ev-4",
    )
    assert hit == Finding(
        kind=Kind.clock_skew,
        severity=Severity.info,
        rule=s.source,
        threshold="> 10 min ahead, or before the previous event",
        cause="ev-4",
        facts={
            "ahead_seconds": 1530,
            "clamped_to": T0.isoformat(),
            "client_time": (T0 + timedelta(minutes=25, seconds=30)).isoformat(),
            "recorded_at": T0.isoformat(),
        },
    )


def test_an_event_before_the_previous_one_without_a_phone_time() -> None:
    hit = clock_skew(
        client_time=None,
        recorded_at=T0,
        occurred_at=T0 - timedelta(minutes=3),
        previous_occurred_at=T0 - timedelta(seconds=20),
        setting=CN.rule(Kind.clock_skew),
        cause="e",
    )
    assert hit is not None
    assert hit.facts == {
        "behind_previous_seconds": 160,
        "client_time": None,
        "recorded_at": T0.isoformat(),
    }


def test_ahead_and_behind_at_once() -> None:
    hit = clock_skew(
        client_time=T0 + timedelta(hours=1),
        recorded_at=T0,
        occurred_at=T0,
        previous_occurred_at=T0 + timedelta(minutes=1),
        setting=CN.rule(Kind.clock_skew),
        cause="e",
    )
    assert hit is not None
    assert (hit.facts["ahead_seconds"], hit.facts["behind_previous_seconds"]) == (3600, 60)


def test_no_phone_time_and_no_previous_event_is_no_skew() -> None:
    args = {"recorded_at": T0, "occurred_at": T0, "setting": CN.rule(Kind.clock_skew), "cause": "e"}
    assert clock_skew(client_time=None, previous_occurred_at=None, **args) is None
    # The same instant as the previous event is not before it.
    assert clock_skew(client_time=None, previous_occurred_at=T0, **args) is None


@pytest.mark.parametrize(
    ("values", "quiet_at", "fires_at", "threshold"),
    [
        ({}, 10, 11, "> 10 min ahead, or before the previous event"),  # left out: 10 min
        ({"limit_minutes": 0}, 10, 11, "> 10 min ahead, or before the previous event"),
        ({"limit_minutes": 5}, 5, 6, "> 5 min ahead, or before the previous event"),
        ({"limit_minutes": 30}, 30, 31, "> 30 min ahead, or before the previous event"),
    ],
)
def test_the_clock_limit_from_the_profile(
    values: dict[str, float], quiet_at: int, fires_at: int, threshold: str
) -> None:
    s = setting(Kind.clock_skew, **values)

    def at(minutes: int) -> Finding | None:
        return clock_skew(
            client_time=T0 + timedelta(minutes=minutes), recorded_at=T0, occurred_at=T0,
            previous_occurred_at=None, setting=s, cause="e",
        )  # fmt: skip

    assert at(quiet_at) is None
    hit = at(fires_at)
    assert hit is not None and hit.threshold == threshold


# --- distances


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        ((0.0, 0.0), (0.0, 1.0), 111.195),  # a degree along the equator: R·π/180
        ((0.0, 0.0), (1.0, 0.0), 111.195),  # a degree along a meridian
        ((14.7, 0.0), (-14.7, -180.0), 20015.114),  # opposite sides of the Earth: R·π
        ((40.0, 111.0), (40.0, 111.0), 0.0),
    ],
)
def test_reference_distances(a: tuple[float, float], b: tuple[float, float], km: float) -> None:
    assert round(haversine_km(*a, *b), 3) == km
    assert round(haversine_km(*b, *a), 3) == km


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((40.0, 111.0), (40.0, 112.0)),  # east-west at Hohhot's latitude
        ((40.8414, 111.7519), (40.6574, 109.8404)),  # Hohhot to Baotou
        ((-33.9, 18.4), (51.5, -0.1)),  # across the equator, west of Greenwich
    ],
)
def test_distances_agree_with_the_law_of_cosines(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    assert haversine_km(*a, *b) == pytest.approx(central_angle_km(*a, *b), abs=1e-6)


def test_impossible_travel_east_west_in_full() -> None:
    s = CN.rule(Kind.impossible_travel)
    a, b = (40.0, 111.0), (40.0, 112.0)  # 85.18 km apart
    hit = impossible_travel(
        previous=a,
        previous_at=T0,
        current=b,
        current_at=T0 + timedelta(minutes=20),
        setting=s,
        cause="ev-2",
    )
    km = central_angle_km(*a, *b)
    assert hit == Finding(
        kind=Kind.impossible_travel,
        severity=Severity.critical,
        rule=s.source,
        threshold="> 150 km/h over > 3 km",
        cause="ev-2",
        facts={
            "distance_km": round(km, 3),
            "uncertainty_km": 0.0,
            "interval_seconds": 1200,
            "speed_kmh": round(km * 3, 1),
            "from": [40.0, 111.0],
            "to": [40.0, 112.0],
        },
    )
    assert hit.facts["distance_km"] == 85.18
    assert hit.facts["speed_kmh"] == 255.5
    # An hour is 85 km/h: a truck.
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


def test_scans_synced_out_of_order_count_the_same() -> None:
    s = CN.rule(Kind.impossible_travel)
    a, b = (40.0, 111.0), (40.0, 112.0)
    hit = impossible_travel(
        previous=a,
        previous_at=T0,
        current=b,
        current_at=T0 - timedelta(minutes=20),
        setting=s,
        cause="e",
    )
    assert hit is not None
    assert (hit.facts["interval_seconds"], hit.facts["speed_kmh"]) == (1200, 255.5)


def test_scans_seconds_apart_are_timed_to_the_minute() -> None:
    s = CN.rule(Kind.impossible_travel)
    a, b = (0.0, 0.0), (0.027, 0.0)  # 3.002 km
    hit = impossible_travel(
        previous=a,
        previous_at=T0,
        current=b,
        current_at=T0 + timedelta(seconds=10),
        setting=s,
        cause="e",
    )
    assert hit is not None
    assert hit.facts["interval_seconds"] == 10
    assert hit.facts["speed_kmh"] == 180.1  # over one minute, not over ten seconds
    near = (0.012, 0.0)  # 1.3 km in ten seconds: 80 km/h over the minute, quiet
    assert (
        impossible_travel(
            previous=a,
            previous_at=T0,
            current=near,
            current_at=T0 + timedelta(seconds=10),
            setting=s,
            cause="e",
        )
        is None
    )


@pytest.mark.parametrize("missing", ["previous", "current"])
def test_no_position_no_travel(missing: str) -> None:
    points: dict[str, tuple[float, float] | None] = {
        "previous": (40.0, 111.0),
        "current": (41.0, 112.0),
    }
    points[missing] = None
    assert impossible_travel(
        previous=points["previous"], previous_at=T0, current=points["current"],
        current_at=T0 + timedelta(seconds=1), setting=CN.rule(Kind.impossible_travel), cause="e",
    ) is None  # fmt: skip


@pytest.mark.parametrize(
    ("values", "limit"), [({}, 150.0), ({"limit_kmh": 0}, 150.0), ({"limit_kmh": 90}, 90.0)]
)
def test_the_speed_limit_from_the_profile(values: dict[str, float], limit: float) -> None:
    s = setting(Kind.impossible_travel, **values)
    a, b = (0.0, 0.0), (0.0, 1.0)  # 111.195 km
    hours = 111.19508 / limit

    def after(h: float) -> Finding | None:
        return impossible_travel(
            previous=a,
            previous_at=T0,
            current=b,
            current_at=T0 + timedelta(hours=h),
            setting=s,
            cause="e",
        )

    assert after(hours * 1.01) is None
    hit = after(hours * 0.99)
    assert hit is not None and hit.threshold == f"> {limit:g} km/h over > 3 km"


def test_exactly_the_speed_limit_is_quiet() -> None:
    a, b = (0.0, 0.0), (0.0, 1.0)
    interval = timedelta(hours=1)
    km = haversine_km(*a, *b)
    s = setting(Kind.impossible_travel, limit_kmh=km / (interval.total_seconds() / 3600))
    assert (
        impossible_travel(
            previous=a, previous_at=T0, current=b, current_at=T0 + interval, setting=s, cause="e"
        )
        is None
    )


# --- geofences

SITE = SitePoint("plant", 40.0, 111.0, None)


def metres_east(m: float, lat: float = 40.0, lon: float = 111.0) -> tuple[float, float]:
    """The point ``m`` metres due east of (lat, lon), on the sphere."""
    return (lat, lon + math.degrees(m / 1000 / (R_KM * math.cos(math.radians(lat)))))


def test_geofence_finding_in_full() -> None:
    s = CN.rule(Kind.geofence_violation)
    point = metres_east(450)
    hit = geofence_violation(point=point, sites=[SITE], setting=s, cause="ev-3")
    assert hit == Finding(
        kind=Kind.geofence_violation,
        severity=Severity.warning,
        rule="站点自身的半径（默认 300 米）",
        threshold="> 300 m from the site",
        cause="ev-3",
        facts={"point": list(point), "site_id": "plant", "distance_m": 450.0, "radius_m": 300.0},
    )


def test_a_site_with_its_own_radius() -> None:
    s = CN.rule(Kind.geofence_violation)
    wide = SitePoint("yard", 40.0, 111.0, 1000.0)
    assert geofence_violation(point=metres_east(900), sites=[wide], setting=s, cause="e") is None
    hit = geofence_violation(point=metres_east(1200), sites=[wide], setting=s, cause="e")
    assert hit is not None
    assert (hit.threshold, hit.facts["radius_m"], hit.facts["distance_m"]) == (
        "> 1000 m from the site",
        1000.0,
        1200.0,
    )


def test_a_site_without_a_radius_uses_the_profiles() -> None:
    s = setting(Kind.geofence_violation, radius_m=500)
    assert geofence_violation(point=metres_east(450), sites=[SITE], setting=s, cause="e") is None
    hit = geofence_violation(point=metres_east(550), sites=[SITE], setting=s, cause="e")
    assert hit is not None and hit.facts["radius_m"] == 500.0


@pytest.mark.parametrize("values", [{}, {"radius_m": 0}])
def test_a_profile_without_a_radius_uses_300_m(values: dict[str, float]) -> None:
    s = setting(Kind.geofence_violation, **values)
    assert geofence_violation(point=metres_east(290), sites=[SITE], setting=s, cause="e") is None
    hit = geofence_violation(point=metres_east(310), sites=[SITE], setting=s, cause="e")
    assert hit is not None and hit.facts["radius_m"] == 300.0


def test_exactly_on_the_fence_is_inside() -> None:
    point = metres_east(450)
    on_fence = SitePoint("plant", 40.0, 111.0, haversine_km(*point, 40.0, 111.0) * 1000)
    assert (
        geofence_violation(
            point=point, sites=[on_fence], setting=CN.rule(Kind.geofence_violation), cause="e"
        )
        is None
    )


def test_the_nearest_of_several_sites_is_named() -> None:
    s = CN.rule(Kind.geofence_violation)
    far = SitePoint("far", 40.0, 111.1, None)
    near = SitePoint("near", 40.0, 111.0, None)
    point = metres_east(700)
    for sites in ([far, near], [near, far]):
        hit = geofence_violation(point=point, sites=sites, setting=s, cause="e")
        assert hit is not None
        assert (hit.facts["site_id"], hit.facts["distance_m"]) == ("near", 700.0)


def test_of_two_sites_at_the_same_distance_the_first_is_named() -> None:
    s = CN.rule(Kind.geofence_violation)
    west = SitePoint("west", 40.0, 110.99, None)
    east = SitePoint("east", 40.0, 111.01, None)
    hit = geofence_violation(point=(40.0, 111.0), sites=[west, east], setting=s, cause="e")
    assert hit is not None and hit.facts["site_id"] == "west"


def test_inside_any_expected_site_is_inside() -> None:
    s = CN.rule(Kind.geofence_violation)
    other = SitePoint("store", 40.0, 111.1, 200.0)
    assert (
        geofence_violation(
            point=metres_east(100, lon=111.1), sites=[SITE, other], setting=s, cause="e"
        )
        is None
    )


def test_no_position_or_no_site_is_no_geofence() -> None:
    s = CN.rule(Kind.geofence_violation)
    assert geofence_violation(point=None, sites=[SITE], setting=s, cause="e") is None
    assert geofence_violation(point=(41.0, 112.0), sites=[], setting=s, cause="e") is None


# --- licences

NOV_2 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def licence(**kw: object) -> Finding | None:
    args: dict[str, object] = {
        "license_number": "鲁危废 37-0102",
        "license_expires": date(2027, 6, 30),
        "licensed_categories": ["infectious", "sharps"],
        "category": "infectious",
        "at": NOV_2,
        "setting": CN.rule(Kind.unlicensed_receiver),
        "cause": "ev-8",
    }
    args.update(kw)
    return unlicensed_receiver(**args)  # type: ignore[arg-type]


def test_a_valid_licence_is_quiet() -> None:
    assert licence() is None
    assert licence(license_expires=date(2026, 11, 2)) is None  # valid through its last day


@pytest.mark.parametrize("number", [None, ""])
def test_a_receiver_without_a_licence_number_in_full(number: str | None) -> None:
    hit = licence(license_number=number)
    assert hit == Finding(
        kind=Kind.unlicensed_receiver,
        severity=Severity.critical,
        rule="《医疗废物管理条例》(2011) 第二十二条：只有取得许可证的单位从事收集、贮存、处置",
        threshold="a valid licence covering the category",
        cause="ev-8",
        facts={
            "reasons": ["no licence"],
            "license_number": number,
            "license_expires": "2027-06-30",
            "category": "infectious",
        },
    )


def test_a_licence_without_an_expiry_on_record() -> None:
    hit = licence(license_expires=None)
    assert hit is not None
    assert hit.facts["reasons"] == ["no licence expiry on record"]
    assert hit.facts["license_expires"] is None


def test_an_expired_licence_for_the_wrong_category_and_no_number() -> None:
    hit = licence(license_number=None, license_expires=date(2026, 11, 1), category="chemical")
    assert hit is not None
    assert hit.facts["reasons"] == ["no licence", "licence expired", "not licensed for chemical"]
    assert hit.facts["license_expires"] == "2026-11-01"


# --- the "always" rules


def test_a_flagged_fact_in_full() -> None:
    s = CN.rule(Kind.scan_after_disposal)
    hit = flagged(
        Kind.scan_after_disposal,
        setting=s,
        cause="ev-1",
        threshold="x" * 250,
        facts={"action": "pickup"},
    )
    assert hit == Finding(
        kind=Kind.scan_after_disposal,
        severity=Severity.critical,
        rule="已处置的容器不会再被扫描：标签被复制或重复使用",
        threshold="x" * 200,
        cause="ev-1",
        facts={"action": "pickup"},
    )


def test_a_long_hard_limit_source_is_cut_to_200_characters() -> None:
    s = setting(Kind.manifest_unconfirmed, hard_limit_hours=2, hard_source="款" * 230)
    hit = manifest_hard_limit(dispatched_at=T0, now=T0 + timedelta(hours=3), setting=s)
    assert hit is not None and hit.rule == "款" * 200


def test_geofence_distance_is_given_to_the_decimetre() -> None:
    hit = geofence_violation(
        point=metres_east(450.46), sites=[SITE], setting=CN.rule(Kind.geofence_violation), cause="e"
    )
    assert hit is not None and hit.facts["distance_m"] == 450.5


def test_each_stage_of_a_life_is_timed_by_its_own_rule() -> None:
    """Bags kept too long at the hospital are storage_overdue, on the road transit_overdue, at
    the plant disposal_overdue — for the scan, the sweep and the compliance report alike."""
    from service.anomalies.rules import STAGE_RULE
    from service.custody.stages import STAGES

    assert {stage.name: STAGE_RULE[stage.name] for stage in STAGES} == {
        "storage": Kind.storage_overdue,
        "transit": Kind.transit_overdue,
        "disposal": Kind.disposal_overdue,
    }


def test_a_fix_whose_accuracy_reaches_the_site_proves_no_geofence_violation() -> None:
    s = CN.rule(Kind.geofence_violation)
    point = metres_east(450)
    # 450 m from a 300 m site: 150 m beyond it. A fix good to 200 m may be inside.
    for accuracy in (200.0, 150.0):
        assert (
            geofence_violation(point=point, sites=[SITE], setting=s, cause="e", accuracy_m=accuracy)
            is None
        )
    hit = geofence_violation(point=point, sites=[SITE], setting=s, cause="e", accuracy_m=100.0)
    assert hit is not None
    assert (hit.facts["distance_m"], hit.facts["accuracy_m"]) == (450.0, 100.0)
