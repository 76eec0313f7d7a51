"""Creating and listing organizations and their sites."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlmodel import Session, col, select

from schemas.organizations import ContactUpdate, OrganizationCreate, SiteCreate
from service.auth.actor import Actor
from service.errors import InvalidInput, NotFound
from service.organizations.gs1 import check_gln
from service.organizations.models import Organization, Site


def _checked_gln(gln: str | None, *, field: str) -> None:
    """A GLN whose check digit is wrong is refused before anything is written."""
    if gln is None:
        return
    try:
        check_gln(gln)
    except ValueError as exc:
        raise InvalidInput(
            f"{field}: {exc}", errors=[{"field": field, "message": str(exc), "type": "gln"}]
        ) from None


def create_organization(
    *, session: Session, request: OrganizationCreate, profile_exists: Callable[[str], bool]
) -> Organization:
    """A new organization. ``profile_exists`` says whether an anomaly profile of that name is
    configured (the anomaly domain knows; this one only records the choice)."""
    if request.anomaly_profile is not None and not profile_exists(request.anomaly_profile):
        message = f"no anomaly profile named {request.anomaly_profile!r}"
        raise InvalidInput(
            message,
            errors=[{"field": "body.anomaly_profile", "message": message, "type": "unknown"}],
        )
    _checked_gln(request.gln, field="body.gln")
    org = Organization(**request.model_dump())
    session.add(org)
    session.flush()
    return org


def update_contacts(
    *, session: Session, organization_id: uuid.UUID, request: ContactUpdate
) -> Organization:
    """Set the fields of ``request`` that were sent (null clears one); the rest stay."""
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound(f"organization {organization_id} not found")
    for name, value in request.model_dump(exclude_unset=True).items():
        setattr(org, name, value)
    session.add(org)
    session.flush()
    return org


def add_site(*, session: Session, organization_id: uuid.UUID, request: SiteCreate) -> Site:
    if session.get(Organization, organization_id) is None:
        raise NotFound(f"organization {organization_id} not found")
    _checked_gln(request.gln, field="body.gln")
    site = Site(organization_id=organization_id, **request.model_dump())
    session.add(site)
    session.flush()
    return site


def visible_organizations(
    *, session: Session, actor: Actor, after: uuid.UUID | None, limit: int
) -> list[Organization]:
    """Admins see all; regulators their jurisdiction; others the organizations they deal with
    (every organization is a potential trip partner, so names and licences are shared)."""
    query = select(Organization).order_by(col(Organization.id)).limit(limit)
    if actor.is_regulator:
        query = query.where(Organization.jurisdiction == actor.jurisdiction)
    if after is not None:
        query = query.where(col(Organization.id) > after)
    return list(session.exec(query))


def sites_of(
    *,
    session: Session,
    actor: Actor,
    organization_id: uuid.UUID,
    after: uuid.UUID | None,
    limit: int,
) -> list[Site]:
    """The sites of an organization the actor may see (as :func:`visible_organizations`)."""
    org = session.get(Organization, organization_id)
    if org is None or (actor.is_regulator and org.jurisdiction != actor.jurisdiction):
        raise NotFound(f"organization {organization_id} not found")
    query = (
        select(Site)
        .where(Site.organization_id == organization_id)
        .order_by(col(Site.id))
        .limit(limit)
    )
    if after is not None:
        query = query.where(col(Site.id) > after)
    return list(session.exec(query))
