"""Registering a batch on the phone opens its label sheet at once, a second tap does not make
a second batch, and batches whose labels are not all used can be found and printed again."""

from __future__ import annotations

import re
from typing import Any

from tests.factories import PASSWORD
from tests.web.conftest import LiveServer
from tests.web.test_phone_app import new_phone, sign_in
from tests.web.test_taps import make_region


def _containers(live: LiveServer, username: str, org_id: str) -> list[dict[str, Any]]:
    with live.client(username, PASSWORD) as api:
        body = api.get(f"/api/v1/containers?organization_id={org_id}&limit=500").json()
        items: list[dict[str, Any]] = body["items"]
        return items


def _is_pdf(page: Any) -> bool:
    """The tab shows the sheet the service made (a blob: URL holding the PDF it sent)."""
    page.wait_for_url(re.compile(r"^blob:"), wait_until="commit")
    return str(page.url).startswith("blob:")


def test_register_opens_the_sheet_once_and_unused_batches_can_be_printed_again(
    browser: Any, live_server: LiveServer
) -> None:
    region = make_region(live_server)
    context = new_phone(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, region.hospital)
        page.goto("/app/#batch")
        page.wait_for_selector("#batch-form select[name=site_id] option", state="attached")
        page.fill("#batch-form input[name=count]", "3")
        page.fill("#batch-form input[name=department]", "ICU")
        with context.expect_page() as sheet:
            # An impatient double tap.
            page.dblclick("#batch-form button[type=submit]")
        assert _is_pdf(sheet.value)
        page.wait_for_selector("#batch-result:not([hidden])")
        page.wait_for_timeout(500)
        made = _containers(live_server, region.hospital, region.hospital_id)
        assert len(made) == 3 and len({c["batch_id"] for c in made}) == 1
        # Tapping again does nothing until the user asks for another batch.
        assert page.locator("#batch-form button[type=submit]").is_disabled()

        batch = made[0]["batch_id"]
        row = page.locator(f"#batch-unused li[data-batch='{batch}']")
        row.wait_for()
        assert row.inner_text().startswith("3 Infectious ICU")
        assert "printed on this phone" in row.inner_text()
        # The printer here takes a thermal roll: one 60 x 40 mm label per page.
        sheets: list[str] = []
        page.on("request", lambda r: sheets.append(r.url) if "sheet.pdf" in r.url else None)
        page.select_option("#batch-form select[name=stock]", "60x40")
        with context.expect_page() as again:
            row.locator("button.print").click()
        assert _is_pdf(again.value)
        assert sheets and sheets[-1].endswith(f"batch_id={batch}&stock=60x40"), sheets

        page.click("#batch-another")
        assert page.locator("#batch-form button[type=submit]").is_enabled()
        # The phone keeps its printer's stock.
        page.reload()
        page.wait_for_selector("#batch-form select[name=site_id] option", state="attached")
        assert page.locator("#batch-form select[name=stock]").input_value() == "60x40"
    finally:
        context.close()
