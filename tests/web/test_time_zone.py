"""Dates in the jurisdiction's time zone (China: Asia/Shanghai, UTC+8), whatever zone the
browser is set to: a day starts at 00:00 Beijing time in the tables, the charts, the date
filters and the CSV file names, not at UTC midnight (08:00 in China)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from service.anomalies.models import Anomaly
from service.auth.roles import Role
from service.db import session_scope
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_site, make_user
from tests.web.conftest import LiveServer
from tests.web.test_phone_app import sign_in

SHANGHAI = timedelta(hours=8)


def test_the_dashboard_cuts_days_at_midnight_in_china(
    browser: Any, live_server: LiveServer
) -> None:
    now = datetime.now(UTC)
    # 16:30 UTC is 00:30 the next day in China: the day a Chinese regulator lives it.
    detected = now.replace(hour=16, minute=30, second=0, microsecond=0)
    if detected > now - timedelta(minutes=5):
        detected -= timedelta(days=1)
    utc_day = detected.date().isoformat()
    china_day = (detected + SHANGHAI).date().isoformat()
    with session_scope(live_server.engine, write=True) as session:
        # A province of its own, so that no other test's anomalies are counted here.
        hospital = make_org(session, OrgKind.hospital, jurisdiction="CN-37")
        bureau = make_org(session, OrgKind.regulator, jurisdiction="CN-37")
        regulator = make_user(session, Role.regulator, bureau).username
        anomaly = Anomaly(
            kind="clock_skew",
            severity="warning",
            organization_id=hospital.id,
            jurisdiction="CN-37",
            rule="test",
            threshold="10 min",
            facts={},
            detected_at=detected,
            dedupe_key=f"web-tz:{uuid.uuid4()}",
        )
        session.add(anomaly)
        session.flush()
        anomaly_id = str(anomaly.id)
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1366, "height": 900},
        locale="en-GB",
        timezone_id="UTC",
        accept_downloads=True,
    )
    try:
        page = context.new_page()
        page.goto("/dashboard/")
        page.wait_for_selector("body[data-ready='1']")
        page.fill("#login-form input[name=username]", regulator)
        page.fill("#login-form input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        row = page.locator(f"#anomaly-table tr[data-id='{anomaly_id}']")
        row.wait_for()
        assert "00:30" in row.inner_text()

        # The filter's days are China's days.
        for day, shown in ((china_day, 1), (utc_day, 0)):
            page.fill("#filters input[name=from]", day)
            page.fill("#filters input[name=to]", day)
            page.click("#filters button[type=submit]")
            page.wait_for_selector(
                f"#anomaly-table tr[data-id='{anomaly_id}']",
                state="attached" if shown else "detached",
            )

        with page.expect_download() as download:
            page.click("#export-anomalies")
        today_in_china = (datetime.now(UTC) + SHANGHAI).date().isoformat()
        assert download.value.suggested_filename == f"anomalies-{today_in_china}.csv"

        page.goto("/dashboard/#region")
        page.wait_for_selector("#chart-anomalies svg rect title", state="attached")
        titles = page.eval_on_selector_all(
            "#chart-anomalies rect title", "all => all.map((e) => e.textContent)"
        )
        assert titles == [f"{china_day} Clock skew: 1"]
    finally:
        context.close()


def test_the_phone_shows_times_in_china_time(browser: Any, live_server: LiveServer) -> None:
    with session_scope(live_server.engine, write=True) as session:
        hospital = make_org(session, OrgKind.hospital, jurisdiction="CN-15")
        site = make_site(session, hospital, latitude=40.8, longitude=111.7)
        staff = make_user(session, Role.hospital_staff, hospital).username
        site_id = str(site.id)
    with live_server.client(staff, PASSWORD) as api:
        (bag,) = api.post(
            "/api/v1/containers", json={"count": 1, "category": "sharps", "site_id": site_id}
        ).json()["containers"]
    since = datetime.fromisoformat(bag["state_since"]) + SHANGHAI
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        locale="en-GB",
        timezone_id="America/Los_Angeles",
    )
    try:
        page = context.new_page()
        sign_in(page, staff)
        page.goto("/app/#scan")
        page.click("#manual summary")
        page.fill("#manual-code", bag["short_code"])
        page.press("#manual-code", "Enter")
        page.wait_for_selector("#resolved:not([hidden])")
        facts = page.locator("#r-facts").inner_text()
        assert f"{since:%d/%m/%Y}, {since:%H:%M}" in facts
    finally:
        context.close()
