"""Charts that stay legible: legends laid out by measured text width (Chinese labels are twice
as wide as Latin ones), organization names whole, and a map usable with 300 sites (labels
never over one another, a site or the legend; every site still on the map)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from service.anomalies.models import Anomaly
from service.auth.roles import Role
from service.db import session_scope
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_site, make_user
from tests.web.conftest import LiveServer, save_screenshot

KINDS = [
    "storage_overdue",
    "collection_interval_exceeded",
    "transit_overdue",
    "disposal_overdue",
    "manifest_unconfirmed",
    "weight_discrepancy",
    "count_discrepancy",
    "geofence_violation",
]

BOXES = """(sel) => [...document.querySelectorAll(sel)].map((e) => {
  const b = e.getBoundingClientRect();
  return {x: b.x, y: b.y, w: b.width, h: b.height, text: e.textContent};
})"""


def seed(live: LiveServer) -> str:
    rng = random.Random(46)
    kinds = [OrgKind.hospital, OrgKind.transporter, OrgKind.storage, OrgKind.disposal]
    now = datetime.now(UTC)
    with session_scope(live.engine, write=True) as session:
        bureau = make_org(session, OrgKind.regulator, jurisdiction="CN-46")
        regulator = make_user(session, Role.regulator, bureau).username
        for i in range(30):
            org = make_org(
                session,
                kinds[i % 4],
                jurisdiction="CN-46",
                name=f"海南省第{i + 1}人民医院 Hainan People's Hospital {i + 1}",
            )
            for j in range(10):
                site = make_site(
                    session,
                    org,
                    latitude=round(rng.uniform(18.2, 20.1), 5),
                    longitude=round(rng.uniform(108.6, 111.0), 5),
                )
                site.name = f"Ward store {j + 1}"
                session.add(site)
            if i < len(KINDS):
                session.add(
                    Anomaly(
                        kind=KINDS[i],
                        # The 6th hospital's is critical: its sites are ringed on the map.
                        severity="critical" if i == 5 else "warning",
                        organization_id=org.id,
                        jurisdiction="CN-46",
                        rule="test",
                        threshold="-",
                        facts={},
                        detected_at=now - timedelta(hours=1),
                        dedupe_key=f"web-charts:{uuid.uuid4()}",
                    )
                )
    return regulator


def _overlap(a: dict[str, float], b: dict[str, float], slack: float = 0.5) -> bool:
    return (
        a["x"] + slack < b["x"] + b["w"]
        and b["x"] + slack < a["x"] + a["w"]
        and a["y"] + slack < b["y"] + b["h"]
        and b["y"] + slack < a["y"] + a["h"]
    )


def test_the_region_stays_legible_with_300_sites_and_chinese_labels(
    browser: Any, live_server: LiveServer
) -> None:
    regulator = seed(live_server)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(60000)
    try:
        page = context.new_page()
        page.goto("/dashboard/")
        page.wait_for_selector("body[data-ready='1']")
        page.fill("#login-form input[name=username]", regulator)
        page.fill("#login-form input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#view-anomalies:not([hidden])")
        page.goto("/dashboard/#region")
        page.wait_for_selector("#map svg")
        page.wait_for_selector("#chart-anomalies svg")

        assert page.locator("#map circle.site").count() == 300
        labels = page.evaluate(BOXES, "#map text.map-label")
        legend = page.evaluate(BOXES, "#map g.map-legend")
        sites = page.evaluate(BOXES, "#map circle.site")
        assert len(labels) >= 15
        for i, a in enumerate(labels):
            assert not any(_overlap(a, b) for b in labels[i + 1 :]), a["text"]
            assert not any(_overlap(a, b) for b in legend), a["text"]
            assert not any(_overlap(a, b, slack=1.5) for b in sites), a["text"]
        # Whole names, or visibly shortened to fit: never cut silently at their first space.
        names = {f"海南省第{i + 1}人民医院 Hainan People's Hospital {i + 1}" for i in range(30)}
        for a in labels:
            text = a["text"]
            whole = text in names
            shortened = text.endswith("…") and any(n.startswith(text[:-1]) for n in names)
            assert whole or shortened, text
            assert text not in {n.split(" ")[0] for n in names}, text

        items = page.evaluate(BOXES, "#chart-anomalies g.legend-item")
        assert len(items) == len(KINDS)
        assert {i["text"] for i in items} >= {"暂存超时", "收运间隔超时", "联单未确认"}
        for i, a in enumerate(items):
            assert not any(_overlap(a, b) for b in items[i + 1 :]), a["text"]
        chart = page.locator("#chart-anomalies svg").bounding_box()
        assert all(i["x"] + i["w"] <= chart["x"] + chart["width"] + 0.5 for i in items)
        # Every site inside the drawing (none cut at its edge).
        drawing = page.locator("#map svg").bounding_box()
        for b in sites:
            assert drawing["x"] <= b["x"] and b["x"] + b["w"] <= drawing["x"] + drawing["width"]
            assert drawing["y"] <= b["y"] and b["y"] + b["h"] <= drawing["y"] + drawing["height"]
        save_screenshot(page, "dashboard-map-300.png", full_page=True)

        # The organization with critical open anomalies is ringed, and offered first.
        critical = "海南省第6人民医院 Hainan People's Hospital 6"
        assert page.locator("#map circle.site.alert").count() == 10
        options = page.locator("#map-org option").all_inner_texts()
        assert options[0] == "全部单位" and options[1].startswith(critical)
        assert len(options) == 31
        # In focus: its ten sites, each named, over the others faded.
        page.select_option("#map-org", index=1)
        assert page.locator("#map circle.site.focus").count() == 10
        assert page.locator("#map circle.site.faded").count() == 290
        named = page.evaluate(BOXES, "#map text.map-label")
        assert sorted(a["text"] for a in named) == sorted(f"Ward store {j}" for j in range(1, 11))
        for i, a in enumerate(named):
            assert not any(_overlap(a, b) for b in named[i + 1 :]), a["text"]
        save_screenshot(page, "dashboard-map-focus.png", full_page=False)
        # A click on another organization's site moves the focus there; again, back to all.
        page.locator("#map circle.site.faded").first.click(force=True)
        chosen = page.input_value("#map-org")
        assert chosen and page.locator(f"#map circle.site.focus[data-org='{chosen}']").count() == 10
        page.locator("#map circle.site.focus").first.click(force=True)
        assert page.input_value("#map-org") == ""
        assert page.locator("#map circle.site.faded").count() == 0
    finally:
        context.close()
