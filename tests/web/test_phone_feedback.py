"""Nothing silent, nothing false on the phone: what is said to be saved is queued, refused scans
cannot be missed and say why in the user's language, a refused signature shows its reason."""

from __future__ import annotations

from typing import Any

from service.auth.roles import Role
from service.db import session_scope
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_site, make_user
from tests.web.conftest import LiveServer
from tests.web.test_phone_app import (
    GEO,
    events_of,
    make_hospital,
    new_phone,
    register,
    sign_in,
)


def _go_offline(context: Any, page: Any) -> None:
    # The service worker has taken control, so the shell opens with no network.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready='1']")


def _type_code(page: Any, text: str) -> None:
    page.goto("/app/#scan")
    if page.locator("#manual").get_attribute("open") is None:
        page.click("#manual summary")
    page.fill("#manual-code", text)
    page.click("#manual-form button[type=submit]")


def _record(page: Any, action: str, weight: str | None = None) -> None:
    page.click(f"#r-actions button[data-action={action}]")
    if weight is not None:
        page.fill("#af-weight", weight)
    page.click("#af-submit")


def test_offline_a_typed_code_never_seen_on_the_phone_is_queued_and_sent_later(
    browser: Any, live_server: LiveServer
) -> None:
    hospital = make_hospital(live_server)
    (container,) = register(live_server, hospital, 1)
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, hospital.username)
        _go_offline(context, page)
        _type_code(page, container["short_code"])
        page.wait_for_selector("#resolved:not([hidden])")
        assert page.locator("#r-code").inner_text() == container["short_code"]
        assert "looked up when online" in page.locator("#r-what").inner_text()
        assert page.locator("#scan-error").inner_text() == ""
        _record(page, "collect", "4.2")
        outcome = page.locator("#scan-outcome[data-status=queued]")
        outcome.wait_for()
        assert "saved by its typed code" in outcome.inner_text().lower()
        page.wait_for_selector("#queue-badge[data-count='1']")
        page.goto("/app/#queue")
        assert container["short_code"] in page.locator("#queue-list").inner_text()
        assert [e["action"] for e in events_of(live_server, hospital, container["id"])] == [
            "register"
        ]

        context.set_offline(False)
        page.wait_for_selector("#queue-badge[data-count='0']", timeout=30000)
        page.wait_for_selector("#results-list li[data-status=created]")
        assert page.locator("#refusal-banner").is_hidden()
    finally:
        context.close()
    events = events_of(live_server, hospital, container["id"])
    assert [e["action"] for e in events] == ["register", "collect"]
    assert events[-1]["weight_kg"] == 4.2


def test_offline_an_unknown_code_is_refused_after_the_sync_not_lost(
    browser: Any, live_server: LiveServer
) -> None:
    hospital = make_hospital(live_server)
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, hospital.username)
        _go_offline(context, page)
        _type_code(page, "ZZZZ-2345")
        page.wait_for_selector("#resolved:not([hidden])")
        _record(page, "collect", "1.0")
        page.wait_for_selector("#queue-badge[data-count='1']")
        context.set_offline(False)
        page.wait_for_selector("#queue-badge[data-count='0']", timeout=30000)
        banner = page.locator("#refusal-banner")
        banner.wait_for()
        assert banner.get_attribute("data-count") == "1"
        page.goto("/app/#queue")
        refusal = page.locator("#refusals-list li").first
        assert "ZZZZ-2345" in refusal.inner_text()
        assert "No container of yours has this label or code" in refusal.inner_text()
    finally:
        context.close()


def test_refused_scans_after_a_sync_cannot_be_missed_and_say_why_in_chinese(
    browser: Any, live_server: LiveServer
) -> None:
    hospital = make_hospital(live_server)
    (container,) = register(live_server, hospital, 1)
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        permissions=["geolocation"],
        geolocation=GEO,
    )
    context.set_default_timeout(15000)
    try:
        page = context.new_page()
        sign_in(page, hospital.username)
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        _go_offline(context, page)
        # The same bag collected twice while offline: the second collection will be refused.
        for weight in ("2.5", "2.6"):
            _type_code(page, container["qr_payload"])
            page.wait_for_selector("#resolved:not([hidden])")
            _record(page, "collect", weight)
            outcome = page.locator("#scan-outcome[data-status=queued]")
            outcome.wait_for()
            # Offline: saved and waiting, not "sending".
            assert "已保存在本机，联网后自动发送" in outcome.inner_text()
            assert "正在发送" not in outcome.inner_text()
        page.wait_for_selector("#queue-badge[data-count='2']")
        assert page.locator("#refusal-banner").is_hidden()

        context.set_offline(False)
        page.wait_for_selector("#queue-badge[data-count='0']", timeout=30000)
        banner = page.locator("#refusal-banner")
        banner.wait_for()
        assert banner.get_attribute("data-count") == "1"
        assert "1 次扫描被拒绝" in banner.inner_text()
        assert "refused" in (page.locator("#queue-badge").get_attribute("class") or "")
        # On every view until read.
        page.goto("/app/#home")
        assert page.locator("#refusal-banner").is_visible()

        page.click("#refusal-banner")
        page.wait_for_selector("#view-queue:not([hidden])")
        refusal = page.locator("#refusals-list li[data-status=rejected]")
        refusal.wait_for()
        text = refusal.inner_text()
        assert container["short_code"] in text
        assert "该容器当前为“已收集”，不能执行“收集”" in text
        assert "扫描于" in text  # when it was scanned
        assert "transition" not in text and "cannot" not in text  # no English from the server
        page.click("#refusals-read")
        page.wait_for_selector("#refusals", state="hidden")
        assert page.locator("#refusal-banner").is_hidden()
        assert "refused" not in (page.locator("#queue-badge").get_attribute("class") or "")
        # The refusal stays in the results, read.
        assert page.locator("#results-list li[data-status=rejected]").count() == 1
    finally:
        context.close()
    events = events_of(live_server, hospital, container["id"])
    assert [(e["action"], e["weight_kg"]) for e in events] == [("register", None), ("collect", 2.5)]


def test_a_refused_signature_shows_its_reason(browser: Any, live_server: LiveServer) -> None:
    with session_scope(live_server.engine, write=True) as session:
        hospital = make_org(session, OrgKind.hospital)
        make_site(session, hospital, **GEO)
        fleet = make_org(session, OrgKind.transporter)
        plant = make_org(session, OrgKind.disposal)
        driver = make_user(session, Role.driver, fleet).username
        hospital_id, plant_id = str(hospital.id), str(plant.id)
    with live_server.client(driver, PASSWORD) as api:
        trip = api.post(
            "/api/v1/manifests",
            json={
                "origin_organization_id": hospital_id,
                "destination_organization_id": plant_id,
                "vehicle_plate": "蒙A·12345",
            },
        ).json()
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, driver)
        page.goto("/app/#trip")
        page.click("#trip-open summary")
        page.click(f"#trip-list button[data-id='{trip['id']}']")
        # Nothing picked up yet: the transporter cannot sign, and the phone says why.
        page.click("#trip-current button.sign[data-party=transporter]")
        page.fill("#sign-name", "张伟")
        page.click("#sign-dialog button[value=ok]")
        error = page.locator("#trip-error")
        page.wait_for_selector("#trip-error:not(:empty)")
        page.wait_for_timeout(500)  # the trip is shown again meanwhile; the reason must stay
        assert "Not possible at this stage of the trip" in error.inner_text()
        assert page.locator("#trip-current").inner_text().count("✔") == 0
    finally:
        context.close()
