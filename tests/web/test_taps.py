"""Taps per bag, measured: a driver picking up a trip's bags and a plant receiving them, with
a fake camera showing the labels one after the other.

An interaction is a label shown to the camera, a tap, or a value typed and confirmed with the
keyboard's Enter. Per trip the user also taps once to start scanning. Before continuous
scanning the phone needed, per bag: start the camera, the read, the action, Record (4 for a
pickup), and the weight besides (5 for a weighed receipt)."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from service.auth.roles import Role
from service.db import session_scope
from service.labels.render import label_png
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_site, make_user
from tests.web.conftest import LiveServer, launch, save_screenshot
from tests.web.test_phone_app import GEO, new_phone, sign_in

WEIGHTS = [3.0, 3.5, 4.25]


@dataclass
class Region:
    hospital: str
    driver: str
    plant: str
    hospital_id: str
    plant_id: str
    site_id: str
    plant_site_id: str


def make_region(live: LiveServer) -> Region:
    with session_scope(live.engine, write=True) as session:
        hospital = make_org(session, OrgKind.hospital)
        site = make_site(session, hospital, **GEO)
        fleet = make_org(session, OrgKind.transporter)
        plant = make_org(session, OrgKind.disposal)
        plant_site = make_site(session, plant, latitude=40.75, longitude=111.55)
        return Region(
            hospital=make_user(session, Role.hospital_staff, hospital).username,
            driver=make_user(session, Role.driver, fleet).username,
            plant=make_user(session, Role.disposal_operator, plant).username,
            hospital_id=str(hospital.id),
            plant_id=str(plant.id),
            site_id=str(site.id),
            plant_site_id=str(plant_site.id),
        )


def scan(live: LiveServer, who: str, body: dict[str, Any]) -> None:
    with live.client(who, PASSWORD) as api:
        body = {"client_event_id": str(uuid.uuid4()), "scanned_at": _now(), **body}
        response = api.post("/api/v1/scans", json=body)
        assert response.status_code == 201, response.text


def _now() -> str:
    return datetime.now(UTC).isoformat()


def collected_bags(live: LiveServer, region: Region) -> list[dict[str, Any]]:
    with live.client(region.hospital, PASSWORD) as api:
        response = api.post(
            "/api/v1/containers",
            json={"count": len(WEIGHTS), "category": "infectious", "site_id": region.site_id},
        )
        assert response.status_code == 201, response.text
        bags: list[dict[str, Any]] = response.json()["containers"]
    for bag, weight in zip(bags, WEIGHTS, strict=True):
        scan(
            live,
            region.hospital,
            {"qr_payload": bag["qr_payload"], "action": "collect", "weight_kg": weight},
        )
    return bags


def new_trip(live: LiveServer, region: Region) -> dict[str, Any]:
    with live.client(region.driver, PASSWORD) as api:
        response = api.post(
            "/api/v1/manifests",
            json={
                "origin_organization_id": region.hospital_id,
                "destination_organization_id": region.plant_id,
                "vehicle_plate": "蒙A·D1234",
            },
        )
        assert response.status_code == 201, response.text
        trip: dict[str, Any] = response.json()
        return trip


def dispatch(live: LiveServer, region: Region, trip: dict[str, Any]) -> None:
    for who, party in ((region.hospital, "origin"), (region.driver, "transporter")):
        with live.client(who, PASSWORD) as api:
            response = api.post(
                f"/api/v1/manifests/{trip['id']}/sign",
                json={"party": party, "printed_name": "王丽"},
            )
            assert response.status_code == 200, response.text


def events(live: LiveServer, who: str, bag: dict[str, Any]) -> list[dict[str, Any]]:
    with live.client(who, PASSWORD) as api:
        body = api.get(f"/api/v1/containers/{bag['id']}/events").json()
        assert body["verified"] is True
        found: list[dict[str, Any]] = body["events"]
        return found


def write_feed(bags: list[dict[str, Any]], path: Path) -> Path:
    """A fake camera showing each label for a second, with empty frames between, looping."""
    width, height = 640, 480
    frames: list[bytes] = []
    blank = Image.new("RGB", (width, height), "white")
    for bag in bags:
        frame = blank.copy()
        qr = Image.open(io.BytesIO(label_png(bag["qr_payload"]))).convert("RGB")
        qr = qr.resize((340, 340), Image.Resampling.NEAREST)
        frame.paste(qr, ((width - 340) // 2, (height - 340) // 2))
        frames += [_yuv(frame)] * 10 + [_yuv(blank)] * 4
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for planes in frames:
            out.write(b"FRAME\n" + planes)
    return path


def _yuv(image: Image.Image) -> bytes:
    y, u, v = image.convert("YCbCr").split()
    half = (image.width // 2, image.height // 2)
    return y.tobytes() + u.resize(half).tobytes() + v.resize(half).tobytes()


class Taps:
    """Counts what the user does: taps, typed values (with Enter), labels shown."""

    def __init__(self, page: Any) -> None:
        self.page, self.count = page, 0

    def tap(self, selector: str) -> None:
        self.page.click(selector)
        self.count += 1

    def type_and_enter(self, selector: str, text: str) -> None:
        self.page.fill(selector, text)
        self.page.press(selector, "Enter")
        self.count += 1


def open_trip(page: Any, trip: dict[str, Any]) -> None:
    page.goto("/app/#trip")
    page.click("#trip-open summary")
    page.click(f"#trip-list button[data-id='{trip['id']}']")
    page.wait_for_selector("#trip-current .big")


def camera_phone(playwright: Any, live: LiveServer, feed: Path) -> tuple[Any, Any]:
    browser = launch(
        playwright,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={feed}",
        "--autoplay-policy=no-user-gesture-required",
    )
    return browser, new_phone(browser, live)


def test_pickup_takes_one_interaction_per_bag_and_a_weighed_receipt_two(
    playwright: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    region = make_region(live_server)
    bags = collected_bags(live_server, region)
    trip = new_trip(live_server, region)
    feed = write_feed(bags, tmp_path / "bags.y4m")
    codes = {b["short_code"]: w for b, w in zip(bags, WEIGHTS, strict=True)}

    browser, context = camera_phone(playwright, live_server, feed)
    try:
        page = context.new_page()
        sign_in(page, region.driver)
        open_trip(page, trip)
        assert page.locator("#trip-current .big").inner_text() == trip["number"]
        taps = Taps(page)
        taps.tap("#trip-scan-link")  # once per trip: the camera starts, pickup chosen
        # The trip's action is shown once the scanning view has drawn (not at once on a
        # loaded machine): wait for it rather than read it the instant after the tap.
        page.wait_for_selector("#ts-action:text-is('Pick up')")
        page.wait_for_selector(f"#ts-count:text-is('{len(bags)}')", timeout=30000)
        per_trip = taps.count
        # The feed loops: every label is read again, and nothing is recorded twice.
        page.wait_for_timeout(3000)
        assert page.locator("#ts-count").inner_text() == str(len(bags))
        page.wait_for_selector("#queue-badge[data-count='0']")
        listed = page.locator("#ts-list li[data-status=queued]").all_inner_texts()
        assert sorted(t.split()[0] for t in listed) == sorted(codes)
        save_screenshot(page, "phone-trip-scan.png")
        pickup_per_bag = (len(bags) + taps.count - per_trip) / len(bags)
    finally:
        context.close()
        browser.close()
    for bag in bags:
        picked = [e for e in events(live_server, region.driver, bag) if e["action"] == "pickup"]
        assert len(picked) == 1 and picked[0]["manifest_id"] == trip["id"]
        assert picked[0]["weight_kg"] is None  # optional: not asked

    dispatch(live_server, region, trip)
    browser, context = camera_phone(playwright, live_server, feed)
    try:
        page = context.new_page()
        sign_in(page, region.plant)
        open_trip(page, trip)
        taps = Taps(page)
        taps.tap("#trip-scan-link")
        page.wait_for_selector("#ts-action:text-is('Receive')")
        for done in range(1, len(bags) + 1):
            page.wait_for_selector("#ts-weight-form:not([hidden])", timeout=30000)
            code = page.locator("#ts-weight-code").inner_text()
            taps.type_and_enter("#ts-weight", str(codes[code] - 0.05))
            page.wait_for_selector(f"#ts-count:text-is('{done}')")
        receipt_per_bag = (len(bags) + taps.count - 1) / len(bags)
        page.wait_for_selector("#queue-badge[data-count='0']")
        assert page.locator("#refusal-banner").is_hidden()
    finally:
        context.close()
        browser.close()
    for bag, weight in zip(bags, WEIGHTS, strict=True):
        got = [e for e in events(live_server, region.plant, bag) if e["action"] == "receive"]
        assert [e["weight_kg"] for e in got] == [round(weight - 0.05, 2)]

    print(
        f"\ntaps per bag: pickup {pickup_per_bag:g} (before: 4), "
        f"weighed receipt {receipt_per_bag:g} (before: 5); plus 1 tap per trip"
    )
    assert pickup_per_bag == 1
    assert receipt_per_bag == 2


def trip_on_the_road(
    live: LiveServer, region: Region
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A trip with the collected bags picked up onto it, signed by origin and transporter."""
    bags = collected_bags(live, region)
    trip = new_trip(live, region)
    for bag in bags:
        scan(
            live,
            region.driver,
            {"qr_payload": bag["qr_payload"], "action": "pickup", "manifest_id": trip["id"]},
        )
    dispatch(live, region, trip)
    return trip, bags


def test_receive_all_in_one_list_then_dispose_all(browser: Any, live_server: LiveServer) -> None:
    region = make_region(live_server)
    trip, bags = trip_on_the_road(live_server, region)
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, region.plant)
        open_trip(page, trip)
        taps = Taps(page)
        inputs = page.locator("#receive-all input.bulk-weight")
        assert inputs.count() == len(bags)
        for i in range(len(bags)):
            code = inputs.nth(i).get_attribute("data-code")
            weight = {b["short_code"]: w for b, w in zip(bags, WEIGHTS, strict=True)}[code]
            # Each weight typed and Enter: the next box, and after the last, the receipt.
            taps.type_and_enter(f"#receive-all input[data-code='{code}']", f"{weight:.2f}")
        page.wait_for_selector("#dispose-all", timeout=30000)
        per_bag = taps.count / len(bags)
        assert per_bag == 1
        assert page.locator("[data-testid=trip-count]").inner_text() == str(len(bags))
        taps.tap("#dispose-all button[type=submit]")
        page.wait_for_selector("#dispose-all", state="detached", timeout=30000)
        page.wait_for_selector("#queue-badge[data-count='0']")
        assert page.locator("#refusal-banner").is_hidden()
    finally:
        context.close()
    for bag, weight in zip(bags, WEIGHTS, strict=True):
        chain = events(live_server, region.plant, bag)
        assert [e["action"] for e in chain] == [
            "register",
            "collect",
            "pickup",
            "receive",
            "dispose",
        ]
        assert chain[3]["weight_kg"] == weight and chain[3]["manifest_id"] == trip["id"]
        assert chain[4]["method"] == "incineration"


def test_a_single_scan_preselects_the_action_and_asks_a_weight_only_if_required(
    browser: Any, live_server: LiveServer
) -> None:
    region = make_region(live_server)
    with live_server.client(region.hospital, PASSWORD) as api:
        fresh = api.post(
            "/api/v1/containers",
            json={"count": 1, "category": "sharps", "site_id": region.site_id},
        ).json()["containers"][0]
    bags = collected_bags(live_server, region)
    trip = new_trip(live_server, region)
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        # A hospital collecting: the only action is chosen, the weight box has the keyboard.
        sign_in(page, region.hospital)
        page.goto("/app/#scan")
        page.click("#manual summary")
        taps = Taps(page)
        taps.type_and_enter("#manual-code", fresh["short_code"])
        page.wait_for_selector("#action-form:not([hidden])")
        assert page.locator("#af-title").inner_text() == "Collect"
        assert page.evaluate("document.activeElement.id") == "af-weight"
        taps.type_and_enter("#af-weight", "1.5")
        page.wait_for_selector("#scan-outcome[data-status=created]")
        assert taps.count == 2  # the code (or the read) and the weight
        page.goto("/app/#home")
        page.click("#signout")

        # A driver with a trip: pickup is chosen and no weight is asked (it is optional).
        sign_in(page, region.driver)
        open_trip(page, trip)
        page.goto("/app/#scan")
        page.click("#manual summary")
        page.fill("#manual-code", bags[0]["short_code"])
        page.press("#manual-code", "Enter")
        page.wait_for_selector("#action-form:not([hidden])")
        assert page.locator("#af-title").inner_text() == "Pick up"
        assert page.locator("#af-weight-row").is_hidden()
        assert page.locator("#af-weight-add").is_visible()
        assert page.evaluate("document.activeElement.id") == "af-submit"
        assert (
            page.locator("#af-manifest-select option:checked")
            .inner_text()
            .startswith(trip["number"])
        )
        page.click("#af-submit")
        page.wait_for_selector("#scan-outcome[data-status=created]")
    finally:
        context.close()
    collect = events(live_server, region.hospital, fresh)[-1]
    assert (collect["action"], collect["weight_kg"]) == ("collect", 1.5)
    pickup = events(live_server, region.driver, bags[0])[-1]
    assert (pickup["action"], pickup["manifest_id"], pickup["weight_kg"]) == (
        "pickup",
        trip["id"],
        None,
    )
