"""The phone app in a second browser engine: WebKit (Safari's engine, as on drivers' iPhones),
driven through WebKitWebDriver (Debian's webkit2gtk-driver) with Selenium on a virtual screen.

Sign in, a scan by typed code, and an offline queue synced exactly once. WebDriver has no
"offline" switch, so the phone reaches the server through a relay this test can cut: while it is
cut, every request fails as it would with no network.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import PASSWORD
from tests.web.conftest import LiveServer
from tests.web.test_phone_app import events_of, make_hospital, register

DRIVER = shutil.which("WebKitWebDriver")
XVFB = shutil.which("Xvfb")
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
if DRIVER is None or XVFB is None or not os.path.exists(MINIBROWSER):
    pytest.skip(
        "WebKit is not installed (apt-get install -y webkit2gtk-driver xvfb)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="pip install -e '.[test]'")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from selenium.webdriver.webkitgtk.options import Options  # noqa: E402
from selenium.webdriver.webkitgtk.service import Service  # noqa: E402


class Relay:
    """A TCP relay to the server that can be cut (connections refused and dropped) and
    restored, standing in for a phone's network."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def webkit() -> Iterator[Any]:
    display = f":{90 + os.getpid() % 9}"
    screen = subprocess.Popen(
        [str(XVFB), display, "-screen", "0", "1024x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ["DISPLAY"] = display
    time.sleep(0.5)
    options = Options()
    options.binary_location = MINIBROWSER
    options.add_argument("--automation")
    driver = webdriver.WebKitGTK(options=options, service=Service(str(DRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        screen.terminate()
        screen.wait(timeout=10)


def _wait(driver: Any, css: str, seconds: float = 20) -> Any:
    return WebDriverWait(driver, seconds).until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, css) if d.find_elements(By.CSS_SELECTOR, css) else False
        )
    )


def _tap(driver: Any, element: Any) -> None:
    """Tap an element as a user would: scrolled into the middle of the screen first (the app's
    bottom bar covers the page's last lines)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def test_the_phone_app_in_webkit_scans_offline_and_syncs_once(
    webkit: Any, live_server: LiveServer
) -> None:
    hospital = make_hospital(live_server)
    containers = register(live_server, hospital, 2)
    relay = Relay(int(live_server.url.rsplit(":", 1)[1]))
    try:
        base = f"http://127.0.0.1:{relay.port}"
        webkit.get(f"{base}/app/")
        _wait(webkit, "body[data-ready='1']")
        webkit.find_element(By.CSS_SELECTOR, "#login-form input[name=username]").send_keys(
            hospital.username
        )
        webkit.find_element(By.CSS_SELECTOR, "#login-form input[name=password]").send_keys(PASSWORD)
        webkit.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
        _wait(webkit, "#view-home:not([hidden])")
        # The label keys and the custody rules are kept on the phone once signed in.
        WebDriverWait(webkit, 20).until(
            lambda d: d.execute_script(
                "return !!localStorage.getItem('medwaste.vocabulary')"
                " && !!localStorage.getItem('medwaste.labelKeys')"
            )
        )

        relay.cut()  # no network from here on
        for container in containers:
            webkit.execute_script("location.hash = '#scan'")
            _wait(webkit, "#view-scan:not([hidden])")
            if webkit.find_element(By.ID, "manual").get_attribute("open") is None:
                webkit.find_element(By.CSS_SELECTOR, "#manual summary").click()
            code = webkit.find_element(By.ID, "manual-code")
            code.clear()
            code.send_keys(container["qr_payload"])
            _tap(webkit, webkit.find_element(By.CSS_SELECTOR, "#manual-form button[type=submit]"))
            _wait(webkit, "#resolved:not([hidden])")
            # Verified on the phone with the kept keys (WebCrypto Ed25519), with no network.
            assert webkit.find_element(By.ID, "r-label").get_attribute("data-verdict") == "valid"
            assert webkit.find_element(By.ID, "r-code").text == container["short_code"]
            _tap(webkit, _wait(webkit, "#r-actions button[data-action=collect]"))
            webkit.find_element(By.ID, "af-weight").send_keys("3,5")
            _tap(webkit, webkit.find_element(By.ID, "af-submit"))
            _wait(webkit, "#scan-outcome[data-status=queued]")
        _wait(webkit, "#queue-badge[data-count='2']")
        for container in containers:
            assert [e["action"] for e in events_of(live_server, hospital, container["id"])] == [
                "register"
            ]

        relay.restore()
        webkit.execute_script("location.hash = '#queue'")
        _tap(webkit, _wait(webkit, "#sync-now"))
        _wait(webkit, "#queue-badge[data-count='0']", seconds=30)
        _tap(webkit, _wait(webkit, "#sync-now"))  # again: nothing is sent twice
        time.sleep(1)
    finally:
        relay.close()

    for container in containers:
        events = events_of(live_server, hospital, container["id"])
        assert [e["action"] for e in events] == ["register", "collect"]
        assert events[-1]["weight_kg"] == 3.5
