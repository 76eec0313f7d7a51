"""The API's documentation pages, served whole by the service: Swagger UI's files come from the
``swagger-ui-dist`` package that ``make web`` installs (npm), not from a CDN, so ``/docs`` works
on a network that reaches only this server (phones in mainland China often reach no CDN).
The page has no inline script: its start-up code is a file of its own.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from service.errors import NotFound

SWAGGER_DIST = Path("node_modules") / "swagger-ui-dist"
# The files of the package the page uses, and their types.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""


def _page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} — API</title>
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/start.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI, web_dir: Path) -> None:
    """``/docs`` (Swagger UI over ``/openapi.json``) with every file served from here."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_page(app.title))

    @app.get("/docs/assets/start.js", include_in_schema=False)
    def start() -> Response:
        return Response(START, media_type="text/javascript")

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        path = web_dir / SWAGGER_DIST / name
        if name not in ASSETS:
            raise NotFound(f"no documentation file {name!r}")
        if not path.is_file():
            raise NotFound("swagger-ui-dist is not installed: run `make web` (npm ci in web/)")
        return FileResponse(path, media_type=ASSETS[name])
