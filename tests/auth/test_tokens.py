"""Access tokens the service did not issue, or no longer honours, are refused with 401; and
production mode refuses to start without explicit secrets."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session

from service.auth.roles import Role
from service.config import MissingSecret, Settings
from tests.conftest import FakeClock
from tests.factories import login, make_org, make_user


def _claims(settings: Settings, user_id: str, clock: FakeClock, **changes: Any) -> dict[str, Any]:
    now = int(clock.now.timestamp())
    claims = {
        "sub": user_id,
        "role": "hospital_staff",
        "org": None,
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    claims.update(changes)
    return claims


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _me(client: TestClient, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.fixture
def user_id(session: Session) -> str:
    return str(make_user(session, Role.hospital_staff, make_org(session)).id)


def test_a_genuine_token_works(
    client: TestClient, session: Session, settings: Settings, clock: FakeClock, user_id: str
) -> None:
    token = jwt.encode(_claims(settings, user_id, clock), settings.jwt_key(), algorithm="HS256")
    assert _me(client, token) == 200


@pytest.mark.parametrize(
    "forge",
    [
        "other_key",
        "alg_none",
        "tampered_payload",
        "expired",
        "wrong_audience",
        "wrong_issuer",
        "missing_jti",
        "hs512",
        "garbage",
    ],
)
def test_forged_or_stale_tokens_are_401(
    forge: str,
    client: TestClient,
    session: Session,
    settings: Settings,
    clock: FakeClock,
    user_id: str,
) -> None:
    key = settings.jwt_key()
    good = _claims(settings, user_id, clock)
    if forge == "other_key":
        token = jwt.encode(good, "another-key-of-enough-length-0123456789abcdef", algorithm="HS256")
    elif forge == "alg_none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(good)}."
    elif forge == "tampered_payload":
        header, _payload, signature = jwt.encode(good, key, algorithm="HS256").split(".")
        token = f"{header}.{_b64({**good, 'role': 'admin', 'sub': user_id})}.{signature}"
    elif forge == "expired":
        token = jwt.encode(good, key, algorithm="HS256")
        clock.advance(minutes=11)
    elif forge == "wrong_audience":
        token = jwt.encode({**good, "aud": "someone-else"}, key, algorithm="HS256")
    elif forge == "wrong_issuer":
        token = jwt.encode({**good, "iss": "someone-else"}, key, algorithm="HS256")
    elif forge == "missing_jti":
        token = jwt.encode({k: v for k, v in good.items() if k != "jti"}, key, algorithm="HS256")
    elif forge == "hs512":
        token = jwt.encode(good, key, algorithm="HS512")
    else:
        token = "not.a.jwt"
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def test_issued_access_token_is_short_lived_and_carries_the_claims(
    client: TestClient, session: Session, settings: Settings, clock: FakeClock
) -> None:
    org = make_org(session)
    user = make_user(session, Role.hospital_staff, org)
    response = client.post(
        "/api/v1/auth/token",
        data={"username": user.username, "password": "correct-horse-battery", "device_id": "ph-1"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 15 * 60
    claims = jwt.decode(
        body["access_token"],
        settings.jwt_key(),
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["sub"] == str(user.id)
    assert claims["org"] == str(org.id)
    assert claims["role"] == "hospital_staff"
    assert claims["dev"] == "ph-1"
    assert claims["iss"] == settings.jwt_issuer
    assert claims["exp"] - claims["iat"] <= 15 * 60
    assert claims["jti"]
    # the access token stops working on the service clock once it expires
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock.advance(seconds=body["expires_in"])
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert login(client, user)  # a new login works again


def test_production_refuses_to_start_without_explicit_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "MEDWASTE_JWT_SECRET",
        "MEDWASTE_LABEL_SIGNING_KEY",
        "MEDWASTE_LOG_SIGNING_KEY",
        "DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEDWASTE_ENV", "production")
    monkeypatch.setenv("MEDWASTE_DATA_DIR", str(tmp_path))
    with pytest.raises(MissingSecret, match="MEDWASTE_JWT_SECRET"):
        Settings()
    # no secret is generated into the data directory on the way
    assert not (tmp_path / "jwt_secret").exists()
    monkeypatch.setenv("MEDWASTE_JWT_SECRET", "x" * 64)
    monkeypatch.setenv("MEDWASTE_LABEL_SIGNING_KEY", "pem")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/medwaste")
    with pytest.raises(MissingSecret, match="MEDWASTE_LOG_SIGNING_KEY"):
        Settings()
    monkeypatch.setenv("MEDWASTE_LOG_SIGNING_KEY", "pem")
    settings = Settings()
    assert settings.jwt_key() == "x" * 64
    assert not (tmp_path / "jwt_secret").exists()


def test_development_generates_and_keeps_the_jwt_key(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).jwt_key()
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path).jwt_key() == first
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0


def test_development_reads_the_jwt_key_file_once_per_settings(tmp_path: Path) -> None:
    (tmp_path / "jwt_secret").write_text("k" * 64 + "\n")
    settings = Settings(data_dir=tmp_path)
    assert settings.jwt_key() == "k" * 64
    # Every request checks its token with the key: the file is not read again.
    (tmp_path / "jwt_secret").unlink()
    assert settings.jwt_key() == "k" * 64
    assert Settings(data_dir=tmp_path / "other").jwt_key() != "k" * 64


def test_a_token_that_worked_is_refused_once_expired_or_under_another_key(
    client: TestClient, settings: Settings, clock: FakeClock, user_id: str
) -> None:
    from service.auth.tokens import InvalidToken, decode_access_token

    token = jwt.encode(_claims(settings, user_id, clock), settings.jwt_key(), algorithm="HS256")
    assert _me(client, token) == 200
    assert _me(client, token) == 200  # checked again from what the process remembers
    other = settings.model_copy(update={"jwt_secret": SecretStr("x" * 48)})
    with pytest.raises(InvalidToken):
        decode_access_token(token, settings=other, now=clock.now)
    clock.advance(minutes=11)
    assert _me(client, token) == 401
