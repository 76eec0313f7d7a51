"""What each role may see, as SQL conditions every list and lookup goes through.

Reads of something outside the caller's scope answer 404 (never 403), so another
organization's container cannot even be shown to exist.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, true
from sqlmodel import col, select

from service.auth.actor import Actor
from service.auth.roles import Role
from service.custody.models import Container, CustodyEvent
from service.manifests.models import Manifest
from service.organizations.models import Organization


def container_scope(actor: Actor) -> ColumnElement[bool]:
    """The containers ``actor`` may read."""
    if actor.role is Role.admin:
        return true()
    org = actor.organization_id
    if actor.role is Role.regulator:
        in_jurisdiction = select(col(Organization.id)).where(
            Organization.jurisdiction == actor.jurisdiction
        )
        return or_(
            Container.origin_organization_id.in_(in_jurisdiction),  # type: ignore[attr-defined]
            Container.holder_organization_id.in_(in_jurisdiction),  # type: ignore[attr-defined]
        )
    if actor.role is Role.hospital_staff:
        return col(Container.origin_organization_id) == org
    if actor.role is Role.driver:
        company_trips = select(col(Manifest.id)).where(Manifest.transporter_organization_id == org)
        on_company_trip = exists().where(
            col(CustodyEvent.container_id) == col(Container.id),
            CustodyEvent.manifest_id.in_(company_trips),  # type: ignore[union-attr]
        )
        return or_(
            col(Container.custodian_organization_id) == org,
            col(Container.holder_organization_id) == org,
            on_company_trip,
        )
    # Storage and disposal operators: what their plant holds or has custody of, and what is on
    # its way to them.
    inbound = select(col(Manifest.id)).where(Manifest.destination_organization_id == org)
    return or_(
        col(Container.custodian_organization_id) == org,
        col(Container.holder_organization_id) == org,
        Container.current_manifest_id.in_(inbound),  # type: ignore[union-attr]
    )
