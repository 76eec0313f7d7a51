"""The phone app and the dashboard run whole under their Content-Security-Policy: no
violation is reported while signing in, scanning, working the queue and reading the charts
and a chain, while script injected into the page is refused."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import LiveServer
from tests.web.test_dashboard import seed_region
from tests.web.test_phone_app import make_hospital, new_phone, record, register, sign_in

# Runs before the page's own scripts (Playwright injects it; the page's policy does not apply).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""

INJECT = """() => {
  window.__ran = false;
  const s = document.createElement("script");
  s.textContent = "window.__ran = true";
  document.body.appendChild(s);
  const img = document.createElement("img");
  img.setAttribute("onerror", "window.__ran = true");
  img.src = "data:,";
  document.body.appendChild(img);
  return new Promise((r) => setTimeout(() => r(window.__ran), 300));
}"""


def _watch(context: Any) -> list[str]:
    console: list[str] = []
    context.add_init_script(WATCH)
    context.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return console


def _injection_is_refused(page: Any) -> None:
    assert page.evaluate(INJECT) is False
    refused = page.evaluate("window.__csp")
    assert any(v.startswith("script-src") for v in refused), refused
    page.evaluate("window.__csp = []")


def test_the_phone_app_runs_under_its_policy(browser: Any, live_server: LiveServer) -> None:
    hospital = make_hospital(live_server)
    (container,) = register(live_server, hospital, 1)
    context = new_phone(browser, live_server)
    console = _watch(context)
    try:
        page = context.new_page()
        response = page.goto("/app/")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        sign_in(page, hospital.username)
        page.goto("/app/#scan")
        if page.locator("#manual").get_attribute("open") is None:
            page.click("#manual summary")
        page.fill("#manual-code", container["short_code"])
        page.click("#manual-form button[type=submit]")
        page.wait_for_selector("#resolved:not([hidden])")
        record(page, "collect", "2.5")
        page.wait_for_selector("#scan-outcome[data-status=created]")
        assert page.evaluate("window.__csp") == []
        assert console == []  # Chromium's own report of anything the policy blocked
        _injection_is_refused(page)
        assert console  # ... which does report the injected script
    finally:
        context.close()


def test_the_dashboard_runs_under_its_policy(browser: Any, live_server: LiveServer) -> None:
    username, password, anomaly_id, container_id = seed_region(live_server)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, locale="en-GB"
    )
    context.set_default_timeout(20000)
    console = _watch(context)
    try:
        page = context.new_page()
        response = page.goto("/dashboard/")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_selector("body[data-ready='1']")
        page.fill("#login-form input[name=username]", username)
        page.fill("#login-form input[name=password]", password)
        page.click("#login-form button[type=submit]")
        page.locator(f"#anomaly-table tr[data-id='{anomaly_id}']").wait_for()
        page.goto("/dashboard/#region")
        page.wait_for_selector("#map svg")
        page.wait_for_selector("#chart-weights svg")
        page.goto(f"/dashboard/#chain?id={container_id}")
        page.wait_for_selector("[data-testid=verified]")
        with page.expect_download() as download:
            page.click("#chain-csv")
        assert download.value.suggested_filename.endswith(".csv")
        assert page.evaluate("window.__csp") == []
        assert console == []
        _injection_is_refused(page)
    finally:
        context.close()
