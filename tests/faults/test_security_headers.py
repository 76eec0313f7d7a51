"""Security headers: every answer says nosniff and no-referrer; the web pages carry a
Content-Security-Policy with no inline script, and cannot be framed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.http.security_headers import CONTENT_SECURITY_POLICY


def _directives(policy: str) -> dict[str, str]:
    return {d.split()[0]: d.split(" ", 1)[1] for d in (p.strip() for p in policy.split(";")) if d}


def test_web_pages_carry_a_strict_policy(client: TestClient) -> None:
    for path in ("/app/", "/dashboard/", "/app/app.js", "/dashboard/shared/api.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = _directives(response.headers["content-security-policy"])
        assert policy["script-src"] == "'self'", path
        assert "unsafe-inline" not in response.headers["content-security-policy"]
        assert "unsafe-eval" not in response.headers["content-security-policy"]
        assert policy["frame-ancestors"] == "'none'"
        assert policy["object-src"] == "'none'"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_every_answer_says_nosniff_and_no_referrer(client: TestClient) -> None:
    for method, path in (
        ("GET", "/health"),
        ("GET", "/api/v1/me"),  # 401
        ("GET", "/nowhere"),  # 404
        ("POST", "/api/v1/auth/token"),  # 422
    ):
        response = client.request(method, path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer", path
    # The API docs keep Swagger UI's inline styles: no page policy there.
    assert "content-security-policy" not in client.get("/docs").headers


def test_the_pages_use_no_inline_script_or_style() -> None:
    """What the policy forbids is absent from the pages themselves."""
    from pathlib import Path

    web = Path(__file__).resolve().parents[2] / "web"
    for page in (web / "app" / "index.html", web / "dashboard" / "index.html"):
        html = page.read_text()
        assert "<script>" not in html and "<style" not in html, page
        assert " style=" not in html and " onclick=" not in html, page
    assert _directives(CONTENT_SECURITY_POLICY)["style-src"] == "'self'"
