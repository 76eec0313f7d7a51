"""Access tokens: short-lived JWTs signed with HS256, the algorithm pinned on decode."""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from service.config import Settings

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    role: str
    organization_id: uuid.UUID | None
    device_id: str | None
    jti: str
    issued_at: datetime


class InvalidToken(Exception):
    pass


def issue_access_token(
    *,
    settings: Settings,
    user_id: uuid.UUID,
    role: str,
    organization_id: uuid.UUID | None,
    device_id: str | None,
    now: datetime,
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user_id),
        "role": role,
        "org": str(organization_id) if organization_id else None,
        "dev": device_id,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    token = jwt.encode(claims, settings.jwt_key(), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


def decode_access_token(token: str, *, settings: Settings, now: datetime) -> AccessClaims:
    """Verify signature, audience and issuer, and check expiry against ``now`` (the service's
    clock, so tests can move time)."""
    try:
        claims, expires = _verified(
            token, settings.jwt_key(), settings.jwt_audience, settings.jwt_issuer
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise InvalidToken(str(exc)) from exc
    if expires <= now.timestamp():
        raise InvalidToken("the token has expired")
    return claims


# Every request presents its token again, and checking one costs a quarter of a millisecond:
# what a token that verified holds is remembered per process, keyed by the token and what it
# was checked with (its expiry is checked at each use; a token that fails is never remembered).
@functools.lru_cache(maxsize=4096)
def _verified(token: str, key: str, audience: str, issuer: str) -> tuple[AccessClaims, int]:
    claims = jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=issuer,
        options={
            "require": ["sub", "exp", "iat", "jti", "iss", "aud"],
            "verify_exp": False,
            "verify_iat": False,
        },
    )
    org = claims.get("org")
    return (
        AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            role=str(claims.get("role")),
            organization_id=uuid.UUID(org) if org else None,
            device_id=claims.get("dev"),
            jti=str(claims["jti"]),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), tz=UTC),
        ),
        int(claims["exp"]),
    )


def new_refresh_token() -> tuple[str, str]:
    """An opaque refresh token (256 random bits) and the hash that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
