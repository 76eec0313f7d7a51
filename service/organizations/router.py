"""Administration of organizations and their sites."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from schemas.common import Page
from schemas.organizations import (
    ContactUpdate,
    OrganizationCreate,
    OrganizationPublic,
    SiteCreate,
    SitePublic,
)
from service.anomalies.dependencies import ProfilesDep
from service.audit_context import note_target
from service.auth.dependencies import AdminActor, CurrentActor
from service.deps import SessionDep
from service.organizations import service
from service.organizations.models import Organization, Site
from service.pagination import MAX_LIMIT, a_uuid, page_of, read_cursor

router = APIRouter(prefix="/api/v1", tags=["administration"])


@router.post("/organizations", status_code=201, response_model=OrganizationPublic)
def create_organization(
    body: OrganizationCreate,
    request: Request,
    session: SessionDep,
    profiles: ProfilesDep,
    _admin: AdminActor,
) -> Organization:
    """Register an organization (hospital, transporter, storage or disposal plant, regulator) in a
    jurisdiction, with its license and the waste categories it may take (administrators)."""
    org = service.create_organization(session=session, request=body, profile_exists=profiles.exists)
    note_target(request.scope, org.id)
    return org


@router.patch("/organizations/{organization_id}", response_model=OrganizationPublic)
def update_contacts(
    organization_id: uuid.UUID,
    body: ContactUpdate,
    request: Request,
    session: SessionDep,
    _admin: AdminActor,
) -> Organization:
    """Change an organization's address or phone, which transfer manifests print
    (administrators). Fields left out stay as they are; null clears one."""
    org = service.update_contacts(session=session, organization_id=organization_id, request=body)
    note_target(request.scope, org.id)
    return org


@router.get("/organizations", response_model=Page[OrganizationPublic])
def list_organizations(
    session: SessionDep,
    actor: CurrentActor,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[OrganizationPublic]:
    """The organizations the caller may see: a regulator those of their jurisdiction, anyone
    else all (every organization is a possible trip partner), a page at a time."""
    after = read_cursor(cursor, id=a_uuid)
    rows = service.visible_organizations(
        session=session, actor=actor, after=after[0] if after else None, limit=limit + 1
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
    """An organization's sites (wards, stores, plants) with their positions and radius, a page at a
    time."""
    after = read_cursor(cursor, id=a_uuid)
    rows = service.sites_of(
        session=session,
        actor=actor,
        organization_id=organization_id,
        after=after[0] if after else None,
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
    """Add a site to an organization (administrators): its position and radius are what geofence
    checks compare scans against."""
    site = service.add_site(session=session, organization_id=organization_id, request=body)
    note_target(request.scope, site.id)
    return site
