"""Real-browser tests of the web front: a real uvicorn server on a migrated SQLite file, and
Debian's Chromium driven by Playwright (never `playwright install`: CI installs `chromium`).

Skipped, with the reason, where Chromium, Playwright or the npm-installed decoder is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from service.app import create_app
from service.config import Settings
from service.db import make_engine
from service.migrate import upgrade
from service.web.router import DEFAULT_WEB_DIR, JSQR_DIST

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOTS = REPO / "docs" / "screenshots"

if not CHROMIUM.exists():
    pytest.skip(
        "Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )
if not (DEFAULT_WEB_DIR / JSQR_DIST).exists():
    pytest.skip(
        "the web front is not built: run `make web` (npm ci in web/)", allow_module_level=True
    )
playwright_sync = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    engine: Any
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, username: str, password: str) -> httpx.Client:
        """An API client signed in as ``username``."""
        if username not in self.tokens:
            response = httpx.post(
                f"{self.url}/api/v1/auth/token",
                data={"username": username, "password": password},
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[username]}"}
        )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("web-data")
    url = f"sqlite:///{data / 'web.db'}"
    upgrade(url)
    engine = make_engine(url)
    settings = Settings(data_dir=data, sweep_interval_seconds=0)
    app = create_app(settings, engine=engine)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield LiveServer(base, engine, settings)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        yield p


def launch(playwright: Any, *extra: str) -> Any:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra], headless=True
    )


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    b = launch(playwright)
    yield b
    b.close()


def save_screenshot(page: Any, name: str, **kwargs: Any) -> Path:
    """Save under tests/artifacts/ (ignored by git); with UPDATE_SCREENSHOTS=1 also refresh the
    README's copy in docs/screenshots/ (so an ordinary test run leaves the tree clean)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), **kwargs)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / name)
    return path
