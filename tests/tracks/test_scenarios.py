"""Whole trips with synthetic tracks, through the phone API and the sweep: each raises exactly
the anomalies expected, once each; a clean trip and a jittery phone raise nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.anomalies.profile import SHIPPED
from service.anomalies.sweep import run_sweep
from service.anomalies.track_rules import Fix
from tests.conftest import FakeClock
from tests.tracks.helpers import (
    HOSPITAL,
    MIDDLE,
    PLANT,
    Trip,
    aside,
    drive,
    east,
    north,
    open_trip,
    stand,
)


def _finish(trip: Trip) -> None:
    """Unload at the plant, then let the sweep look again two hours later."""
    trip.receive()
    later = trip.clock.now + timedelta(hours=2)
    run_sweep(session=trip.ch.session, now=later, profiles=SHIPPED)


def _kinds(trip: Trip) -> list[str]:
    return [a.kind for a in trip.anomalies()]


@pytest.fixture
def trip(session: Session, client: TestClient, clock: FakeClock) -> Trip:
    return open_trip(session, client, clock)


def test_a_clean_trip_raises_nothing(trip: Trip) -> None:
    start = trip.clock.now
    trip.drive_through(drive(HOSPITAL, PLANT, start, 45))
    _finish(trip)
    assert _kinds(trip) == []
    track = trip.client.get(
        f"/api/v1/manifests/{trip.manifest_id}/track", headers=trip.ch.headers(trip.ch.regulator)
    ).json()
    assert len(track["points"]) == 90
    assert (track["stops"], track["anomalies"]) == ([], [])


def test_forty_minutes_in_a_field_is_one_unscheduled_stop(trip: Trip) -> None:
    start = trip.clock.now
    field = aside(MIDDLE, 2.0)  # 2 km off the road, 12 km from either site
    stop_at = start + timedelta(minutes=20)
    fixes = [
        *drive(HOSPITAL, field, start, 20),
        *stand(field, stop_at, 40),
        *drive(field, PLANT, stop_at + timedelta(minutes=40, seconds=30), 20),
    ]
    trip.drive_through(fixes)
    _finish(trip)
    [stop] = trip.anomalies()
    assert stop.kind == "unscheduled_stop"
    assert stop.severity == "warning"
    # Raised while the stop went on, its facts grew with it: the whole 40 minutes.
    assert stop.facts["from"] == stop_at.isoformat()
    assert stop.facts["minutes"] == pytest.approx(40.5, abs=0.5)
    assert (stop.facts["latitude"], stop.facts["longitude"]) == pytest.approx(field, abs=1e-4)
    assert stop.facts["containers"] == sorted(c["id"] for c in trip.containers)
    assert stop.organization_id == trip.ch.transporter.id
    assert stop.jurisdiction == "CN-15"


def test_a_detour_is_one_route_deviation(trip: Trip) -> None:
    start = trip.clock.now
    away = aside(MIDDLE, 25.0)
    fixes = [
        *drive(HOSPITAL, away, start, 30),
        *drive(away, PLANT, start + timedelta(minutes=30), 30),
    ]
    trip.drive_through(fixes)
    _finish(trip)
    [detour] = trip.anomalies()
    assert detour.kind == "route_deviation"
    assert 23.0 < detour.facts["max_km"] < 25.5
    assert detour.facts["containers"] == sorted(c["id"] for c in trip.containers)


def test_a_phone_off_for_an_hour_is_one_track_gap(trip: Trip) -> None:
    start = trip.clock.now
    before = drive(HOSPITAL, MIDDLE, start, 20)
    silent_from = before[-1].at
    after = drive(MIDDLE, PLANT, silent_from + timedelta(hours=1), 20)
    trip.drive_through([*before, *after])
    _finish(trip)
    [gap] = trip.anomalies()
    assert gap.kind == "track_gap"
    # The sweep raised it while the phone was silent; the points that came back closed it.
    assert gap.facts["from"] == silent_from.isoformat()
    assert gap.facts["to"] == after[0].at.isoformat()
    assert (gap.facts["minutes"], gap.facts["ongoing"]) == (60.0, False)
    assert gap.detected_at < after[0].at + timedelta(seconds=30)


def test_a_jittery_phone_at_the_hospital_raises_nothing(trip: Trip) -> None:
    start = trip.clock.now
    # An hour loading at the ward, the phone indoors: 40 minutes of fixes from a cell tower
    # 2.5 km away, then fixes jumping between it and another 2 km away, accuracy 1.5 km (taken
    # at face value, the first 40 minutes would be a stop 1 km beyond the ward's reach). Then
    # the road.
    towers = [east(HOSPITAL, 2.5), north(HOSPITAL, -2.0)]
    waiting = [
        Fix(start + timedelta(seconds=30 * i), *towers[0 if i < 80 else i % 2], 1500.0)
        for i in range(120)
    ]
    road = drive(HOSPITAL, PLANT, start + timedelta(hours=1), 45)
    trip.drive_through([*waiting, *road])
    _finish(trip)
    assert _kinds(trip) == []


def test_points_sent_again_raise_nothing_again(trip: Trip) -> None:
    start = trip.clock.now
    field = aside(MIDDLE, 2.0)
    fixes = [*drive(HOSPITAL, field, start, 10), *stand(field, start + timedelta(minutes=10), 30)]
    trip.drive_through(fixes)
    assert _kinds(trip) == ["unscheduled_stop"]
    again = trip.post(fixes)
    assert {r["status"] for r in again.json()["results"]} == {"duplicate"}
    assert again.json()["anomalies"] == []
    assert _kinds(trip) == ["unscheduled_stop"]


def test_late_points_that_move_a_stop_s_start_do_not_raise_it_again(trip: Trip) -> None:
    start = trip.clock.now
    field = aside(MIDDLE, 2.0)
    fixes = [*drive(HOSPITAL, field, start, 10), *stand(field, start + timedelta(minutes=10), 40)]
    # The first ten minutes at the field were kept on a second phone that was offline.
    head, tail = fixes[:20], fixes[20:]
    late = stand(field, start + timedelta(minutes=10), 10)
    trip.drive_through([*head, *tail[20:]])
    [stop] = trip.anomalies()
    first_start = stop.facts["from"]
    trip.device = "phone-2"
    r = trip.post(late)
    assert {x["status"] for x in r.json()["results"]} == {"created"}
    [again] = trip.anomalies()
    assert again.id == stop.id
    assert again.facts["from"] < first_start  # the stop began earlier than first known
    assert again.facts["minutes"] == pytest.approx(40.0, abs=0.5)
