"""Every view of the phone app and of the dashboard opens without a script error, in English
and after switching to Chinese (each view is its own module: a broken import or a view that
throws shows here first)."""

from __future__ import annotations

from typing import Any

from service.auth.roles import Role
from service.db import session_scope
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_site, make_user
from tests.web.conftest import LiveServer

PHONE_VIEWS = ["home", "scan", "queue", "trip", "batch"]
DASHBOARD_VIEWS = ["anomalies", "chain", "region"]


def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on(
        "console", lambda m: m.type == "error" and errors.append(f"console: {m.text} {m.location}")
    )
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
    return errors


def _sign_in(page: Any, path: str, username: str) -> None:
    page.goto(path)
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#login-form input[name=username]", username)
    page.fill("#login-form input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")


def _visit(page: Any, path: str, views: list[str]) -> None:
    for name in views:
        page.goto(f"{path}#{name}")
        page.wait_for_selector(f"#view-{name}:not([hidden])")
        page.wait_for_load_state("networkidle")
        for other in views:
            if other != name:
                assert page.locator(f"#view-{other}").is_hidden(), (name, other)


def test_each_phone_view_opens_in_both_languages(browser: Any, live_server: LiveServer) -> None:
    with session_scope(live_server.engine, write=True) as session:
        org = make_org(session, OrgKind.hospital)
        make_site(session, org, latitude=40.8, longitude=111.7)
        username = make_user(session, Role.hospital_staff, org).username
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    try:
        page = context.new_page()
        errors = _watch(page)
        _sign_in(page, "/app/", username)
        page.wait_for_selector("#view-home:not([hidden])")
        _visit(page, "/app/", PHONE_VIEWS)
        assert page.locator("#tabs a[href='#scan']").inner_text() == "Scan"
        # The batch view lists the organization's sites from the server.
        page.goto("/app/#batch")
        page.wait_for_selector("#batch-form select[name=site_id] option", state="attached")
        assert page.locator("#batch-form select[name=site_id] option").count() == 1
        page.click("#lang")
        assert page.locator("#tabs a[href='#scan']").inner_text() == "扫码"
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        _visit(page, "/app/", PHONE_VIEWS)
        assert page.locator("#batch-form select[name=category] option").first.inner_text() == (
            "感染性"
        )
        page.goto("/app/#home")
        page.click("#signout")
        page.wait_for_selector("#view-login:not([hidden])")
        assert page.locator("#tabs").is_hidden()
        assert errors == []
    finally:
        context.close()


def test_each_dashboard_view_opens_in_both_languages(browser: Any, live_server: LiveServer) -> None:
    with session_scope(live_server.engine, write=True) as session:
        bureau = make_org(session, OrgKind.regulator)
        hospital = make_org(session, OrgKind.hospital)
        make_site(session, hospital, latitude=40.8, longitude=111.7)
        username = make_user(session, Role.regulator, bureau).username
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1366, "height": 900}
    )
    try:
        page = context.new_page()
        errors = _watch(page)
        _sign_in(page, "/dashboard/", username)
        page.wait_for_selector("#view-anomalies:not([hidden])")
        _visit(page, "/dashboard/", DASHBOARD_VIEWS)
        page.wait_for_selector("#map svg")
        assert page.locator("#tabs a[href='#region']").inner_text() == "Region"
        page.click("#lang")
        assert page.locator("#tabs a[href='#region']").inner_text() == "辖区概况"
        assert page.locator("#who").inner_text().endswith("监管人员")
        _visit(page, "/dashboard/", DASHBOARD_VIEWS)
        page.click("#signout")
        page.wait_for_selector("#view-login:not([hidden])")
        assert page.locator("#tabs").is_hidden()
        assert errors == []
    finally:
        context.close()
