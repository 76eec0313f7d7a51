"""The track over HTTP: who records it, each point on its own, idempotent and append-only;
who reads it, as points and as GeoJSON."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, func, select

from service.auth.roles import Role
from service.organizations.models import OrgKind
from service.tracks.models import TrackPoint
from tests.conftest import FakeClock
from tests.factories import make_org, make_user
from tests.tracks.helpers import HOSPITAL, PLANT, Trip, body, drive, open_trip


@pytest.fixture
def trip(session: Session, client: TestClient, clock: FakeClock) -> Trip:
    return open_trip(session, client, clock)


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(TrackPoint)).one()


def _statuses(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["status"] for r in response.json()["results"]]


def test_points_are_stored_once_however_often_they_are_sent(trip: Trip, session: Session) -> None:
    fixes = drive(HOSPITAL, PLANT, trip.clock.now, 3)
    trip.clock.advance(minutes=3)
    first = trip.post(fixes)
    assert _statuses(first) == ["created"] * 6
    assert first.json()["results"][0] == {
        "manifest_id": trip.manifest_id,
        "recorded_at": fixes[0].at.isoformat(),
        "status": "created",
        "error": None,
    }
    # The batch resent after a timeout, with one new point and one point twice.
    extra = drive(PLANT, HOSPITAL, fixes[-1].at + timedelta(seconds=30), 0.5)
    again = trip.post([*fixes, *extra, extra[0]])
    assert _statuses(again) == ["duplicate"] * 6 + ["created", "duplicate"]
    assert _count(session) == 7
    # Another device on the same trip (a second phone in the cab) keeps its own points.
    trip.device = "phone-2"
    assert _statuses(trip.post(fixes[:2])) == ["created", "created"]
    assert _count(session) == 9


def test_each_point_is_judged_on_its_own(trip: Trip, session: Session) -> None:
    [good] = drive(HOSPITAL, PLANT, trip.clock.now, 0.5)
    ok = body(good, trip.manifest_id)
    r = trip.client.post(
        "/mobile/v1/tracks",
        json={
            "device_id": "phone-1",
            "points": [
                {**ok, "latitude": 91.0},
                {k: v for k, v in ok.items() if k != "accuracy_m"},
                {**ok, "recorded_at": "2026-11-02T08:00:00"},  # no offset
                {**ok, "accuracy_m": 0},
                {**ok, "altitude": 1000},
                "not a point",
                ok,
            ],
        },
        headers=trip.ch.headers(trip.ch.driver),
    )
    assert _statuses(r) == ["rejected"] * 6 + ["created"]
    errors = [x["error"] for x in r.json()["results"][:6]]
    assert {e["status"] for e in errors} == {422}
    assert [e["errors"][0]["field"] for e in errors[:5]] == [
        "latitude",
        "accuracy_m",
        "recorded_at",
        "accuracy_m",
        "altitude",
    ]
    assert errors[0]["detail"] == "invalid track point fields: latitude"
    assert _count(session) == 1


def test_only_the_trip_s_driver_records_its_track(
    trip: Trip, session: Session, client: TestClient
) -> None:
    ch = trip.ch
    [fix] = drive(HOSPITAL, PLANT, trip.clock.now, 0.5)
    rival = make_org(session, OrgKind.transporter)
    stranger = make_user(session, Role.driver, rival)
    for user, status, code in (
        (ch.staff, 403, "forbidden"),  # a party, but not the transporter's driver
        (stranger, 404, "manifest-not-found"),  # not theirs to see
    ):
        r = trip.post([fix], as_user=user)
        assert _statuses(r) == ["rejected"], user.role
        error = r.json()["results"][0]["error"]
        assert (error["status"], error["type"].rsplit("/", 1)[1]) == (status, code)
    unknown = {**body(fix, trip.manifest_id), "manifest_id": "6d7d7c2b-e0fb-4b2c-b724-0a0a78842808"}
    r = client.post(
        "/mobile/v1/tracks",
        json={"device_id": "p", "points": [unknown]},
        headers=ch.headers(ch.driver),
    )
    assert r.json()["results"][0]["error"]["status"] == 404
    # Regulators read only: the whole batch is refused.
    assert trip.post([fix], as_user=ch.regulator).status_code == 403
    assert _count(session) == 0
    # Not signed in: 401 for the whole batch.
    r = client.post("/mobile/v1/tracks", json={"device_id": "p", "points": []})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


def test_points_only_while_the_trip_is_open(trip: Trip, session: Session) -> None:
    opened = trip.clock.now - timedelta(minutes=5)  # the manifest was created then
    early = drive(HOSPITAL, PLANT, opened - timedelta(minutes=30), 0.5)
    future = drive(HOSPITAL, PLANT, trip.clock.now + timedelta(minutes=11), 0.5)
    during = drive(HOSPITAL, PLANT, trip.clock.now, 0.5)
    r = trip.post([*early, *future])
    assert [x["error"]["status"] for x in r.json()["results"]] == [409, 422]
    assert r.json()["results"][0]["error"]["type"].endswith("/trip-not-open")
    # After the receipt, points from before it (queued offline) still count; later ones do not.
    trip.clock.advance(minutes=30)
    trip.receive()
    after = drive(HOSPITAL, PLANT, trip.clock.now + timedelta(seconds=1), 0.5)
    trip.clock.advance(minutes=1)
    assert _statuses(trip.post([*during, *after])) == ["created", "rejected"]
    assert _count(session) == 1


def test_the_batch_limit(trip: Trip) -> None:
    headers = trip.ch.headers(trip.ch.driver)
    r = trip.client.post(
        "/mobile/v1/tracks", json={"device_id": "p", "points": [{}] * 2001}, headers=headers
    )
    assert r.status_code == 422


def test_the_track_is_append_only(trip: Trip, session: Session) -> None:
    trip.clock.advance(minutes=1)
    assert _statuses(trip.post(drive(HOSPITAL, PLANT, trip.clock.now, 0.5))) == ["created"]
    for statement in ("UPDATE track_point SET latitude = 0", "DELETE FROM track_point"):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(statement))
    assert _count(session) == 1


def test_who_reads_the_track(trip: Trip, session: Session, client: TestClient) -> None:
    ch = trip.ch
    fixes = drive(HOSPITAL, PLANT, trip.clock.now, 2)
    trip.clock.advance(minutes=2)
    trip.post(list(reversed(fixes)))  # sent in any order, read in time order
    path = f"/api/v1/manifests/{trip.manifest_id}/track"
    for user in (ch.driver, ch.staff, ch.operator, ch.regulator, ch.admin):
        r = client.get(path, headers=ch.headers(user))
        assert r.status_code == 200, (user.role, r.text)
        points = r.json()["points"]
        assert [p["recorded_at"] for p in points] == [
            f.at.isoformat().replace("+00:00", "Z") for f in fixes
        ]
        assert points[0]["accuracy_m"] == 10.0
    far_regulator = make_user(
        session, Role.regulator, make_org(session, OrgKind.regulator, jurisdiction="CN-37")
    )
    other_hospital = make_user(session, Role.hospital_staff, make_org(session, OrgKind.hospital))
    for user in (far_regulator, other_hospital):
        r = client.get(path, headers=ch.headers(user))
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
    assert client.get(path).status_code == 401
    bad = client.get(path, params={"format": "kml"}, headers=ch.headers(ch.driver))
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


def test_the_track_as_geojson(trip: Trip, client: TestClient) -> None:
    ch = trip.ch
    headers = ch.headers(ch.regulator)
    path = f"/api/v1/manifests/{trip.manifest_id}/track"
    empty = client.get(f"{path}.geojson", headers=headers)
    assert empty.json() == {"type": "FeatureCollection", "features": []}
    fixes = drive(HOSPITAL, PLANT, trip.clock.now, 2)
    trip.clock.advance(minutes=2)
    trip.post(fixes)
    for r in (
        client.get(f"{path}.geojson", headers=headers),
        client.get(path, params={"format": "geojson"}, headers=headers),
    ):
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/geo+json"
        [route] = r.json()["features"]
        assert route["geometry"]["type"] == "LineString"
        # GeoJSON positions are [longitude, latitude].
        assert route["geometry"]["coordinates"][0] == [fixes[0].longitude, fixes[0].latitude]
        assert len(route["geometry"]["coordinates"]) == 4
        assert route["properties"]["from"] == fixes[0].at.isoformat()


def test_the_printed_manifest_sketches_the_route(trip: Trip, client: TestClient) -> None:
    headers = trip.ch.headers(trip.ch.regulator)
    path = f"/api/v1/manifests/{trip.manifest_id}.pdf"

    def printed() -> tuple[str, int]:
        response = client.get(path, headers=headers)
        assert response.status_code == 200
        document = pdfium.PdfDocument(response.content)
        text = "".join(page.get_textpage().get_text_range() for page in document)
        paths = sum(
            1
            for page in document
            for obj in page.get_objects()
            if obj.type == pdfium_c.FPDF_PAGEOBJ_PATH
        )
        return text, paths

    fixes = drive(HOSPITAL, PLANT, trip.clock.now, 5)
    trip.clock.advance(minutes=5)
    # Printed at the same moment, both copies carry the same QR code (the track is not part of
    # the manifest's content): the paths they differ by are the sketch's.
    before, paths_before = printed()
    assert "No track recorded for this trip" in before
    trip.post(fixes)
    after, paths_after = printed()
    assert f"{len(fixes)} positions recorded by the driver's phone" in after
    assert "No track recorded" not in after
    assert paths_after >= paths_before + 3  # the box, the route line, the start dot
