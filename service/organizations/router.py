"""Administration: organizations, sites and users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from schemas.auth import UserCreate, UserPublic
from schemas.common import Page
from schemas.organizations import OrganizationCreate, OrganizationPublic, SiteCreate, SitePublic
from service.auth import service as auth_service
from service.auth.models import User
from service.deps import AdminActor, CurrentActor, SessionDep
from service.organizations import service
from service.organizations.models import Organization, Site
from service.pagination import MAX_LIMIT, decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1", tags=["administration"])


@router.post("/organizations", status_code=201, response_model=OrganizationPublic)
def create_organization(
    body: OrganizationCreate, session: SessionDep, _admin: AdminActor
) -> Organization:
    return service.create_organization(session=session, request=body)


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
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[OrganizationPublic](
        items=[OrganizationPublic.model_validate(o) for o in rows],
        next_cursor=encode_cursor({"id": str(rows[-1].id)}) if more else None,
    )


@router.post("/organizations/{organization_id}/sites", status_code=201, response_model=SitePublic)
def add_site(
    organization_id: uuid.UUID, body: SiteCreate, session: SessionDep, _admin: AdminActor
) -> Site:
    return service.add_site(session=session, organization_id=organization_id, request=body)


@router.post("/users", status_code=201, response_model=UserPublic)
def create_user(body: UserCreate, session: SessionDep, _admin: AdminActor) -> User:
    return auth_service.create_user(
        session=session,
        username=body.username,
        password=body.password,
        role=body.role,
        organization_id=body.organization_id,
        display_name=body.display_name,
    )


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
