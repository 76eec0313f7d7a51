"""Logging in, refreshing and ending sessions, who the caller is; users and their phones."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from schemas.auth import (
    DEVICE_ID_PATTERN,
    DeviceRevocation,
    LogoutRequest,
    Me,
    RefreshRequest,
    TokenPair,
    UserCreate,
    UserPublic,
)
from schemas.common import Page
from schemas.organizations import OrganizationPublic
from service.audit_context import note_target, note_who
from service.auth import service
from service.auth.dependencies import AdminActor, CurrentActor
from service.auth.models import User
from service.deps import ClockDep, ReadSessionDep, SessionDep, SettingsDep
from service.organizations.models import Organization
from service.pagination import MAX_LIMIT, a_uuid, page_of, read_cursor

router = APIRouter(prefix="/api/v1", tags=["auth"])

_LOGIN_DESCRIPTION = """OAuth2 password flow (form fields `username`, `password`).

An optional form field **`device_id`** (1-100 of `A-Z a-z 0-9 . _ : -`) names the phone the
session is for: it is recorded with the session's refresh tokens, carried in the access token
as the `dev` claim, and recorded with every scan. An administrator can revoke a lost phone
(`POST /api/v1/devices/{device_id}/revoke`).

The access token lives at most 15 minutes (`expires_in` seconds); the refresh token is opaque,
single-use (see `/api/v1/auth/refresh`).

Failures answer 401 without saying whether the user exists. Failures slow down further
attempts rather than lock the account: after `MEDWASTE_LOGIN_MAX_FAILURES` failures (default 5)
of one username from one client address, that pair must wait `MEDWASTE_LOGIN_BACKOFF_SECONDS`
(default 2) after each failure, doubling up to `MEDWASTE_LOGIN_BACKOFF_MAX_SECONDS` (600);
until then the answer is 429 with `Retry-After`. The same user logging in from another address
is not held back; a success forgets its pair's failures. One address failing for many usernames
is slowed after `MEDWASTE_LOGIN_MAX_FAILURES_PER_ADDRESS` (100) failures. A failure counts for
`MEDWASTE_LOGIN_WINDOW_SECONDS` (3600).
"""


def _client_address(request: Request) -> str:
    return request.client.host[:64] if request.client else "unknown"


def _pair(issued: service.IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
    )


def _check_password(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    read_session: ReadSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> service.PasswordCheck:
    note_who(request.scope, user_id=None, username=form.username[:64], organization_id=None)
    return service.check_password(
        session=read_session,
        settings=settings,
        username=form.username,
        password=form.password,
        client_address=_client_address(request),
        now=clock(),
    )


@router.post("/auth/token", response_model=TokenPair, description=_LOGIN_DESCRIPTION)
def login(
    request: Request,
    # Declared before the write session: the password is checked before the write begins.
    checked: Annotated[service.PasswordCheck, Depends(_check_password)],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    device_id: Annotated[str | None, Form(pattern=DEVICE_ID_PATTERN)] = None,
) -> TokenPair:
    issued = service.login(
        session=session,
        settings=settings,
        checked=checked,
        device_id=device_id,
        now=clock(),
    )
    note_who(
        request.scope,
        user_id=issued.user.id,
        username=issued.user.username,
        organization_id=issued.user.organization_id,
        device_id=device_id,
    )
    return _pair(issued)


@router.post("/auth/refresh", response_model=TokenPair)
def refresh(
    request: Request,
    body: RefreshRequest,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> TokenPair:
    """Exchange a refresh token for a new pair. The presented token stops working; presenting
    it again ends the whole session (every token descended from the same login), because
    only a copied token is ever presented twice."""
    issued = service.refresh(
        session=session, settings=settings, refresh_token=body.refresh_token, now=clock()
    )
    note_who(
        request.scope,
        user_id=issued.user.id,
        username=issued.user.username,
        organization_id=issued.user.organization_id,
    )
    return _pair(issued)


@router.post("/auth/logout", status_code=204)
def logout(
    body: LogoutRequest, session: SessionDep, actor: CurrentActor, clock: ClockDep
) -> Response:
    """End the session the refresh token belongs to: it and every token of its family stop
    working. The access token expires on its own within minutes."""
    service.logout(
        session=session, user_id=actor.user_id, refresh_token=body.refresh_token, now=clock()
    )
    return Response(status_code=204)


@router.get("/me", response_model=Me)
def me(session: SessionDep, actor: CurrentActor) -> Me:
    """The signed-in user, their organization and role: what the phone and the dashboard show and
    which views they offer."""
    user = session.get(User, actor.user_id)
    org = session.get(Organization, actor.organization_id) if actor.organization_id else None
    return Me(
        user=UserPublic.model_validate(user),
        role=actor.role,
        organization=OrganizationPublic.model_validate(org) if org else None,
    )


@router.post("/users", status_code=201, response_model=UserPublic)
def create_user(
    body: UserCreate, request: Request, session: SessionDep, _admin: AdminActor
) -> User:
    """Create a user of an organization with a role (administrators). The password is stored as an
    Argon2 hash; a user name is unique."""
    user = service.create_user(
        session=session,
        username=body.username,
        password=body.password,
        role=body.role,
        organization_id=body.organization_id,
        display_name=body.display_name,
    )
    note_target(request.scope, user.id)
    return user


@router.get("/users", response_model=Page[UserPublic])
def list_users(
    session: SessionDep,
    _admin: AdminActor,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[UserPublic]:
    """Every user, a page at a time (administrators)."""
    after = read_cursor(cursor, id=a_uuid)
    rows = service.list_users(session=session, after=after[0] if after else None, limit=limit + 1)
    rows, next_cursor = page_of(rows, limit, lambda r: {"id": str(r.id)})
    return Page[UserPublic](
        items=[UserPublic.model_validate(u) for u in rows], next_cursor=next_cursor
    )


@router.post("/users/{user_id}/deactivate", response_model=UserPublic)
def deactivate_user(
    user_id: uuid.UUID, session: SessionDep, admin: AdminActor, clock: ClockDep
) -> User:
    """The user can no longer log in, their access tokens are refused from the next request
    on, and their refresh tokens are revoked."""
    return service.deactivate_user(
        session=session, user_id=user_id, actor_user_id=admin.user_id, now=clock()
    )


@router.post("/devices/{device_id}/revoke", response_model=DeviceRevocation)
def revoke_device(
    device_id: Annotated[str, Path(pattern=DEVICE_ID_PATTERN)],
    session: SessionDep,
    admin: AdminActor,
    clock: ClockDep,
) -> DeviceRevocation:
    """A lost phone: every session started on it ends, and every access token carrying its
    device id (`dev` claim) is refused from now on, as is logging in with it."""
    revoked, ended = service.revoke_device(
        session=session, device_id=device_id, revoked_by=admin.user_id, now=clock()
    )
    return DeviceRevocation(
        device_id=revoked.device_id, revoked_at=revoked.revoked_at, sessions_revoked=ended
    )
