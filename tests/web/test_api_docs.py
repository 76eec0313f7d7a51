"""The API documentation opens on a network that reaches only this server: Swagger UI's files
are served by the service itself, never fetched from a CDN."""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.conftest import LiveServer


def test_docs_render_with_no_network_beyond_the_server(
    browser: Any, live_server: LiveServer
) -> None:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(20000)
    elsewhere: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    try:
        page = context.new_page()
        page.goto("/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "Medical waste chain of custody" in page.inner_text(".swagger-ui .info .title")
        page.wait_for_selector(".opblock")
        assert page.locator(".opblock").count() >= 40  # every operation listed
        assert page.locator(".opblock-summary-path", has_text="/api/v1/scans").count() >= 1
        # An answer's example as the server writes it: its fields in order, its nulls kept.
        read = page.locator(
            "#operations-custody-get_container_api_v1_containers__container_id__get"
        )
        read.locator(".opblock-summary").click()
        answer = read.locator(".responses-wrapper .response").first.inner_text()
        assert '"short_code": "K7QF-2M4D"' in answer
        assert '"current_manifest_id": null' in answer
        assert answer.index('"id"') < answer.index('"category"') < answer.index('"batch_id"')
        assert elsewhere == []
    finally:
        context.close()


def test_the_docs_page_names_only_files_of_this_server(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        page = http.get("/docs").text
        assert "cdn" not in page.lower() and "https://" not in page
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "start.js"):
            response = http.get(f"/docs/assets/{asset}")
            assert response.status_code == 200, asset
            assert len(response.content) > 100
        refused = http.get("/docs/assets/package.json")
        assert refused.status_code == 404
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert http.get("/docs/assets/..%2F..%2Fpackage.json").status_code == 404
        assert http.get("/redoc").status_code == 404
