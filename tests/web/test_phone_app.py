"""The phone app in a real Chromium: a camera scan through the npm QR decoder, and scans made
offline that sync exactly once when the network returns."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from service.auth.roles import Role
from service.db import session_scope
from service.labels.render import label_png
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_site, make_user
from tests.web.conftest import LiveServer, launch, save_screenshot

GEO = {"latitude": 40.8186, "longitude": 111.6708}


@dataclass
class Hospital:
    username: str
    site_id: str


def make_hospital(live: LiveServer) -> Hospital:
    with session_scope(live.engine, write=True) as session:
        org = make_org(session, OrgKind.hospital)
        site = make_site(session, org, **GEO)
        user = make_user(session, Role.hospital_staff, org)
        return Hospital(user.username, str(site.id))


def register(live: LiveServer, hospital: Hospital, count: int) -> list[dict[str, Any]]:
    with live.client(hospital.username, PASSWORD) as api:
        response = api.post(
            "/api/v1/containers",
            json={"count": count, "category": "infectious", "site_id": hospital.site_id},
        )
        assert response.status_code == 201, response.text
        containers: list[dict[str, Any]] = response.json()["containers"]
        return containers


def events_of(live: LiveServer, hospital: Hospital, container_id: str) -> list[dict[str, Any]]:
    with live.client(hospital.username, PASSWORD) as api:
        response = api.get(f"/api/v1/containers/{container_id}/events")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["verified"] is True
        events: list[dict[str, Any]] = body["events"]
        return events


def write_y4m(label: bytes, path: Path, *, frames: int = 10) -> Path:
    """A fake camera feed: the label centred on a white 640x480 frame, as YUV 4:2:0."""
    width, height = 640, 480
    frame = Image.new("RGB", (width, height), "white")
    qr = Image.open(io.BytesIO(label)).convert("RGB")
    side = min(360, qr.width)
    qr = qr.resize((side, side), Image.Resampling.NEAREST)
    frame.paste(qr, ((width - side) // 2, (height - side) // 2))
    y, u, v = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + u.resize(half).tobytes() + v.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)
    return path


def new_phone(browser: Any, live: LiveServer) -> Any:
    context = browser.new_context(
        base_url=live.url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        permissions=["camera", "geolocation"],
        geolocation=GEO,
    )
    context.set_default_timeout(15000)
    return context


def sign_in(page: Any, username: str) -> None:
    page.goto("/app/")
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#login-form input[name=username]", username)
    page.fill("#login-form input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#view-home:not([hidden])")


def record(page: Any, action: str, weight: str) -> None:
    page.click(f"#r-actions button[data-action={action}]")
    weight_box = page.locator("#af-weight")
    assert weight_box.get_attribute("inputmode") == "decimal"
    weight_box.fill(weight)
    page.click("#af-submit")


def test_camera_scan_records_a_collection_on_the_chain(
    playwright: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    hospital = make_hospital(live_server)
    (container,) = register(live_server, hospital, 1)
    feed = write_y4m(label_png(container["qr_payload"]), tmp_path / "label.y4m")
    browser = launch(
        playwright,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={feed}",
    )
    try:
        context = new_phone(browser, live_server)
        # The phone's fix is good to 15 m: the scan says so, and the server counts it.
        context.set_geolocation({**GEO, "accuracy": 15})
        page = context.new_page()
        sign_in(page, hospital.username)
        page.goto("/app/#scan")
        page.click("#camera-start")
        page.wait_for_selector("#resolved:not([hidden])", timeout=30000)
        # Linux Chromium has no BarcodeDetector: the label was read by jsQR from npm.
        assert page.locator("#camera-box").get_attribute("data-engine") == "jsQR"
        assert page.locator("#r-code").inner_text() == container["short_code"]
        assert page.locator("#r-label").get_attribute("data-verdict") == "valid"
        record(page, "collect", "4.5")
        page.wait_for_selector("#scan-outcome[data-status=created]")
        save_screenshot(page, "phone-scan.png")
        context.close()
    finally:
        browser.close()

    events = events_of(live_server, hospital, container["id"])
    assert [e["action"] for e in events] == ["register", "collect"]
    collect = events[-1]
    assert collect["weight_kg"] == 4.5
    assert (collect["latitude"], collect["longitude"]) == (GEO["latitude"], GEO["longitude"])
    assert collect["accuracy_m"] == 15.0
    assert collect["device_id"].startswith("phone-")


def test_scans_made_offline_queue_and_sync_exactly_once(
    browser: Any, live_server: LiveServer
) -> None:
    hospital = make_hospital(live_server)
    containers = register(live_server, hospital, 3)
    context = new_phone(browser, live_server)
    page = context.new_page()
    sign_in(page, hospital.username)
    # The service worker has taken control, so the shell opens with no network.
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    with httpx.Client(base_url=live_server.url) as http:
        rules = http.get("/api/v1/vocabulary").json()["actions"]
    # A container the phone has never seen, in a state it does not know: all the role may do.
    staff_actions = [r["action"] for r in rules if r["from_states"].get("hospital_staff")]
    assert "collect" in staff_actions and "dispose" not in staff_actions

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#view-home:not([hidden])")
    for container in containers:
        page.goto("/app/#scan")
        if page.locator("#manual").get_attribute("open") is None:
            page.click("#manual summary")
        page.fill("#manual-code", container["qr_payload"])
        page.click("#manual-form button[type=submit]")
        page.wait_for_selector("#resolved:not([hidden])")
        # Offline, the actions offered are the server's state machine, kept since sign-in.
        offered = page.eval_on_selector_all(
            "#r-actions button[data-action]", "bs => bs.map(b => b.dataset.action)"
        )
        assert offered == staff_actions
        record(page, "collect", "2,5")  # a decimal comma, as phones in many locales type it
        page.wait_for_selector("#scan-outcome[data-status=queued]")
    page.wait_for_selector("#queue-badge[data-count='3']")
    assert page.locator("#queue-badge").inner_text() == "3"
    page.goto("/app/#queue")
    assert page.locator("#queue-list li").count() == 3
    save_screenshot(page, "phone-queue-offline.png")
    for container in containers:
        assert [e["action"] for e in events_of(live_server, hospital, container["id"])] == [
            "register"
        ]

    context.set_offline(False)
    page.wait_for_selector("#queue-badge[data-count='0']", timeout=30000)
    page.wait_for_selector("#results-list li[data-status=created] >> nth=2")
    assert page.locator("#results-list li[data-status=created]").count() == 3
    # Syncing again (the button, a second tab, a retry) sends nothing twice.
    page.click("#sync-now")
    page.wait_for_selector("#queue-badge[data-count='0']")
    context.close()

    for container in containers:
        events = events_of(live_server, hospital, container["id"])
        assert [e["action"] for e in events] == ["register", "collect"]
        assert events[-1]["weight_kg"] == 2.5


def test_a_typed_short_code_records_a_scan_when_the_label_cannot_be_read(
    browser: Any, live_server: LiveServer
) -> None:
    hospital = make_hospital(live_server)
    (container,) = register(live_server, hospital, 1)
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, hospital.username)
        page.goto("/app/#scan")
        if page.locator("#manual").get_attribute("open") is None:
            page.click("#manual summary")
        # Typed by hand, in lower case and without the dash, as gloved hands do.
        page.fill("#manual-code", container["short_code"].replace("-", "").lower())
        page.click("#manual-form button[type=submit]")
        page.wait_for_selector("#resolved:not([hidden])")
        assert page.locator("#r-code").inner_text() == container["short_code"]
        record(page, "collect", "3.2")
        page.wait_for_selector("#scan-outcome[data-status=created]")
    finally:
        context.close()
    events = events_of(live_server, hospital, container["id"])
    assert [e["action"] for e in events] == ["register", "collect"]
    assert events[-1]["weight_kg"] == 3.2
