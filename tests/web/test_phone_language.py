"""Server messages reach a Chinese phone in Chinese: field errors and refusals are translated
on the phone from the problem's stable code (never the server's English detail)."""

from __future__ import annotations

from typing import Any

from tests.factories import PASSWORD
from tests.web.conftest import LiveServer
from tests.web.test_phone_app import GEO, sign_in
from tests.web.test_taps import Region, make_region, new_trip, open_trip


def chinese_phone(browser: Any, live: LiveServer) -> Any:
    context = browser.new_context(
        base_url=live.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        permissions=["geolocation"],
        geolocation=GEO,
    )
    context.set_default_timeout(15000)
    return context


def new_trip_form(context: Any, region: Region) -> Any:
    """The driver's phone, signed in, on the new-trip form from the hospital to the plant."""
    page = context.new_page()
    sign_in(page, region.driver)
    page.goto("/app/#trip")
    page.click("#trip-new summary")
    page.select_option("#trip-new-form select[name=origin]", region.hospital_id)
    page.select_option("#trip-new-form select[name=destination]", region.plant_id)
    return page


def test_a_field_error_reaches_a_chinese_phone_in_chinese(
    browser: Any, live_server: LiveServer
) -> None:
    region = make_region(live_server)
    context = chinese_phone(browser, live_server)
    try:
        page = new_trip_form(context, region)
        page.fill("#trip-new-form input[name=plate]", "蒙A·" + "8" * 25)  # at most 20
        page.click("#trip-new-form button[type=submit]")
        page.wait_for_selector("#trip-error:not(:empty)")
        message = page.locator("#trip-error").inner_text()
        assert message == "部分内容填写无效：车牌号过长"
    finally:
        context.close()


def test_a_refusal_reaches_a_chinese_phone_in_chinese(
    browser: Any, live_server: LiveServer
) -> None:
    region = make_region(live_server)
    trip = new_trip(live_server, region)
    context = chinese_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, region.driver)
        open_trip(page, trip)
        # Nothing picked up yet: the server refuses the signature (409 manifest-state).
        page.click("#trip-current button.sign[data-party=transporter]")
        page.fill("#sign-name", "张伟")
        page.click("#sign-dialog button[value=ok]")
        page.wait_for_selector("#trip-error:not(:empty)")
        message = page.locator("#trip-error").inner_text()
        assert message == "联单当前状态下不能执行此操作（例如：须先扫描容器再签字）"
    finally:
        context.close()


def test_a_driver_records_the_trips_papers_once_and_the_phone_offers_them_again(
    browser: Any, live_server: LiveServer
) -> None:
    region = make_region(live_server)
    context = chinese_phone(browser, live_server)
    try:
        page = new_trip_form(context, region)
        assert page.locator("label:has(input[name=licence]) span").inner_text() == (
            "驾驶证号 (选填)"
        )
        form = "#trip-new-form"
        page.fill(f"{form} input[name=plate]", "蒙A·D1234")
        page.fill(f"{form} input[name=licence]", "150102198001011234")
        page.fill(f"{form} input[name=permit]", "蒙交运管许可呼字150100001234号")
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("#trip-current:not([hidden])")
        with live_server.client(region.driver, PASSWORD) as api:
            [trip] = api.get("/api/v1/manifests").json()["items"]
        assert (trip["driver_licence_number"], trip["transport_permit_number"]) == (
            "150102198001011234",
            "蒙交运管许可呼字150100001234号",
        )
        # The next trip starts with the same vehicle and papers filled in.
        page.reload()
        page.click("#trip-new summary")
        assert page.input_value(f"{form} input[name=plate]") == "蒙A·D1234"
        assert page.input_value(f"{form} input[name=licence]") == "150102198001011234"
        # Too long a licence number is refused in Chinese, naming the field.
        page.fill(f"{form} input[name=licence]", "")
        page.evaluate(
            "document.querySelector('#trip-new-form input[name=licence]').removeAttribute('maxlength')"
        )
        page.fill(f"{form} input[name=licence]", "1" * 40)
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("#trip-error:not(:empty)")
        assert "驾驶证号" in page.locator("#trip-error").inner_text()
    finally:
        context.close()
