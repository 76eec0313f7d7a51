"""Logging in, sessions (refresh token families), devices and managing users."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, distinct, func, update
from sqlmodel import Session, col, select

from service.auth import throttle
from service.auth.errors import DeviceRevoked, LoginRefused, RefreshRefused
from service.auth.models import RefreshToken, RevokedDevice, User
from service.auth.passwords import hash_password, policy_problems, verify_password
from service.auth.roles import Role, role_fits
from service.auth.tokens import hash_refresh_token, issue_access_token, new_refresh_token
from service.config import Settings
from service.errors import Conflict, InvalidInput, NotFound
from service.organizations.models import Organization, OrgKind


@dataclass(frozen=True)
class IssuedTokens:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None; the same work either way."""
    user = session.exec(select(User).where(User.username == username)).first()
    ok = verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        return None
    return user


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: Role,
    organization_id: uuid.UUID | None,
    display_name: str | None = None,
) -> User:
    problems = policy_problems(password, username=username)
    if problems:
        raise InvalidInput(
            "the password is too weak: " + "; ".join(problems),
            errors=[{"field": "password", "message": p} for p in problems],
        )
    org = session.get(Organization, organization_id) if organization_id else None
    if organization_id is not None and org is None:
        raise NotFound(f"organization {organization_id} not found")
    if not role_fits(role, OrgKind(org.kind) if org else None):
        where = f"a {org.kind} organization" if org else "no organization"
        raise Conflict(f"role {role} does not fit {where}")
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        organization_id=organization_id,
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of checking a login's password, before anything is written."""

    username: str
    client_address: str
    user_id: uuid.UUID | None  # None: wrong username or password


def login_backoff(settings: Settings) -> throttle.Backoff:
    return throttle.Backoff(
        free_failures=settings.login_max_failures,
        free_failures_per_address=settings.login_max_failures_per_address,
        base=timedelta(seconds=settings.login_backoff_seconds),
        longest=timedelta(seconds=settings.login_backoff_max_seconds),
        window=timedelta(seconds=settings.login_window_seconds),
    )


def check_password(
    *,
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    client_address: str,
    now: datetime,
) -> PasswordCheck:
    """The throttle, then the password hash, in a read-only session: the hash takes tens of
    milliseconds on purpose and must not hold the SQLite write lock while it runs."""
    throttle.check(
        session=session,
        username=username,
        client_address=client_address,
        now=now,
        backoff=login_backoff(settings),
    )
    user = authenticate(session=session, username=username, password=password)
    return PasswordCheck(username, client_address, user.id if user else None)


def login(
    *,
    session: Session,
    settings: Settings,
    checked: PasswordCheck,
    device_id: str | None,
    now: datetime,
) -> IssuedTokens:
    """Record a failed check (briefly), or start a session (a new refresh token family)."""
    user = session.get(User, checked.user_id) if checked.user_id is not None else None
    if user is None or not user.is_active:
        throttle.record_failure(
            session=session,
            username=checked.username,
            client_address=checked.client_address,
            now=now,
            window=timedelta(seconds=settings.login_window_seconds),
        )
        raise LoginRefused("wrong username or password")
    throttle.clear_pair(
        session=session, username=checked.username, client_address=checked.client_address
    )
    if device_id is not None and is_device_revoked(session, device_id):
        raise DeviceRevoked(f"device {device_id!r} has been revoked; ask an administrator")
    return _issue(
        session=session,
        settings=settings,
        user=user,
        family_id=uuid.uuid4(),
        device_id=device_id,
        now=now,
    )


def refresh(
    *, session: Session, settings: Settings, refresh_token: str, now: datetime
) -> IssuedTokens:
    """Exchange a live refresh token for a new pair; the presented one dies. Presenting a token
    that was already exchanged means someone kept a copy: the whole family is revoked, unless
    it comes within ``refresh_reuse_grace_seconds`` of its first exchange (two tabs of one
    browser refreshing with the same token at once), when it gets a pair of its own."""
    row = session.exec(
        select(RefreshToken)
        .where(RefreshToken.token_hash == hash_refresh_token(refresh_token))
        .with_for_update()
    ).first()
    if row is None or row.revoked_at is not None:
        raise RefreshRefused("the refresh token is not valid")
    grace = timedelta(seconds=settings.refresh_reuse_grace_seconds)
    if row.rotated_at is not None and now - row.rotated_at >= grace:
        revoke_family(session=session, family_id=row.family_id, now=now, reason="reuse")
        raise RefreshRefused(
            "the refresh token was already used; the session has been ended, log in again"
        )
    if row.expires_at <= now:
        raise RefreshRefused("the refresh token has expired")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        revoke_family(session=session, family_id=row.family_id, now=now, reason="deactivated")
        raise RefreshRefused("the refresh token is not valid")
    if row.device_id is not None and is_device_revoked(session, row.device_id):
        revoke_family(session=session, family_id=row.family_id, now=now, reason="device")
        raise RefreshRefused("the refresh token is not valid")
    if row.rotated_at is None:
        # Within the grace a token already exchanged is exchanged again (two tabs of one
        # browser refreshing at once): it keeps its first rotation time, so the grace never
        # extends itself.
        row.rotated_at = now
        session.add(row)
    return _issue(
        session=session,
        settings=settings,
        user=user,
        family_id=row.family_id,
        device_id=row.device_id,
        now=now,
    )


def logout(*, session: Session, user_id: uuid.UUID, refresh_token: str, now: datetime) -> None:
    """End the session the refresh token belongs to (if it is the caller's; silently nothing
    otherwise, so a stranger's token cannot be probed)."""
    row = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(refresh_token))
    ).first()
    if row is not None and row.user_id == user_id:
        revoke_family(session=session, family_id=row.family_id, now=now, reason="logout")


def revoke_family(*, session: Session, family_id: uuid.UUID, now: datetime, reason: str) -> int:
    return _revoke(session, col(RefreshToken.family_id) == family_id, now=now, reason=reason)


def is_device_revoked(session: Session, device_id: str) -> bool:
    return session.get(RevokedDevice, device_id) is not None


def revoke_device(
    *, session: Session, device_id: str, revoked_by: uuid.UUID, now: datetime
) -> tuple[RevokedDevice, int]:
    """Refuse the device from now on: its sessions die and tokens carrying it are refused.
    Returns the revocation and how many live refresh tokens it ended."""
    revoked = session.get(RevokedDevice, device_id)
    if revoked is None:
        revoked = RevokedDevice(device_id=device_id, revoked_at=now, revoked_by_user_id=revoked_by)
        session.add(revoked)
        session.flush()
    ended = _revoke(session, col(RefreshToken.device_id) == device_id, now=now, reason="device")
    return revoked, ended


def deactivate_user(
    *, session: Session, user_id: uuid.UUID, actor_user_id: uuid.UUID, now: datetime
) -> User:
    """The user can no longer log in; their access tokens stop working at the next request
    (every request checks ``is_active``) and their refresh tokens are revoked."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if user.id == actor_user_id:
        raise Conflict("you cannot deactivate yourself")
    user.is_active = False
    session.add(user)
    _revoke(session, col(RefreshToken.user_id) == user.id, now=now, reason="deactivated")
    session.flush()
    return user


def list_users(*, session: Session, after: uuid.UUID | None, limit: int) -> list[User]:
    query = select(User).order_by(col(User.id)).limit(limit)
    if after is not None:
        query = query.where(col(User.id) > after)
    return list(session.exec(query))


def _revoke(session: Session, condition: ColumnElement[bool], *, now: datetime, reason: str) -> int:
    """Revoke every token matching ``condition`` not revoked yet; returns how many sessions
    (families) were still alive."""
    live = session.exec(
        select(func.count(distinct(col(RefreshToken.family_id)))).where(
            condition,
            col(RefreshToken.revoked_at).is_(None),
            col(RefreshToken.rotated_at).is_(None),
        )
    ).one()
    session.execute(
        update(RefreshToken)
        .where(condition, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    return int(live)


def _issue(
    *,
    session: Session,
    settings: Settings,
    user: User,
    family_id: uuid.UUID,
    device_id: str | None,
    now: datetime,
) -> IssuedTokens:
    access, lifetime = issue_access_token(
        settings=settings,
        user_id=user.id,
        role=user.role,
        organization_id=user.organization_id,
        device_id=device_id,
        now=now,
    )
    token, token_hash = new_refresh_token()
    session.add(
        RefreshToken(
            token_hash=token_hash,
            family_id=family_id,
            user_id=user.id,
            device_id=device_id,
            issued_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    session.flush()
    return IssuedTokens(user=user, access_token=access, refresh_token=token, expires_in=lifetime)
