"""The track rules over synthetic fixes (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.anomalies.profile import load_profile
from service.anomalies.rules import Kind, SitePoint, impossible_travel
from service.anomalies.track_rules import (
    Fix,
    Load,
    cross_border,
    find_stops,
    on_board,
    route_deviation,
    track_gap,
    unscheduled_stop,
)
from service.geo import haversine_km, km_from_segment
from service.jurisdictions import bounds
from tests.tracks.helpers import HOSPITAL, MIDDLE, PLANT, aside, drive, east, north, stand

CN = load_profile("cn-national")
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SITES = [
    SitePoint("ward", *HOSPITAL, 300.0),
    SitePoint("plant", *PLANT, 300.0),
]
LOAD = [Load("C1", T0, None), Load("C2", T0 + timedelta(minutes=1), None)]


def test_geometry() -> None:
    assert haversine_km(*HOSPITAL, *east(HOSPITAL, 7.0)) == pytest.approx(7.0, abs=1e-3)
    a, b = (40.0, 111.0), (40.0, 112.0)
    # Beside the middle of the segment: the perpendicular distance.
    assert km_from_segment(north((40.0, 111.5), 12.0), a, b) == pytest.approx(12.0, rel=0.01)
    # Beyond an end: the distance to that end.
    beyond = east(b, 5.0)
    assert km_from_segment(beyond, a, b) == pytest.approx(5.0, rel=0.01)
    assert km_from_segment(a, a, a) == 0.0


def test_on_board_follows_pickups_and_receipts() -> None:
    loads = [Load("A", T0, T0 + timedelta(hours=1)), Load("B", T0 + timedelta(minutes=30))]
    assert on_board(loads, T0 - timedelta(seconds=1)) == []
    assert on_board(loads, T0) == ["A"]
    assert on_board(loads, T0 + timedelta(minutes=45)) == ["A", "B"]
    assert on_board(loads, T0 + timedelta(hours=1)) == ["B"]


# --- unscheduled_stop

FIELD = north(east(HOSPITAL, -9.0), -6.0)  # about 11 km from either site, in a field
S = CN.rule(Kind.unscheduled_stop)


def test_a_stop_in_a_field_in_full() -> None:
    fixes = [
        *drive(HOSPITAL, FIELD, T0, 15),
        *stand(FIELD, T0 + timedelta(minutes=15), 40),
        *drive(FIELD, PLANT, T0 + timedelta(minutes=55, seconds=30), 20),
    ]
    found = unscheduled_stop(fixes=fixes, loads=LOAD, sites=SITES, setting=S)
    assert len(found) == 1
    hit = found[0]
    assert (hit.kind, hit.severity, hit.cause) == (
        Kind.unscheduled_stop,
        "warning",
        f"stop:{(T0 + timedelta(minutes=15)).isoformat()}",
    )
    assert hit.threshold == "> 20 min stationary away from the parties' sites"
    # 40 minutes standing, and the next fix still at the field as the truck sets off.
    assert hit.facts["minutes"] == 40.5
    assert hit.facts["containers"] == ["C1", "C2"]
    assert hit.facts["latitude"] == pytest.approx(FIELD[0], abs=1e-4)
    assert hit.facts["longitude"] == pytest.approx(FIELD[1], abs=1e-4)
    assert hit.facts["nearest_site_id"] == "ward"
    assert 10_000 < hit.facts["nearest_site_m"] < 12_000


def test_twenty_minutes_exactly_is_quiet_and_a_stop_at_a_site_is_expected() -> None:
    assert unscheduled_stop(fixes=stand(FIELD, T0, 20), loads=LOAD, sites=SITES, setting=S) == []
    assert unscheduled_stop(fixes=stand(FIELD, T0, 21), loads=LOAD, sites=SITES, setting=S)
    at_plant = stand(east(PLANT, 0.2), T0, 90)  # inside the plant's 300 m
    assert unscheduled_stop(fixes=at_plant, loads=LOAD, sites=SITES, setting=S) == []
    # 400 m from the plant: outside its 300 m, unless the fixes' accuracy reaches it.
    near = east(PLANT, 0.4)
    assert unscheduled_stop(fixes=stand(near, T0, 30, 20.0), loads=LOAD, sites=SITES, setting=S)
    assert not unscheduled_stop(fixes=stand(near, T0, 30, 150.0), loads=LOAD, sites=SITES, setting=S)  # fmt: skip
    # No site on record for any party: every long stop is away from them.
    assert unscheduled_stop(fixes=at_plant, loads=LOAD, sites=[], setting=S)


def test_a_stop_without_waste_on_board_is_nobody_s_business() -> None:
    later = [Load("C1", T0 + timedelta(hours=2))]
    assert unscheduled_stop(fixes=stand(FIELD, T0, 40), loads=later, sites=SITES, setting=S) == []
    assert unscheduled_stop(fixes=stand(FIELD, T0, 40), loads=[], sites=SITES, setting=S) == []


def test_inaccurate_fixes_prove_no_stop() -> None:
    # A phone indoors reports the cell tower 2.5 km from the ward, accuracy 1.5 km, for an hour.
    tower = east(HOSPITAL, 2.5)
    fixes = stand(tower, T0, 60, accuracy=1500.0)
    assert unscheduled_stop(fixes=fixes, loads=LOAD, sites=SITES, setting=S) == []
    # The same fixes, precise, would be a stop away from the ward.
    precise = stand(tower, T0, 60, accuracy=20.0)
    assert len(unscheduled_stop(fixes=precise, loads=LOAD, sites=SITES, setting=S)) == 1


def test_stops_need_every_fix_within_the_radius_of_the_first() -> None:
    crawl = drive(FIELD, east(FIELD, 3.0), T0, 40)  # 75 m per fix: moving, slowly
    assert find_stops(crawl, radius_m=150, longer_than=timedelta(minutes=20), max_accuracy_m=200) == []  # fmt: skip
    two = [*stand(FIELD, T0, 25), *stand(east(FIELD, 2.0), T0 + timedelta(minutes=26), 25)]
    stops = find_stops(two, radius_m=150, longer_than=timedelta(minutes=20), max_accuracy_m=200)
    assert [s.minutes for s in stops] == [25.0, 25.0]


# --- route_deviation

D = CN.rule(Kind.route_deviation)


def test_a_detour_is_one_deviation_with_its_farthest_place() -> None:
    away = aside(MIDDLE, 20.0)
    fixes = [
        *drive(HOSPITAL, away, T0, 30),
        *drive(away, PLANT, T0 + timedelta(minutes=30), 30),
    ]
    found = route_deviation(
        fixes=fixes, loads=LOAD, origins=[HOSPITAL], destinations=[PLANT], setting=D
    )
    assert len(found) == 1
    hit = found[0]
    assert hit.kind is Kind.route_deviation
    assert hit.threshold == "> 10 km from the corridor origin → destination"
    assert (hit.facts["latitude"], hit.facts["longitude"]) == pytest.approx(away, abs=1e-3)
    assert 18.0 < hit.facts["max_km"] < 20.5
    assert hit.facts["containers"] == ["C1", "C2"]
    assert hit.facts["fixes"] > 10
    assert hit.cause == f"deviation:{hit.facts['from']}"


def test_a_straight_trip_and_a_small_bend_stay_in_the_corridor() -> None:
    straight = drive(HOSPITAL, PLANT, T0, 40)
    bend = [*drive(HOSPITAL, aside(MIDDLE, 8.0), T0, 20), *drive(aside(MIDDLE, 8.0), PLANT, T0 + timedelta(minutes=20), 20)]  # fmt: skip
    for fixes in (straight, bend):
        assert not route_deviation(
            fixes=fixes, loads=LOAD, origins=[HOSPITAL], destinations=[PLANT], setting=D
        )


def test_accuracy_and_single_stray_fixes_prove_no_deviation() -> None:
    stray = [
        *drive(HOSPITAL, MIDDLE, T0, 10),
        Fix(T0 + timedelta(minutes=10), *aside(MIDDLE, 15.0), 10.0),  # one stray fix
        *drive(MIDDLE, PLANT, T0 + timedelta(minutes=10, seconds=30), 10),
    ]
    assert not route_deviation(
        fixes=stray, loads=LOAD, origins=[HOSPITAL], destinations=[PLANT], setting=D
    )
    # 12 km off with 3 km accuracy: only 9 km proven.
    vague = [Fix(T0 + timedelta(minutes=i), *aside(MIDDLE, 12.0), 3000.0) for i in range(5)]
    sharp = [Fix(f.at, f.latitude, f.longitude, 50.0) for f in vague]
    args = {"loads": LOAD, "origins": [HOSPITAL], "destinations": [PLANT], "setting": D}
    assert not route_deviation(fixes=vague, **args)  # type: ignore[arg-type]
    assert len(route_deviation(fixes=sharp, **args)) == 1  # type: ignore[arg-type]
    # Just past the limit: proven by a sharp fix, not by one whose accuracy covers the excess.
    edge = [Fix(T0 + timedelta(minutes=i), *aside(MIDDLE, 10.1), 20.0) for i in range(3)]
    blurred = [Fix(f.at, f.latitude, f.longitude, 150.0) for f in edge]
    assert len(route_deviation(fixes=edge, **args)) == 1  # type: ignore[arg-type]
    assert not route_deviation(fixes=blurred, **args)  # type: ignore[arg-type]
    # Nothing on board yet (driving to the hospital): no corridor to keep to.
    assert not route_deviation(fixes=sharp, **{**args, "loads": [Load("C1", T0 + timedelta(hours=1))]})  # type: ignore[arg-type]  # fmt: skip
    # No corridor without sites: nothing is judged.
    assert not route_deviation(fixes=sharp, loads=LOAD, origins=[], destinations=[PLANT], setting=D)


# --- track_gap

G = CN.rule(Kind.track_gap)


def test_a_phone_off_for_an_hour_is_one_gap() -> None:
    before = drive(HOSPITAL, MIDDLE, T0, 20)
    after = drive(MIDDLE, PLANT, before[-1].at + timedelta(hours=1), 20)
    found = track_gap(fixes=[*before, *after], loads=LOAD, setting=G)
    assert len(found) == 1
    hit = found[0]
    assert hit.facts["from"] == before[-1].at.isoformat()
    assert hit.facts["to"] == after[0].at.isoformat()
    assert (hit.facts["minutes"], hit.facts["ongoing"]) == (60.0, False)
    assert (hit.facts["latitude"], hit.facts["longitude"]) == (
        before[-1].latitude,
        before[-1].longitude,
    )
    assert hit.cause == f"gap:{before[-1].at.isoformat()}"


def test_silence_is_a_gap_for_the_sweep_until_the_waste_is_unloaded() -> None:
    fixes = drive(HOSPITAL, MIDDLE, T0, 20)
    last = fixes[-1].at
    assert track_gap(fixes=fixes, loads=LOAD, setting=G) == []
    assert track_gap(fixes=fixes, loads=LOAD, setting=G, now=last + timedelta(minutes=30)) == []
    ongoing = track_gap(fixes=fixes, loads=LOAD, setting=G, now=last + timedelta(minutes=45))
    assert [(f.facts["ongoing"], f.facts["to"], f.facts["minutes"]) for f in ongoing] == [
        (True, None, 45.0)
    ]
    # Both containers received 10 minutes after the last fix: no gap while carrying.
    unloaded = [Load(x.container_id, x.picked_up_at, last + timedelta(minutes=10)) for x in LOAD]
    assert track_gap(fixes=fixes, loads=unloaded, setting=G, now=last + timedelta(hours=3)) == []
    # The phone was on before the pickup and silent since: the silence runs from the pickup.
    before = [Fix(T0 - timedelta(minutes=5), *HOSPITAL, 10.0)]
    silent = track_gap(fixes=before, loads=LOAD, setting=G, now=T0 + timedelta(minutes=31))
    assert [f.facts["from"] for f in silent] == [T0.isoformat()]
    # A trip with no position at all is not tracked: nothing to judge.
    assert track_gap(fixes=[], loads=LOAD, setting=G, now=T0 + timedelta(hours=5)) == []
    # Before any pickup there is nothing on board to lose.
    assert track_gap(fixes=[], loads=[], setting=G, now=T0 + timedelta(hours=5)) == []


def test_inaccurate_fixes_still_prove_the_phone_was_on() -> None:
    fixes = [Fix(T0 + timedelta(minutes=10 * i), *HOSPITAL, 5000.0) for i in range(7)]
    assert track_gap(fixes=fixes, loads=LOAD, setting=G) == []


# --- cross_border

B = CN.rule(Kind.cross_border)
JINAN = (36.65, 117.0)
BEIJING = (39.9, 116.4)


def test_leaving_the_province_is_one_crossing() -> None:
    shandong = bounds("CN-37")
    assert shandong is not None
    fixes = [
        Fix(T0, *JINAN, 10.0),
        Fix(T0 + timedelta(hours=2), *BEIJING, 10.0),
        Fix(T0 + timedelta(hours=2, minutes=1), *BEIJING, 10.0),
        Fix(T0 + timedelta(hours=4), *JINAN, 10.0),
    ]
    found = cross_border(fixes=fixes, loads=LOAD, allowed={"CN-37": shandong}, setting=B)
    assert len(found) == 1
    hit = found[0]
    assert (hit.severity, hit.threshold) == (
        "critical",
        "outside CN-37 without an approved transfer",
    )
    assert (hit.facts["latitude"], hit.facts["longitude"], hit.facts["fixes"]) == (*BEIJING, 2)
    assert "第八十二条" in hit.rule
    # A manifest to a plant in Beijing is the transfer: both provinces are allowed.
    beijing = bounds("CN-11")
    assert beijing is not None
    both = {"CN-37": shandong, "CN-11": beijing}
    assert cross_border(fixes=fixes, loads=LOAD, allowed=both, setting=B) == []
    # No box on file, or a profile without the rule: nothing judged.
    assert cross_border(fixes=fixes, loads=LOAD, allowed={}, setting=B) == []
    us = load_profile("us-rcra").rule(Kind.cross_border)
    assert cross_border(fixes=fixes, loads=LOAD, allowed={"CN-37": shandong}, setting=us) == []


def test_a_fix_just_outside_within_its_accuracy_proves_no_crossing() -> None:
    shandong = bounds("CN-37")
    assert shandong is not None
    just_out = north((shandong.north, 118.0), 2.0)
    vague = [Fix(T0, *just_out, 800.0)]  # 2 km out, 0.8 km accuracy: out
    assert len(cross_border(fixes=vague, loads=LOAD, allowed={"CN-37": shandong}, setting=B)) == 1
    wide = [Fix(T0, *just_out, 900.0), Fix(T0, *north(just_out, -1.5), 900.0)]
    assert cross_border(fixes=wide[1:], loads=LOAD, allowed={"CN-37": shandong}, setting=B) == []


def test_jurisdiction_boxes_hold_their_capitals() -> None:
    for code, city in (("CN-15", (40.84, 111.75)), ("CN-NM", (40.84, 111.75)), ("CN-37", JINAN)):
        box = bounds(code)
        assert box is not None and box.holds(*city)
    assert bounds("CN-37") is not None and not bounds("CN-37").holds(*BEIJING)  # type: ignore[union-attr]
    assert bounds("US-CA") is None and bounds(None) is None


# --- impossible_travel: accuracy and a floor


def test_jitter_does_not_accuse_a_label() -> None:
    s = CN.rule(Kind.impossible_travel)
    a, b = HOSPITAL, east(HOSPITAL, 2.8)  # 2.8 km in a minute: a jumping fix, not a clone
    args = {"previous": a, "previous_at": T0, "current": b, "current_at": T0 + timedelta(minutes=1), "setting": s, "cause": "e"}  # fmt: skip
    assert impossible_travel(**args) is None  # type: ignore[arg-type]
    far = east(HOSPITAL, 8.0)  # 8 km in a minute: a clone...
    hit = impossible_travel(**{**args, "current": far})  # type: ignore[arg-type]
    assert hit is not None and hit.threshold == "> 150 km/h over > 3 km"
    assert hit.facts["uncertainty_km"] == 0.0
    # ...unless both ends are sites 3 km wide each: 8 - 6 = 2 km proven, under the floor.
    assert (
        impossible_travel(
            **{**args, "current": far},  # type: ignore[arg-type]
            previous_uncertainty_m=3000,
            current_uncertainty_m=3000,
        )
        is None
    )
    wide = impossible_travel(
        **{**args, "current": east(HOSPITAL, 20.0)},  # type: ignore[arg-type]
        previous_uncertainty_m=300,
        current_uncertainty_m=700,
    )
    assert wide is not None
    assert (wide.facts["uncertainty_km"], wide.facts["speed_kmh"]) == (1.0, 1140.0)
