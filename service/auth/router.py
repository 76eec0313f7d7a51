"""Logging in, and who the caller is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from schemas.auth import Me, TokenPair, UserPublic
from schemas.organizations import OrganizationPublic
from service.auth import service
from service.auth.models import User
from service.auth.tokens import issue_access_token
from service.deps import ClockDep, CurrentActor, SessionDep, SettingsDep
from service.errors import Unauthorized
from service.organizations.models import Organization

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenPair)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> TokenPair:
    user = service.authenticate(session=session, username=form.username, password=form.password)
    if user is None:
        raise Unauthorized("wrong username or password")
    token, lifetime = issue_access_token(
        settings=settings,
        user_id=user.id,
        role=user.role,
        organization_id=user.organization_id,
        device_id=None,
        now=clock(),
    )
    # Refresh tokens (rotation, reuse detection) come with the identity work; until then the
    # pair's refresh half is not usable.
    return TokenPair(access_token=token, refresh_token="", expires_in=lifetime)


@router.get("/me", response_model=Me)
def me(session: SessionDep, actor: CurrentActor) -> Me:
    user = session.get(User, actor.user_id)
    org = session.get(Organization, actor.organization_id) if actor.organization_id else None
    return Me(
        user=UserPublic.model_validate(user),
        role=actor.role,
        organization=OrganizationPublic.model_validate(org) if org else None,
    )
