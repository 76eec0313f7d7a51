"""``medwaste serve`` started as its own process for a test, on the test's database."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.cli.test_commands import MEDWASTE, _free_port


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """The server's base URL while it runs (no background sweep)."""
    port = _free_port()
    process = subprocess.Popen(
        [MEDWASTE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={"MEDWASTE_SWEEP_INTERVAL_SECONDS": "0", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, "the server stopped"
                assert time.monotonic() < deadline, "the server did not come up in 90 s"
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
