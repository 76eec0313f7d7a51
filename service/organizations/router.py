"""Administration: organizations, sites and users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from schemas.auth import DEVICE_ID_PATTERN, DeviceRevocation, UserCreate, UserPublic
from schemas.common import Page
from schemas.organizations import OrganizationCreate, OrganizationPublic, SiteCreate, SitePublic
from service.audit.context import note_target
from service.auth import service as auth_service
from service.auth.models import User
from service.deps import AdminActor, ClockDep, CurrentActor, SessionDep
from service.organizations import service
from service.organizations.models import Organization, Site
from service.pagination import MAX_LIMIT, decode_cursor, page_of

router = APIRouter(prefix="/api/v1", tags=["administration"])


@router.post("/organizations", status_code=201, response_model=OrganizationPublic)
def create_organization(
    body: OrganizationCreate, request: Request, session: SessionDep, _admin: AdminActor
) -> Organization:
    org = service.create_organization(session=session, request=body)
    note_target(request.scope, org.id)
    return org


@router.get("/organizations", response_model=Page[OrganizationPublic])
def list_organizations(
    session: SessionDep,
    actor: CurrentActor,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[OrganizationPublic]:
    after = decode_cursor(cursor)
    after_id = _uuid_or_none(after.get("id") if after else None)
    rows = service.visible_organizations(
        session=session, actor=actor, after=after_id, limit=limit + 1
    )
    rows, next_cursor = page_of(rows, limit, lambda r: {"id": str(r.id)})
    return Page[OrganizationPublic](
        items=[OrganizationPublic.model_validate(o) for o in rows], next_cursor=next_cursor
    )


@router.get("/organizations/{organization_id}/sites", response_model=Page[SitePublic])
def list_sites(
    organization_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentActor,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[SitePublic]:
    after = decode_cursor(cursor)
    rows = service.sites_of(
        session=session,
        actor=actor,
        organization_id=organization_id,
        after=_uuid_or_none(after.get("id") if after else None),
        limit=limit + 1,
    )
    rows, next_cursor = page_of(rows, limit, lambda r: {"id": str(r.id)})
    return Page[SitePublic](
        items=[SitePublic.model_validate(s) for s in rows], next_cursor=next_cursor
    )


@router.post("/organizations/{organization_id}/sites", status_code=201, response_model=SitePublic)
def add_site(
    organization_id: uuid.UUID,
    body: SiteCreate,
    request: Request,
    session: SessionDep,
    _admin: AdminActor,
) -> Site:
    site = service.add_site(session=session, organization_id=organization_id, request=body)
    note_target(request.scope, site.id)
    return site


@router.post("/users", status_code=201, response_model=UserPublic)
def create_user(
    body: UserCreate, request: Request, session: SessionDep, _admin: AdminActor
) -> User:
    user = auth_service.create_user(
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
    after = decode_cursor(cursor)
    rows = auth_service.list_users(
        session=session, after=_uuid_or_none(after.get("id") if after else None), limit=limit + 1
    )
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
    return auth_service.deactivate_user(
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
    revoked, ended = auth_service.revoke_device(
        session=session, device_id=device_id, revoked_by=admin.user_id, now=clock()
    )
    return DeviceRevocation(
        device_id=revoked.device_id, revoked_at=revoked.revoked_at, sessions_revoked=ended
    )


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
