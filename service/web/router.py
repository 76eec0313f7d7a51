"""Serve the web front from the service itself: no second server.

The sources live in the repository's top-level ``web/`` folder as plain ES modules; the only
build step is ``npm ci`` there, which installs the QR decoder (jsQR) used where the browser has
no ``BarcodeDetector``, and Swagger UI for ``/docs``. jsQR's distributed file is served at
``/app/vendor/jsQR.js``.

The app shell must never be served stale by an HTTP cache (the service worker does the offline
caching), so every response here says ``Cache-Control: no-cache``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from service.web.docs import install_docs

# The repository's web/ folder; an installed image points MEDWASTE_WEB_DIR elsewhere.
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[2] / "web"
JSQR_DIST = Path("node_modules") / "jsqr" / "dist" / "jsQR.js"


class _Assets(StaticFiles):
    """Static files that the browser revalidates every time (the service worker caches)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        if path.endswith("sw.js"):
            response.headers["Service-Worker-Allowed"] = "/app/"
        return response


def install_web(app: FastAPI, web_dir: Path | None = None) -> None:
    """Mount ``/app/`` and ``/dashboard/`` (and their shared modules) on ``app``, and the API
    documentation at ``/docs``."""
    web_dir = web_dir or DEFAULT_WEB_DIR
    install_docs(app, web_dir)

    @app.get("/app", include_in_schema=False)
    def app_root() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=308)

    @app.get("/dashboard", include_in_schema=False)
    def dashboard_root() -> RedirectResponse:
        return RedirectResponse("/dashboard/", status_code=308)

    @app.get("/app/vendor/jsQR.js", include_in_schema=False)
    def jsqr() -> Response:
        path = web_dir / JSQR_DIST
        if not path.is_file():
            return Response(
                "// jsQR is not installed: run `make web` (npm ci in web/)\n",
                status_code=404,
                media_type="text/javascript",
            )
        return FileResponse(
            path, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
        )

    for prefix in ("/app", "/dashboard"):
        app.mount(
            f"{prefix}/shared",
            _Assets(directory=web_dir / "shared", check_dir=False),
            name=f"{prefix[1:]}-shared",
        )
    app.mount("/app", _Assets(directory=web_dir / "app", html=True, check_dir=False), name="app")
    app.mount(
        "/dashboard",
        _Assets(directory=web_dir / "dashboard", html=True, check_dir=False),
        name="dashboard",
    )
