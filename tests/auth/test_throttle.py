"""Failed logins slow down their (username, client address) pair instead of locking the
account for everyone; behind a trusted proxy the forwarded address is the client's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session, col, select

from service.audit.models import AuditEntry
from service.auth.models import LoginFailure
from service.auth.roles import Role
from service.auth.throttle import Backoff
from service.config import Settings
from tests.conftest import FakeClock
from tests.factories import PASSWORD, make_org, make_user

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"
PROXY = "10.9.0.5"


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    """The shipped throttle numbers, a proxy network trusted, and a small per-address budget
    so that the spraying test stays short."""
    return Settings(
        data_dir=tmp_path / "data",
        sweep_interval_seconds=0,
        log_checkpoint_seconds=0,
        trusted_proxies="10.9.0.0/16",
        login_max_failures_per_address=8,
    )


def _from(app: FastAPI, address: str) -> TestClient:
    """A client whose connection comes from ``address`` (the app's lifespan is already up
    through the ``client`` fixture)."""
    return TestClient(app, client=(address, 40000), raise_server_exceptions=False)


def _login(
    client: TestClient, username: str, password: str = "wrong-password-1", **headers: str
) -> tuple[int, int | None]:
    response = client.post(
        "/api/v1/auth/token",
        data={"username": username, "password": password},
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )
    if response.status_code == 429:
        assert response.headers["content-type"] == "application/problem+json"
        return 429, int(response.headers["retry-after"])
    return response.status_code, None


def _fail_patiently(client: TestClient, clock: FakeClock, username: str, times: int) -> list[int]:
    """Fail ``times`` times, each time waiting as long as the server says; the waits."""
    waits: list[int] = []
    failed = 0
    while failed < times:
        status, retry_after = _login(client, username)
        if status == 429:
            assert retry_after is not None
            waits.append(retry_after)
            clock.advance(seconds=retry_after)
            continue
        assert status == 401
        failed += 1
    return waits


def test_a_guesser_from_one_address_does_not_stop_the_owner_at_another(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    attacker = _from(app, ATTACKER)
    waits = _fail_patiently(attacker, clock, user.username, 20)
    # Five free failures, then each further one waits twice as long as the one before.
    assert waits[:8] == [2, 4, 8, 16, 32, 64, 128, 256]
    assert max(waits) == settings.login_backoff_max_seconds
    # The guesser is slowed even with the right password...
    assert _login(attacker, user.username, PASSWORD)[0] == 429
    assert _login(attacker, user.username.upper(), PASSWORD)[0] == 429  # case variants too
    # ...the owner, from another address, is not held back at all.
    assert _login(_from(app, OWNER), user.username, PASSWORD) == (200, None)


def test_the_wait_doubles_after_each_failure_and_a_success_resets_it(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    ward = _from(app, OWNER)
    for _ in range(settings.login_max_failures):
        assert _login(ward, user.username) == (401, None)
    assert _login(ward, user.username, PASSWORD) == (429, 2)
    clock.advance(seconds=1)
    assert _login(ward, user.username, PASSWORD) == (429, 1)
    clock.advance(seconds=1)
    assert _login(ward, user.username) == (401, None)  # sixth failure
    assert _login(ward, user.username) == (429, 4)
    clock.advance(seconds=4)
    assert _login(ward, user.username) == (401, None)  # seventh
    assert _login(ward, user.username, PASSWORD) == (429, 8)
    clock.advance(seconds=8)
    assert _login(ward, user.username, PASSWORD) == (200, None)
    # The success forgot the pair's failures: five free ones again.
    for _ in range(settings.login_max_failures):
        assert _login(ward, user.username) == (401, None)
    assert _login(ward, user.username) == (429, 2)


def test_failures_are_forgotten_after_the_window(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    ward = _from(app, OWNER)
    waits = _fail_patiently(ward, clock, user.username, settings.login_max_failures + 3)
    assert waits == [2, 4, 8]
    clock.advance(seconds=settings.login_window_seconds)
    for _ in range(settings.login_max_failures):
        assert _login(ward, user.username) == (401, None)
    assert _login(ward, user.username) == (429, 2)


def test_through_a_trusted_proxy_the_forwarded_address_counts(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    proxy = _from(app, PROXY)
    for _ in range(settings.login_max_failures):
        assert _login(proxy, user.username, x_forwarded_for=ATTACKER) == (401, None)
    assert _login(proxy, user.username, PASSWORD, x_forwarded_for=ATTACKER)[0] == 429
    # The owner comes through the same proxy, from elsewhere: not held back. The address the
    # client itself wrote first in the header is not believed, only the one the proxy added.
    spoofed = f"{ATTACKER}, {OWNER}"
    assert _login(proxy, user.username, PASSWORD, x_forwarded_for=spoofed) == (200, None)
    recorded = set(session.exec(select(LoginFailure.client_address)))
    assert recorded == {ATTACKER}
    # The audit log names the client, not the proxy.
    entries = session.exec(
        select(col(AuditEntry.client_address)).where(col(AuditEntry.path) == "/api/v1/auth/token")
    ).all()
    assert set(entries) == {ATTACKER, OWNER}


def test_through_an_untrusted_peer_the_forwarded_header_is_ignored(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    stranger = _from(app, "192.0.2.50")
    # A new made-up address each time does not buy a new budget.
    for i in range(settings.login_max_failures):
        assert _login(stranger, user.username, x_forwarded_for=f"198.18.0.{i}") == (401, None)
    assert _login(stranger, user.username, PASSWORD, x_forwarded_for="198.18.0.99")[0] == 429
    assert set(session.exec(select(LoginFailure.client_address))) == {"192.0.2.50"}


def test_one_address_trying_many_usernames_is_slowed_alone(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    sprayer = _from(app, ATTACKER)
    for i in range(settings.login_max_failures_per_address):
        assert _login(sprayer, f"guess-{i}") == (401, None)
    assert _login(sprayer, "guess-new") == (429, 2)
    assert _login(sprayer, user.username, PASSWORD)[0] == 429
    assert _login(_from(app, OWNER), user.username, PASSWORD) == (200, None)
    clock.advance(seconds=2)
    assert _login(sprayer, "guess-new") == (401, None)


def test_backoff_starts_after_the_free_failures_and_stops_at_its_ceiling() -> None:
    backoff = Backoff(
        free_failures=3,
        free_failures_per_address=50,
        base=timedelta(seconds=5),
        longest=timedelta(seconds=60),
        window=timedelta(hours=1),
    )
    waits = [backoff.wait_after(n, free=3).total_seconds() for n in range(9)]
    assert waits == [0, 0, 0, 5, 10, 20, 40, 60, 60]
    assert backoff.wait_after(10_000, free=3) == timedelta(seconds=60)


@pytest.mark.parametrize("value", ["10.0.0.300", "*", "proxy.example", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_not_an_address_stops_the_start(value: str) -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(trusted_proxies=value)


def test_trusted_proxies_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDWASTE_TRUSTED_PROXIES", "10.9.0.0/16, 127.0.0.1 ,fd00::/8")
    assert Settings().trusted_proxies == ("10.9.0.0/16", "127.0.0.1/32", "fd00::/8")
    monkeypatch.delenv("MEDWASTE_TRUSTED_PROXIES")
    assert Settings().trusted_proxies == ()


def test_a_backoff_longer_than_the_window_is_refused() -> None:
    with pytest.raises(ValidationError, match="BACKOFF_MAX"):
        Settings(login_backoff_max_seconds=7200, login_window_seconds=3600)
