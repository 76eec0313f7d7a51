"""How long a regulator waits for the dashboard's region view, and how many requests it makes.

    .venv/bin/python bench/dashboard.py --database-url sqlite:////tmp/province.db \\
        --username province-regulator-1a2b3c --password 'province-Passw0rd-long'

Serves the database (one built by ``bench/province.py --keep``, say) with the real app under
uvicorn, signs in to the dashboard in headless Chromium (Debian's, as the browser tests), then
opens the region view afresh ``--runs`` times and prints, for each, the seconds from navigation
until the view is drawn (the map, the charts and the organization table) and the requests the
page made to the API. Targets: < 2 s and <= 10 requests.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_server

CHROMIUM = "/usr/bin/chromium"
TARGET_SECONDS = 2.0
TARGET_REQUESTS = 10
# The region view is drawn when each of these is on the page.
DRAWN = ("#map svg", "#chart-weights svg", "#chart-dwell svg, #chart-dwell .empty",
         "#org-table tbody tr")  # fmt: skip


def time_region_view(base: str, username: str, password: str, runs: int) -> list[tuple[float, int]]:
    """(seconds until drawn, API requests made) for each fresh opening of the region view."""
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
        context.set_default_timeout(600_000)
        page = context.new_page()
        page.goto("/dashboard/")
        page.wait_for_selector("body[data-ready='1']")
        page.fill("#login-form input[name=username]", username)
        page.fill("#login-form input[name=password]", password)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#view-anomalies:not([hidden])")
        for _ in range(runs):
            requests: list[str] = []

            def count(request: Any, seen: list[str] = requests) -> None:
                if "/api/" in request.url:
                    seen.append(request.url)

            page.goto("about:blank")  # a fresh page: nothing an earlier view loaded is reused
            page.on("request", count)
            started = time.perf_counter()
            page.goto("/dashboard/#region")
            for selector in DRAWN:
                page.wait_for_selector(selector)
            results.append((time.perf_counter() - started, len(requests)))
            page.remove_listener("request", count)
        browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--username", required=True, help="a regulator of the province")
    parser.add_argument("--password", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with bench_server(args.database_url, Path(tmp), log) as base:
            results = time_region_view(base, args.username, args.password, args.runs)
    print_views(results)
    return 0


def print_views(results: list[tuple[float, int]]) -> None:
    print(f"\nregion view, {len(results)} fresh openings (targets < {TARGET_SECONDS:g} s, "
          f"<= {TARGET_REQUESTS} requests)")  # fmt: skip
    for i, (seconds, requests) in enumerate(results, 1):
        verdict = "met" if seconds < TARGET_SECONDS and requests <= TARGET_REQUESTS else "NOT MET"
        print(f"  opening {i}: {seconds:6.2f} s, {requests:3d} requests  {verdict}")


if __name__ == "__main__":
    raise SystemExit(main())
