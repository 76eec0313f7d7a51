"""An anomaly queue a regulator can work, in Chinese: pages, grouping, what each anomaly means
and what to do, its handling history, and one note for several anomalies at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from service.anomalies.models import Anomaly
from service.auth.roles import Role
from service.db import session_scope
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_user
from tests.web.conftest import LiveServer


def seed(live: LiveServer) -> tuple[str, list[str]]:
    """A province of its own: 40 late trips at one hospital, 20 overdue stores at another."""
    now = datetime.now(UTC)
    ids: list[str] = []
    with session_scope(live.engine, write=True) as session:
        first = make_org(session, OrgKind.hospital, jurisdiction="CN-44", name="广州市第一人民医院")
        second = make_org(session, OrgKind.hospital, jurisdiction="CN-44", name="深圳市人民医院")
        bureau = make_org(session, OrgKind.regulator, jurisdiction="CN-44")
        regulator = make_user(session, Role.regulator, bureau).username
        for i in range(60):
            late = i < 40
            anomaly = Anomaly(
                kind="transit_overdue" if late else "storage_overdue",
                severity="warning" if late else "critical",
                organization_id=(first if late else second).id,
                jurisdiction="CN-44",
                rule="operator choice",
                threshold="24 h",
                facts={"hours": 30 + i},
                detected_at=now - timedelta(minutes=i),
                dedupe_key=f"web-queue:{uuid.uuid4()}",
            )
            session.add(anomaly)
            session.flush()
            ids.append(str(anomaly.id))
    return regulator, ids


def rows(page: Any) -> Any:
    return page.locator("#anomaly-table tbody tr[data-id]")


def test_a_regulator_pages_groups_reads_and_resolves_several_at_once(
    browser: Any, live_server: LiveServer
) -> None:
    regulator, _ids = seed(live_server)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(20000)
    try:
        page = context.new_page()
        page.goto("/dashboard/")
        page.wait_for_selector("body[data-ready='1']")
        page.fill("#login-form input[name=username]", regulator)
        page.fill("#login-form input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#anomaly-table tbody tr[data-id]")
        # Every status, so that handled anomalies stay in view.
        page.select_option("#filters select[name=status]", "")
        page.click("#filters button[type=submit]")

        # Pages of 50.
        assert rows(page).count() == 50
        assert page.locator("#pager-text").inner_text() == "第 1–50 条，共 60 条"  # noqa: RUF001
        page.click("#pager-next")
        assert rows(page).count() == 10
        page.click("#pager-prev")

        # Grouped by kind: the critical group first, each with its size.
        page.select_option("#filters select[name=group]", "kind")
        groups = page.locator("#anomaly-table tr.group").all_inner_texts()
        assert [g.strip() for g in groups] == ["暂存超时 (20)", "运输超时 (40)"]

        # What it means and what to do, in Chinese; not handled yet.
        first = rows(page).first
        first.locator("button.more").click()
        detail = page.locator("#anomaly-table tr.detail")
        detail.locator("[data-testid=history] li").first.wait_for()
        detail.filter(has_not_text="加载中").wait_for()
        text = detail.inner_text()
        assert "医疗废物在医院暂存超过规定时限" in text
        assert "处理建议" in text and "尚未处理" in text

        # Acknowledged with a note: the note shows in its history.
        first_id = first.get_attribute("data-id")
        first.locator("button[data-step=acknowledge]").click()
        page.fill("#step-note", "已电话联系医院")
        page.click("#step-ok")
        page.wait_for_selector(f"#anomaly-table tr[data-id='{first_id}'][data-status=acknowledged]")
        page.locator(
            "#anomaly-table tr.detail [data-testid=history]", has_text="已电话联系医院"
        ).wait_for()
        assert "待处理 → 已确认" in page.locator("#anomaly-table tr.detail").inner_text()

        # Three others resolved at once with one note.
        chosen = [rows(page).nth(i).get_attribute("data-id") for i in (1, 2, 3)]
        for anomaly_id in chosen:
            page.check(f"#anomaly-table tr[data-id='{anomaly_id}'] input.pick")
        assert page.locator("#bulk-count").inner_text() == "已选 3 条"
        page.click("#bulk button[data-step=resolve]")
        page.fill("#step-note", "已收运，现场核实")
        page.click("#step-ok")
        for anomaly_id in chosen:
            page.wait_for_selector(
                f"#anomaly-table tr[data-id='{anomaly_id}'][data-status=resolved]"
            )
        assert page.locator("#bulk").is_hidden()
    finally:
        context.close()
    with live_server.client(regulator, PASSWORD) as api:
        for anomaly_id in chosen:
            body = api.get(f"/api/v1/anomalies/{anomaly_id}").json()
            assert body["status"] == "resolved"
            assert body["steps"][-1]["note"] == "已收运，现场核实"
        body = api.get(f"/api/v1/anomalies/{first_id}").json()
        assert (body["status"], body["steps"][-1]["note"]) == ("acknowledged", "已电话联系医院")
