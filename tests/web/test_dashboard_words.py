"""The dashboard names bags by short code and trips by manifest number, and finds a bag by a
short code typed loosely."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from service.anomalies.models import Anomaly
from service.anomalies.profile import SHIPPED
from service.anomalies.sweep import run_sweep
from service.auth.roles import Role
from service.db import session_scope
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_user
from tests.web.conftest import LiveServer
from tests.web.test_phone_words import late_trip
from tests.web.test_taps import collected_bags, make_region, new_trip


def sign_in(page: Any, regulator: str) -> None:
    page.goto("/dashboard/")
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#login-form input[name=username]", regulator)
    page.fill("#login-form input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")


def test_anomaly_subjects_are_short_codes_and_manifest_numbers(
    browser: Any, live_server: LiveServer
) -> None:
    region = make_region(live_server)
    (bag, *_) = collected_bags(live_server, region)
    trip = new_trip(live_server, region)
    with session_scope(live_server.engine, write=True) as session:
        bureau = make_org(session, OrgKind.regulator)
        regulator = make_user(session, Role.regulator, bureau).username
        for subject in ({"container_id": bag["id"]}, {"manifest_id": uuid.UUID(trip["id"])}):
            session.add(
                Anomaly(
                    kind="transit_overdue",
                    severity="critical",
                    organization_id=uuid.UUID(region.hospital_id),
                    jurisdiction="CN-15",
                    rule="test",
                    threshold="24 h",
                    facts={},
                    dedupe_key=f"web-words:{uuid.uuid4()}",
                    **subject,
                )
            )
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, locale="en-GB"
    )
    try:
        page = context.new_page()
        sign_in(page, regulator)
        page.wait_for_selector("#anomaly-table [data-testid=subject] >> nth=1")
        subjects = page.locator("#anomaly-table [data-testid=subject]").all_inner_texts()
        assert bag["short_code"] in subjects
        assert f"Manifest {trip['number']}" in subjects
        table = page.locator("#anomaly-table").inner_text()
        assert bag["id"][:12] not in table and trip["id"][:8] not in table

        # A code typed in lower case with a space finds the bag's chain.
        page.goto("/dashboard/#chain")
        page.fill("#chain-form input[name=id]", bag["short_code"].replace("-", " ").lower())
        page.click("#chain-form button[type=submit]")
        page.wait_for_selector("[data-testid=verified]")
        assert page.locator("#chain h1").inner_text() == bag["short_code"]
    finally:
        context.close()


def test_a_late_trip_is_one_row_naming_the_manifest_and_its_bags(
    browser: Any, live_server: LiveServer
) -> None:
    _region, bags, trip = late_trip(live_server)
    with session_scope(live_server.engine, write=True) as session:
        run_sweep(session=session, now=datetime.now(UTC), profiles=SHIPPED)
        bureau = make_org(session, OrgKind.regulator)
        regulator = make_user(session, Role.regulator, bureau).username
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, locale="en-GB"
    )
    try:
        page = context.new_page()
        sign_in(page, regulator)
        page.wait_for_selector("#anomaly-table tbody tr[data-id]")
        late = (
            page.locator("#anomaly-table tbody tr[data-id]")
            .filter(has_text="Transit overdue")
            .filter(has_text=f"Manifest {trip['number']}")
        )
        assert late.count() == 1  # one row for the truck, none per bag
        facts = late.locator("td.facts").inner_text()
        assert facts.startswith("(> 24 h) bags: ")
        listed = facts.removeprefix("(> 24 h) bags: ").split(";")[0].split(", ")
        assert sorted(listed) == sorted(bag["short_code"] for bag in bags)
        assert "overdue_hours: 3" in facts
        table = page.locator("#anomaly-table").inner_text()
        for bag in bags:
            assert f"Transit overdue\n{bag['short_code']}" not in table
            assert bag["id"][:12] not in table
    finally:
        context.close()
