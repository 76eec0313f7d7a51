"""What each role may see of the containers, as SQL conditions every list and lookup goes
through.

Reads of something outside the caller's scope answer 404 (never 403), so another
organization's container cannot even be shown to exist.

- admin: everything.
- regulator: containers whose origin, custodian or holder organization is in the regulator's
  jurisdiction.
- hospital staff: containers their hospital produced.
- driver: containers in their company's custody or hands, or on one of its manifests (the
  current one or any trip that carried it).
- storage / disposal operators: containers their plant holds or has custody of, containers
  on a manifest bound for the plant, and containers the plant has handled.

A user without an organization (other than an admin), or a regulator without a jurisdiction,
sees nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, true
from sqlmodel import Session, col, select

from service.auth.actor import Actor
from service.auth.roles import Role
from service.auth.scope import in_jurisdiction
from service.custody.errors import ContainerNotFound
from service.custody.models import Container, CustodyEvent
from service.manifests.models import Manifest


def container_scope(actor: Actor) -> ColumnElement[bool]:
    """The containers ``actor`` may read."""
    if actor.role is Role.admin:
        return true()
    if actor.role is Role.regulator:
        return or_(
            in_jurisdiction(actor, Container.origin_organization_id),
            in_jurisdiction(actor, Container.custodian_organization_id),
            in_jurisdiction(actor, Container.holder_organization_id),
        )
    org = actor.organization_id
    if org is None:
        return false()
    if actor.role is Role.hospital_staff:
        return col(Container.origin_organization_id) == org
    holds = or_(
        col(Container.custodian_organization_id) == org,
        col(Container.holder_organization_id) == org,
    )
    if actor.role is Role.driver:
        company_trips = select(col(Manifest.id)).where(Manifest.transporter_organization_id == org)
        on_company_trip = exists().where(
            col(CustodyEvent.container_id) == col(Container.id),
            col(CustodyEvent.manifest_id).in_(company_trips),
        )
        return or_(holds, col(Container.current_manifest_id).in_(company_trips), on_company_trip)
    if actor.role in (Role.storage_operator, Role.disposal_operator):
        inbound = select(col(Manifest.id)).where(Manifest.destination_organization_id == org)
        handled = exists().where(
            col(CustodyEvent.container_id) == col(Container.id),
            col(CustodyEvent.actor_organization_id) == org,
        )
        return or_(holds, col(Container.current_manifest_id).in_(inbound), handled)
    return false()


def visible_container(session: Session, actor: Actor, container_id: str) -> Container:
    """The container if ``actor`` may see it; 404 otherwise (never reveal that it exists)."""
    container = session.exec(
        select(Container).where(Container.id == container_id, container_scope(actor))
    ).first()
    if container is None:
        raise ContainerNotFound(f"container {container_id} not found")
    return container
