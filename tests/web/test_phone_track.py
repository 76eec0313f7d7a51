"""The phone records its trip's track in a real Chromium: positions scripted through the
browser's geolocation, kept while offline, sent when the network returns, read back by a
regulator and drawn on the dashboard; nothing recorded without an open trip."""

from __future__ import annotations

import time
import uuid
from typing import Any

from service.auth.roles import Role
from service.db import session_scope
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_site, make_user
from tests.web.conftest import LiveServer
from tests.web.test_phone_app import new_phone, sign_in

WARD = {"latitude": 40.8426, "longitude": 111.7490}
# Along the road south-west, each 0.5-1 km from the last.
ROAD = [
    {"latitude": 40.8380, "longitude": 111.7420},
    {"latitude": 40.8330, "longitude": 111.7350},
    {"latitude": 40.8270, "longitude": 111.7280},
]


def _trip(live: LiveServer) -> dict[str, Any]:
    """A manifest in transit with one container on board, and who is who."""
    with session_scope(live.engine, write=True) as session:
        hospital = make_org(session, OrgKind.hospital)
        ward = make_site(session, hospital, **WARD)
        transporter = make_org(session, OrgKind.transporter)
        plant = make_org(session, OrgKind.disposal)
        make_site(session, plant, latitude=40.70, longitude=111.55)
        regulator = make_org(session, OrgKind.regulator)
        people = {
            "staff": make_user(session, Role.hospital_staff, hospital).username,
            "driver": make_user(session, Role.driver, transporter).username,
            "regulator": make_user(session, Role.regulator, regulator).username,
        }
        ids = {"hospital": str(hospital.id), "plant": str(plant.id), "ward": str(ward.id)}
    with live.client(people["staff"], PASSWORD) as staff, live.client(people["driver"], PASSWORD) as driver:  # fmt: skip
        r = staff.post(
            "/api/v1/containers",
            json={"count": 1, "category": "infectious", "site_id": ids["ward"]},
        )
        container = r.json()["containers"][0]

        def scan(api: Any, action: str, **extra: Any) -> None:
            body = {
                "qr_payload": container["qr_payload"],
                "action": action,
                "client_event_id": str(uuid.uuid4()),
                "scanned_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                **extra,
            }
            r = api.post("/api/v1/scans", json=body)
            assert r.status_code == 201, r.text

        scan(staff, "collect", weight_kg=4.0)
        r = driver.post(
            "/api/v1/manifests",
            json={
                "origin_organization_id": ids["hospital"],
                "destination_organization_id": ids["plant"],
                "vehicle_plate": "蒙A55555",
            },
        )
        manifest_id = r.json()["id"]
        scan(driver, "pickup", manifest_id=manifest_id)
        for api, party in ((staff, "origin"), (driver, "transporter")):
            r = api.post(
                f"/api/v1/manifests/{manifest_id}/sign",
                json={"party": party, "printed_name": party},
            )
            assert r.status_code == 200, r.text
    return {"manifest_id": manifest_id, **people}


def _queued(page: Any) -> int:
    count: int = page.evaluate("async () => (await import('/app/track.js')).queuedPoints()")
    return count


def _wait(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_the_phone_records_the_track_offline_and_sends_it(
    browser: Any, live_server: LiveServer
) -> None:
    trip = _trip(live_server)
    context = new_phone(browser, live_server)
    context.set_geolocation(WARD)
    try:
        page = context.new_page()
        sign_in(page, trip["driver"])
        page.evaluate(f"localStorage.setItem('medwaste.manifest', '{trip['manifest_id']}')")
        page.goto("/app/#trip")
        page.wait_for_selector("[data-testid=trip-count]")
        page.goto("/app/#home")
        page.wait_for_selector("body[data-tracking='1']")
        _wait(lambda: _queued(page) >= 1)

        context.set_offline(True)
        for place in ROAD:
            context.set_geolocation(place)
            page.wait_for_timeout(300)
        _wait(lambda: _queued(page) == 1 + len(ROAD))
        context.set_offline(False)
        _wait(lambda: _queued(page) == 0)
    finally:
        context.close()

    with live_server.client(trip["regulator"], PASSWORD) as api:
        r = api.get(f"/api/v1/manifests/{trip['manifest_id']}/track")
        assert r.status_code == 200, r.text
        points = r.json()["points"]
        assert [(p["latitude"], p["longitude"]) for p in points] == [
            (p["latitude"], p["longitude"]) for p in (WARD, *ROAD)
        ]
        assert all(p["accuracy_m"] > 0 and p["device_id"].startswith("phone-") for p in points)
        geo = api.get(f"/api/v1/manifests/{trip['manifest_id']}/track.geojson").json()
        [route] = [f for f in geo["features"] if f["properties"]["feature"] == "route"]
        assert len(route["geometry"]["coordinates"]) == 4

    # The regulator's dashboard draws the route.
    desk = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900}, locale="en-GB")  # fmt: skip
    desk.set_default_timeout(20000)
    try:
        page = desk.new_page()
        page.goto("/dashboard/")
        page.wait_for_selector("body[data-ready='1']")
        page.fill("#login-form input[name=username]", trip["regulator"])
        page.fill("#login-form input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#view-anomalies:not([hidden])")
        page.goto(f"/dashboard/#track?manifest={trip['manifest_id']}")
        page.wait_for_selector("#track polyline.track-route")
        drawn = page.locator("#track polyline.track-route").get_attribute("points") or ""
        assert len(drawn.split()) == 4
        assert (
            page.locator("[data-testid=track-summary]")
            .inner_text()
            .startswith("4 positions, 0 stops")
        )
        assert page.locator("[data-testid=track-anomalies] tbody tr").inner_text() == (
            "Nothing flagged on this track."
        )
    finally:
        desk.close()


def test_no_trip_no_recording(browser: Any, live_server: LiveServer) -> None:
    trip = _trip(live_server)
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, trip["driver"])  # a driver, but no trip chosen on this phone
        for place in ROAD:
            context.set_geolocation(place)
            page.wait_for_timeout(300)
        assert page.locator("body[data-tracking]").count() == 0
        assert _queued(page) == 0
    finally:
        context.close()
