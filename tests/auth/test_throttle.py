"""Repeated failed logins are throttled (429 + Retry-After) and recover when the window has
passed, on the service clock."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.auth.roles import Role
from service.config import Settings
from tests.conftest import FakeClock
from tests.factories import PASSWORD, make_org, make_user


def _try(client: TestClient, username: str, password: str = "wrong-password-1") -> int:
    return client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    ).status_code


def test_failures_for_one_username_lock_it_until_the_window_passes(
    client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    assert settings.login_max_failures == 5
    for _ in range(settings.login_max_failures):
        assert _try(client, user.username) == 401
        clock.advance(seconds=10)
    locked = client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}
    )
    # even the right password is refused while locked
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    retry_after = int(locked.headers["retry-after"])
    # the first failure was 50 s ago; it leaves the 300 s window in 250 s
    assert retry_after == settings.login_window_seconds - 50
    # case variants share the budget
    assert _try(client, user.username.upper(), PASSWORD) == 429
    clock.advance(seconds=retry_after - 1)
    assert _try(client, user.username, PASSWORD) == 429
    clock.advance(seconds=1)
    assert _try(client, user.username, PASSWORD) == 200


def test_failures_from_one_address_across_usernames_are_throttled(
    client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    for i in range(settings.login_max_failures):
        assert _try(client, f"guess-{i}") == 401
    response = client.post("/api/v1/auth/token", data={"username": "guess-new", "password": "x"})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) == settings.login_window_seconds
    clock.advance(seconds=settings.login_window_seconds)
    assert _try(client, "guess-new") == 401


def test_a_success_clears_the_usernames_failures(
    client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    for _ in range(settings.login_max_failures - 1):
        assert _try(client, user.username) == 401
    assert _try(client, user.username, PASSWORD) == 200
    clock.advance(seconds=settings.login_window_seconds)  # the address count expires too
    for _ in range(settings.login_max_failures - 1):
        assert _try(client, user.username) == 401
    assert _try(client, user.username, PASSWORD) == 200
