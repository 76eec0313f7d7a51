"""A printed transfer manifest checked on a phone by someone without an account (a traffic
police officer at a roadside stop, say): the QR code on the paper opens a page that says, in
Chinese and English, whether the paper is true to the record."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.factories import PASSWORD
from tests.manifests.helpers import qr_codes
from tests.web.conftest import LiveServer, save_screenshot
from tests.web.test_phone_language import chinese_phone
from tests.web.test_taps import make_region, trip_on_the_road


def _printed_check_path(live: LiveServer, driver: str, manifest_id: str) -> str:
    """The path and query the paper's QR code holds."""
    with live.client(driver, PASSWORD) as api:
        response = api.get(f"/api/v1/manifests/{manifest_id}.pdf")
        assert response.status_code == 200, response.text
    [url] = qr_codes(response.content)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_a_paper_manifest_checked_on_a_phone_without_signing_in(
    browser: Any, live_server: LiveServer
) -> None:
    region = make_region(live_server)
    trip, bags = trip_on_the_road(live_server, region)
    path = _printed_check_path(live_server, region.driver, trip["id"])

    context = chinese_phone(browser, live_server)
    try:
        page = context.new_page()
        page.goto(path)
        verdict = page.locator("#verdict")
        assert verdict.get_attribute("data-verdict") == "matches"
        assert "与记录一致" in verdict.inner_text()
        body = page.locator("body").inner_text()
        assert trip["number"] in body and f"{len(bags)}" in body
        assert "运输中 in transit" in body
        save_screenshot(page, "manifest-check.png", full_page=True)

        # The same paper with one digit of its digest changed.
        digest = path.split("sha256=")[1][:64]
        altered = path.replace(digest, digest[:-1] + ("0" if digest[-1] != "0" else "1"))
        page.goto(altered)
        assert verdict.get_attribute("data-verdict") == "differs"
        assert "与记录不符" in verdict.inner_text()
        colour = verdict.evaluate("e => getComputedStyle(e).borderColor")
        assert colour == "rgb(198, 40, 40)"
    finally:
        context.close()
