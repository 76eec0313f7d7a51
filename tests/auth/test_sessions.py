"""Sessions: refresh rotation, reuse detection, logout, deactivation and lost phones."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.auth.models import RefreshToken, User
from service.auth.roles import Role
from service.auth.tokens import hash_refresh_token
from tests.conftest import FakeClock
from tests.factories import PASSWORD, make_org, make_user


def _login(client: TestClient, user: User, device_id: str | None = None) -> dict[str, Any]:
    data = {"username": user.username, "password": PASSWORD}
    if device_id is not None:
        data["device_id"] = device_id
    response = client.post("/api/v1/auth/token", data=data)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _auth(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def _refresh(client: TestClient, token: str) -> Any:
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def _admin(session: Session, client: TestClient) -> dict[str, str]:
    return _auth(_login(client, make_user(session, Role.admin)))


def test_refresh_rotates_and_the_old_token_dies(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    user = make_user(session, Role.hospital_staff, make_org(session))
    first = _login(client, user)
    clock.advance(minutes=20)  # the access token has expired; the refresh token has not
    assert client.get("/api/v1/me", headers=_auth(first)).status_code == 401
    second = _refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.text
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=_auth(pair)).json()["user"]["id"] == str(user.id)
    # only a hash is stored
    stored = session.exec(select(RefreshToken).where(RefreshToken.user_id == user.id)).all()
    assert {r.token_hash for r in stored} == {
        hash_refresh_token(first["refresh_token"]),
        hash_refresh_token(pair["refresh_token"]),
    }
    assert pair["refresh_token"] not in {r.token_hash for r in stored}


def test_reusing_a_rotated_token_kills_the_whole_family(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    stolen = _login(client, user)["refresh_token"]
    newer = _refresh(client, stolen).json()["refresh_token"]
    # the thief presents the old token later than the two-tabs grace: refused, and the
    # legitimate newer one dies with it
    clock.advance(seconds=31)
    reuse = _refresh(client, stolen)
    assert reuse.status_code == 401
    assert reuse.headers["content-type"] == "application/problem+json"
    assert _refresh(client, newer).status_code == 401
    # another session of the same user (another login) is not affected
    other = _login(client, user)["refresh_token"]
    assert _refresh(client, other).status_code == 200


def test_unknown_and_expired_refresh_tokens_are_refused(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    assert _refresh(client, "made-up").status_code == 401
    user = make_user(session, Role.driver, make_org(session))
    pair = _login(client, user)
    clock.advance(days=31)
    assert _refresh(client, pair["refresh_token"]).status_code == 401


def test_logout_ends_the_session(client: TestClient, session: Session, clock: FakeClock) -> None:
    user = make_user(session, Role.hospital_staff, make_org(session))
    pair = _login(client, user)
    unauthenticated = client.post(
        "/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}
    )
    assert unauthenticated.status_code == 401
    response = client.post(
        "/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}, headers=_auth(pair)
    )
    assert response.status_code == 204
    assert _refresh(client, pair["refresh_token"]).status_code == 401


def test_logout_cannot_end_someone_elses_session(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    org = make_org(session)
    victim = _login(client, make_user(session, Role.hospital_staff, org))
    other = _login(client, make_user(session, Role.hospital_staff, org))
    response = client.post(
        "/api/v1/auth/logout", json={"refresh_token": victim["refresh_token"]}, headers=_auth(other)
    )
    assert response.status_code == 204
    assert _refresh(client, victim["refresh_token"]).status_code == 200


def test_deactivated_user_is_locked_out_at_once(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    user = make_user(session, Role.hospital_staff, make_org(session))
    pair = _login(client, user)
    admin = _admin(session, client)
    response = client.post(f"/api/v1/users/{user.id}/deactivate", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    # the still-unexpired access token stops working, the refresh token is dead, no new login
    assert client.get("/api/v1/me", headers=_auth(pair)).status_code == 401
    assert _refresh(client, pair["refresh_token"]).status_code == 401
    login = client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}
    )
    assert login.status_code == 401


def test_only_admins_deactivate_and_list_users(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    org = make_org(session)
    other = make_user(session, Role.hospital_staff, org)
    staff = _auth(_login(client, make_user(session, Role.hospital_staff, org)))
    assert client.post(f"/api/v1/users/{other.id}/deactivate", headers=staff).status_code == 403
    assert client.get("/api/v1/users", headers=staff).status_code == 403
    admin = _admin(session, client)
    listed = client.get("/api/v1/users", params={"limit": 500}, headers=admin)
    assert listed.status_code == 200
    assert str(other.id) in {u["id"] for u in listed.json()["items"]}
    assert "password_hash" not in listed.json()["items"][0]


def test_revoking_a_lost_phone(client: TestClient, session: Session, clock: FakeClock) -> None:
    user = make_user(session, Role.driver, make_org(session))
    phone = _login(client, user, device_id="phone-lost")
    kept = _login(client, user, device_id="phone-kept")
    rotated = _refresh(client, phone["refresh_token"]).json()
    admin = _admin(session, client)
    response = client.post("/api/v1/devices/phone-lost/revoke", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["device_id"] == "phone-lost"
    assert response.json()["sessions_revoked"] == 1
    # every access token carrying the device is refused, and its sessions are dead
    assert client.get("/api/v1/me", headers=_auth(phone)).status_code == 401
    assert client.get("/api/v1/me", headers=_auth(rotated)).status_code == 401
    assert _refresh(client, rotated["refresh_token"]).status_code == 401
    # logging in again from the lost phone is refused; the user's other phone keeps working
    again = client.post(
        "/api/v1/auth/token",
        data={"username": user.username, "password": PASSWORD, "device_id": "phone-lost"},
    )
    assert again.status_code == 403
    assert client.get("/api/v1/me", headers=_auth(kept)).status_code == 200
    assert _refresh(client, kept["refresh_token"]).status_code == 200


def test_device_id_is_recorded_with_the_session(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    pair = _login(client, user, device_id="phone-7")
    row = session.exec(
        select(RefreshToken).where(
            RefreshToken.token_hash == hash_refresh_token(pair["refresh_token"])
        )
    ).one()
    assert row.device_id == "phone-7"
    bad = client.post(
        "/api/v1/auth/token",
        data={"username": user.username, "password": PASSWORD, "device_id": "bad id/../"},
    )
    assert bad.status_code == 422


def test_failed_login_does_not_reveal_whether_the_user_exists(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    user = make_user(session, Role.driver, make_org(session))
    wrong_password = client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": "not-the-password"}
    )
    no_such_user = client.post(
        "/api/v1/auth/token", data={"username": "nobody-here", "password": "not-the-password"}
    )
    assert wrong_password.status_code == no_such_user.status_code == 401
    # The same problem, told apart only by the id of each request.
    bodies = [r.json() for r in (wrong_password, no_such_user)]
    assert len({body.pop("request_id") for body in bodies}) == 2
    assert bodies[0] == bodies[1]
