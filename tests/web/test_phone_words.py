"""Right information, right words on the phone: discrepancies as sentences with short codes,
manifest numbers rather than ids, short codes typed loosely, signature buttons only for the
user's own party, and an anomaly a scan raised explained where the scan was made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from service.custody.models import Container
from service.db import session_scope
from tests.factories import PASSWORD
from tests.web.conftest import LiveServer
from tests.web.test_phone_app import new_phone, sign_in
from tests.web.test_taps import (
    WEIGHTS,
    collected_bags,
    dispatch,
    events,
    make_region,
    new_trip,
    open_trip,
    scan,
)


def _trip_on_the_road(live: LiveServer) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    region = make_region(live)
    bags = collected_bags(live, region)
    trip = new_trip(live, region)
    for bag in bags:
        scan(
            live,
            region.driver,
            {"qr_payload": bag["qr_payload"], "action": "pickup", "manifest_id": trip["id"]},
        )
    dispatch(live, region, trip)
    return region, bags, trip


def test_discrepancies_read_as_sentences_with_short_codes(
    browser: Any, live_server: LiveServer
) -> None:
    region, bags, trip = _trip_on_the_road(live_server)
    # Two of three bags arrive, the second much lighter; then the plant signs.
    for bag, weight in ((bags[0], WEIGHTS[0]), (bags[1], 2.0)):
        scan(
            live_server,
            region.plant,
            {"qr_payload": bag["qr_payload"], "action": "receive", "weight_kg": weight},
        )
    with live_server.client(region.plant, PASSWORD) as api:
        signed = api.post(
            f"/api/v1/manifests/{trip['id']}/sign",
            json={"party": "destination", "printed_name": "李强"},
        )
        assert signed.status_code == 200, signed.text
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, region.plant)
        open_trip(page, trip)
        box = page.locator("[data-testid=discrepancies]")
        text = box.inner_text()
        assert f"Not received (1): {bags[2]['short_code']}" in text
        m = "\u2212"  # a minus sign, not a hyphen
        assert f"{bags[1]['short_code']}: 3.5 kg → 2 kg ({m}1.5 kg, {m}42.9 %)" in text
        assert f"Total: 6.5 kg sent, 5 kg received ({m}1.5 kg, {m}23.1 %)" in text
        for raw in ("container_id", "{", "count", bags[2]["id"]):
            assert raw not in text
        # No button to sign for anyone else, and the plant has signed already.
        assert page.locator("#trip-current button.sign").count() == 0
        page.click("#lang")
        text = page.locator("[data-testid=discrepancies]").inner_text()
        assert f"未接收（1 袋）：{bags[2]['short_code']}" in text
        assert "合计：移出 6.5 kg，接收 5 kg" in text
    finally:
        context.close()


def test_signature_buttons_only_for_the_users_own_party_and_numbers_not_ids(
    browser: Any, live_server: LiveServer
) -> None:
    region = make_region(live_server)
    bags = collected_bags(live_server, region)
    trip = new_trip(live_server, region)
    scan(
        live_server,
        region.driver,
        {"qr_payload": bags[0]["qr_payload"], "action": "pickup", "manifest_id": trip["id"]},
    )
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, region.driver)
        # Opened by its number as printed, typed with spaces.
        page.goto("/app/#trip")
        page.click("#trip-open summary")
        number = trip["number"]
        page.fill("#trip-open-form input[name=number]", f"{number[:4]} {number[4:8]} {number[8:]}")
        page.click("#trip-open-form button[type=submit]")
        page.wait_for_selector("#trip-current .big")
        assert page.locator("#trip-current .big").inner_text() == number
        parties = page.locator("#trip-current button.sign")
        assert parties.count() == 1
        assert parties.first.get_attribute("data-party") == "transporter"
        assert "Not signed yet by the origin" in page.locator("#trip-current").inner_text()
        page.goto("/app/#home")
        home = page.locator("#home-manifest").inner_text()
        assert number in home and trip["id"][:8] not in home
        page.click("#signout")

        sign_in(page, region.hospital)
        open_trip(page, trip)
        parties = page.locator("#trip-current button.sign")
        assert [parties.nth(i).get_attribute("data-party") for i in range(parties.count())] == [
            "origin"
        ]
    finally:
        context.close()


def test_short_codes_typed_with_spaces_any_case_and_look_alikes(
    browser: Any, live_server: LiveServer
) -> None:
    region = make_region(live_server)
    with live_server.client(region.hospital, PASSWORD) as api:
        made = api.post(
            "/api/v1/containers",
            json={"count": 20, "category": "infectious", "site_id": region.site_id},
        ).json()["containers"]
    # A code with an O, I or B in it, typed as 0, 1 or 8 (base32 has no 0, 1 or 8).
    bag = next(c for c in made if set(c["short_code"]) & set("OIB"))
    typed = bag["short_code"].replace("-", " ").translate(str.maketrans("OIB", "018")).lower()
    assert typed != bag["short_code"].lower()
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, region.hospital)
        page.goto("/app/#scan")
        page.click("#manual summary")
        field = page.locator("#manual-code")
        assert "mono" in field.evaluate("e => getComputedStyle(e).fontFamily").lower()
        page.fill("#manual-code", f"  {typed} ")
        page.press("#manual-code", "Enter")
        page.wait_for_selector("#resolved:not([hidden])")
        assert page.locator("#r-code").inner_text() == bag["short_code"]
        page.fill("#manual-code", "ABCD-EF29")  # a 9 is no letter
        page.press("#manual-code", "Enter")
        page.wait_for_selector("#scan-error:not(:empty)")
        assert page.locator("#scan-error").inner_text() == "This is not a MedWaste label"
    finally:
        context.close()


def receive_by_code(page: Any, bag: dict[str, Any], weight: str) -> None:
    """The plant receives a bag by its typed label, weighing it."""
    page.goto("/app/#scan")
    page.click("#manual summary")
    page.fill("#manual-code", bag["qr_payload"])
    page.press("#manual-code", "Enter")
    page.wait_for_selector("#action-form:not([hidden])")
    assert page.locator("#af-title").inner_text() == "Receive"
    page.fill("#af-weight", weight)
    page.press("#af-weight", "Enter")
    page.wait_for_selector("#scan-outcome[data-status=created]")


def test_an_anomaly_a_scan_raised_is_explained_on_the_phone(
    browser: Any, live_server: LiveServer
) -> None:
    region, bags, _trip = _trip_on_the_road(live_server)
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, region.plant)
        receive_by_code(page, bags[0], "1.0")  # collected at 3 kg
        note = page.locator("#scan-outcome .anomaly[data-kind=weight_discrepancy]")
        text = note.inner_text()
        assert "Weight discrepancy" in text
        assert "may have leaked, been opened, or been weighed wrongly" in text
        assert "What to do: Weigh it again." in text
        page.goto("/app/#queue")
        listed = page.locator("#results-list .anomaly[data-kind=weight_discrepancy]")
        listed.first.wait_for()
        assert listed.count() == 1
    finally:
        context.close()
    received = events(live_server, region.plant, bags[0])[-1]
    assert (received["action"], received["weight_kg"]) == ("receive", 1.0)


def late_trip(live: LiveServer) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """Three bags on a trip whose transit began 27 h ago: 3 h past the 24 h limit. (A scan
    cannot be dated before its bag's registration, so the bags' transit clock is set back.)"""
    region, bags, trip = _trip_on_the_road(live)
    with session_scope(live.engine, write=True) as session:
        for bag in bags:
            container = session.get(Container, bag["id"])
            assert container is not None and container.state == "in_transit"
            container.stage_since = datetime.now(UTC) - timedelta(hours=27)
            session.add(container)
    return region, bags, trip


def test_a_late_trip_received_on_the_phone_names_the_trip_and_its_bags(
    browser: Any, live_server: LiveServer
) -> None:
    region, bags, trip = late_trip(live_server)
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, region.plant)
        receive_by_code(page, bags[0], str(WEIGHTS[0]))
        notes = page.locator("#scan-outcome .anomaly[data-kind=transit_overdue]")
        assert notes.count() == 1
        text = notes.inner_text()
        assert "Transit overdue" in text
        line = notes.locator(".late-trip").inner_text()
        assert line.startswith(f"Trip {trip['number']} is 3")
        for bag in bags:  # the two still on the truck are as late as the one received
            assert bag["short_code"] in line
        assert trip["id"][:8] not in text and bags[0]["id"][:12] not in text
    finally:
        context.close()
