"""`medwaste serve` (the Dockerfile's command) reads X-Forwarded-For from the proxies in
MEDWASTE_TRUSTED_PROXIES only: uvicorn's own parsing, which trusts 127.0.0.1 by default, is off,
so a client on the same host cannot pick a fresh address per login attempt."""

from __future__ import annotations

import httpx
import pytest

from tests.cli.serving import serving
from tests.cli.test_commands import Cli, cli  # noqa: F401
from tests.conftest import Database


def _attempts(base: str, forwarded_for: list[str]) -> list[int]:
    return [
        httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "ward-7", "password": "not-the-password"},
            headers={"X-Forwarded-For": address},
        ).status_code
        for address in forwarded_for
    ]


def test_forwarded_addresses_count_only_from_trusted_proxies(
    cli: Cli,  # noqa: F811
    database: Database,
) -> None:
    if database.backend != "sqlite":
        pytest.skip("who the client is does not depend on the database (tests/auth covers both)")
    cli.run("migrate")
    made_up = [f"198.18.0.{i}" for i in range(6)]
    # Nobody trusted (the default): the header is ignored, the sixth failure waits.
    with serving(cli.env) as base:
        assert _attempts(base, made_up) == [401] * 5 + [429]
    # The local proxy trusted: each forwarded client has its own budget...
    with serving({**cli.env, "MEDWASTE_TRUSTED_PROXIES": "127.0.0.1"}) as base:
        assert _attempts(base, [f"198.19.0.{i}" for i in range(6)]) == [401] * 6
        # ...and one of them failing again and again is slowed.
        assert _attempts(base, ["198.19.1.1"] * 6) == [401] * 5 + [429]
