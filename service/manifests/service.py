"""Transfer manifests: who may read them, creating a trip, its signatures and custody moves.

A manifest's containers are not stored on it: they are the pickup scans that name it (see
:mod:`service.manifests.trip`), so the custody chain stays the one source of truth.
Signatures are append-only rows; a signature is never rewritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, true
from sqlmodel import Session, col, select

from schemas.manifests import Discrepancies, ManifestCreate, SignatureCreate
from service.auth.actor import Actor
from service.auth.models import User
from service.auth.roles import Role
from service.auth.scope import in_jurisdiction
from service.custody.models import Container
from service.errors import Forbidden, InvalidInput
from service.manifests.discrepancies import compute_discrepancies
from service.manifests.errors import AlreadySigned, ManifestNotFound, ManifestStateConflict
from service.manifests.models import Manifest, ManifestSignature, ManifestState, Party
from service.manifests.numbers import next_number
from service.manifests.trip import Trip, trip_of, weighed_lines
from service.organizations.models import Organization, OrgKind

_PARTY_KINDS: dict[Party, frozenset[OrgKind]] = {
    Party.origin: frozenset({OrgKind.hospital, OrgKind.storage}),
    Party.transporter: frozenset({OrgKind.transporter}),
    Party.destination: frozenset({OrgKind.storage, OrgKind.disposal}),
}


def manifest_scope(actor: Actor) -> ColumnElement[bool]:
    """The manifests ``actor`` may read: its three parties, regulators of the origin's or the
    destination's jurisdiction, admins."""
    if actor.is_admin:
        return true()
    if actor.is_regulator:
        return or_(
            in_jurisdiction(actor, Manifest.origin_organization_id),
            in_jurisdiction(actor, Manifest.destination_organization_id),
        )
    org = actor.organization_id
    return or_(
        col(Manifest.origin_organization_id) == org,
        col(Manifest.transporter_organization_id) == org,
        col(Manifest.destination_organization_id) == org,
    )


def visible_manifest(
    session: Session, actor: Actor, manifest_id: uuid.UUID, *, lock: bool = False
) -> Manifest:
    """The manifest if ``actor`` may see it (404 otherwise); ``lock`` row-locks it for a write."""
    query = select(Manifest).where(Manifest.id == manifest_id, manifest_scope(actor))
    if lock:
        query = query.with_for_update()
    manifest = session.exec(query).first()
    if manifest is None:
        raise ManifestNotFound(f"manifest {manifest_id} not found")
    return manifest


def list_manifests(
    *,
    session: Session,
    actor: Actor,
    state: ManifestState | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Manifest]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(Manifest).where(manifest_scope(actor))
    if state is not None:
        query = query.where(Manifest.state == state)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                col(Manifest.created_at) < at,
                and_(col(Manifest.created_at) == at, col(Manifest.id) < last_id),
            )
        )
    query = query.order_by(col(Manifest.created_at).desc(), col(Manifest.id).desc()).limit(limit)
    return list(session.exec(query))


def create_manifest(
    *,
    session: Session,
    actor: Actor,
    request: ManifestCreate,
    now: datetime,
    number: str | None = None,
) -> Manifest:
    """Open a trip. The caller's organization must be one of its parties (admins excepted);
    a driver's company is the transporter. ``number``: a trip recorded elsewhere (captured
    from EPCIS) keeps its number instead of taking the next one."""
    if actor.is_regulator or (actor.organization_id is None and not actor.is_admin):
        raise Forbidden("regulators do not create manifests")
    transporter_id = request.transporter_organization_id
    if actor.role is Role.driver:
        if transporter_id is None:
            transporter_id = actor.organization_id
        elif transporter_id != actor.organization_id:
            raise Forbidden("a driver creates manifests for their own company only")
    if transporter_id is None:
        raise InvalidInput(
            "transporter_organization_id is required unless a driver creates the manifest",
            errors=[
                {
                    "field": "body.transporter_organization_id",
                    "message": "required",
                    "type": "missing",
                }
            ],
        )
    wanted = {
        Party.origin: request.origin_organization_id,
        Party.transporter: transporter_id,
        Party.destination: request.destination_organization_id,
    }
    if not actor.is_admin and actor.organization_id not in wanted.values():
        raise Forbidden("your organization must be a party to the manifest")
    if wanted[Party.origin] == wanted[Party.destination]:
        raise InvalidInput("origin and destination must differ")
    orgs = _parties(session, wanted)

    manifest = Manifest(
        number=number
        or next_number(session=session, jurisdiction=orgs[Party.origin].jurisdiction, now=now),
        origin_organization_id=wanted[Party.origin],
        transporter_organization_id=transporter_id,
        destination_organization_id=wanted[Party.destination],
        vehicle_plate=request.vehicle_plate,
        driver_user_id=actor.user_id if actor.role is Role.driver else None,
        driver_name=request.driver_name or _own_name(session, actor),
        driver_licence_number=request.driver_licence_number,
        transport_permit_number=request.transport_permit_number,
        state=ManifestState.open,
        created_by_user_id=actor.user_id,
        created_at=now,
    )
    session.add(manifest)
    session.flush()
    return manifest


def _own_name(session: Session, actor: Actor) -> str | None:
    """A driver opening their own trip drives it: their display name, if they have one."""
    if actor.role is not Role.driver:
        return None
    user = session.get(User, actor.user_id)
    return user.display_name if user is not None else None


def _parties(session: Session, wanted: dict[Party, uuid.UUID]) -> dict[Party, Organization]:
    errors: list[dict[str, Any]] = []
    found: dict[Party, Organization] = {}
    for party, org_id in wanted.items():
        field = f"body.{party}_organization_id"
        org = session.get(Organization, org_id)
        if org is None:
            errors.append({"field": field, "message": "no such organization", "type": "unknown"})
        elif OrgKind(org.kind) not in _PARTY_KINDS[party]:
            kinds = " or ".join(sorted(_PARTY_KINDS[party]))
            errors.append(
                {"field": field, "message": f"the {party} must be a {kinds}", "type": "kind"}
            )
        else:
            found[party] = org
    if errors:
        raise InvalidInput(
            "the parties do not fit: " + "; ".join(e["message"] for e in errors), errors=errors
        )
    return found


def signatures_of(
    session: Session, manifest_id: uuid.UUID, *, as_of: datetime | None = None
) -> list[ManifestSignature]:
    """The manifest's signatures, or those given by ``as_of``."""
    signed = true() if as_of is None else col(ManifestSignature.signed_at) <= as_of
    return list(
        session.exec(
            select(ManifestSignature)
            .where(ManifestSignature.manifest_id == manifest_id, signed)
            .order_by(col(ManifestSignature.signed_at))
        )
    )


# Told of the discrepancies a destination's signature revealed (the anomaly rules raise them).
OnReceived = Callable[[Session, Manifest, Discrepancies, datetime], object]


def sign_manifest(
    *,
    session: Session,
    actor: Actor,
    manifest_id: uuid.UUID,
    request: SignatureCreate,
    now: datetime,
    on_received: OnReceived | None = None,
) -> Manifest:
    """Sign for one party. Origin and transporter together dispatch the trip (custody moves to
    the transporter); the destination's signature receives it (custody moves to the
    destination, discrepancies are computed, kept and handed to ``on_received``)."""
    manifest = visible_manifest(session, actor, manifest_id, lock=True)
    party = request.party
    party_org = {
        Party.origin: manifest.origin_organization_id,
        Party.transporter: manifest.transporter_organization_id,
        Party.destination: manifest.destination_organization_id,
    }[party]
    if actor.organization_id is None or actor.organization_id != party_org:
        raise Forbidden(f"only the {party} organization signs as {party}")
    signed = {s.party for s in signatures_of(session, manifest.id)}
    if party in signed:
        raise AlreadySigned(f"the {party} has already signed this manifest")

    trip = trip_of(session, manifest)
    if party is Party.destination:
        if manifest.state != ManifestState.in_transit:
            raise ManifestStateConflict(
                f"the manifest is {manifest.state}; the destination signs a manifest in transit"
            )
        if not any(line.receipt is not None for line in trip.lines):
            raise ManifestStateConflict("scan the containers in (receive) before signing")
    else:
        if manifest.state != ManifestState.open:
            raise ManifestStateConflict(
                f"the manifest is {manifest.state}; {party} signs an open manifest"
            )
        if not trip.lines:
            raise ManifestStateConflict("no container has been picked up on this manifest")

    session.add(
        ManifestSignature(
            manifest_id=manifest.id,
            party=party,
            user_id=actor.user_id,
            organization_id=party_org,
            printed_name=request.printed_name,
            signed_at=now,
        )
    )
    signed.add(party)
    if party is Party.destination:
        _receive(session, manifest, trip, now, on_received)
    elif {Party.origin, Party.transporter} <= signed:
        _dispatch(session, manifest, trip, now)
    session.add(manifest)
    session.flush()
    return manifest


def _lock(session: Session, container_ids: Sequence[str]) -> list[Container]:
    if not container_ids:
        return []
    return list(
        session.exec(
            select(Container)
            .where(col(Container.id).in_(container_ids))
            .order_by(col(Container.id))
            .with_for_update()
        )
    )


def _dispatch(session: Session, manifest: Manifest, trip: Trip, now: datetime) -> None:
    manifest.state = ManifestState.in_transit
    manifest.dispatched_at = now
    for container in _lock(session, [line.container.id for line in trip.lines]):
        # Only what is still on the road with the transporter (not already delivered).
        if (
            container.current_manifest_id == manifest.id
            and container.holder_organization_id == manifest.transporter_organization_id
        ):
            container.custodian_organization_id = manifest.transporter_organization_id
            session.add(container)


def _receive(
    session: Session,
    manifest: Manifest,
    trip: Trip,
    now: datetime,
    on_received: OnReceived | None,
) -> None:
    manifest.state = ManifestState.received
    manifest.received_at = now
    received = [line.container.id for line in trip.lines if line.receipt is not None]
    for container in _lock(session, received):
        if (
            container.current_manifest_id == manifest.id
            and container.holder_organization_id == manifest.destination_organization_id
        ):
            container.custodian_organization_id = manifest.destination_organization_id
            session.add(container)
    found = compute_discrepancies(weighed_lines(trip), trip.unexpected)
    manifest.discrepancies = found.model_dump(mode="json")
    session.add(manifest)
    session.flush()
    if on_received is not None:
        on_received(session, manifest, found, now)


def close_manifest(
    *, session: Session, actor: Actor, manifest_id: uuid.UUID, now: datetime
) -> Manifest:
    manifest = visible_manifest(session, actor, manifest_id, lock=True)
    if not actor.is_admin and actor.organization_id != manifest.destination_organization_id:
        raise Forbidden("only the destination (or an admin) closes a manifest")
    if manifest.state != ManifestState.received:
        raise ManifestStateConflict(
            f"the manifest is {manifest.state}; only a received manifest is closed"
        )
    manifest.state = ManifestState.closed
    manifest.closed_at = now
    session.add(manifest)
    session.flush()
    return manifest


def open_manifests_for_pickup(
    session: Session, actor: Actor, holder_organization_id: uuid.UUID
) -> list[Manifest]:
    """The open manifests on which ``actor``'s company may pick up from ``holder``."""
    if actor.role is not Role.driver or actor.organization_id is None:
        return []
    return list(
        session.exec(
            select(Manifest)
            .where(
                Manifest.state == ManifestState.open,
                Manifest.transporter_organization_id == actor.organization_id,
                Manifest.origin_organization_id == holder_organization_id,
            )
            .order_by(col(Manifest.created_at).desc())
        )
    )
