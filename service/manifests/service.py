"""Transfer manifests: creating a trip, its signatures, custody moves and discrepancies.

A manifest's containers are not stored on it: they are the pickup scans that name it, so the
custody chain stays the one source of truth. Its receipts are the destination's receive scans
that follow those pickups. Signatures are append-only rows; a signature is never rewritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, true
from sqlmodel import Session, col, select

from schemas.manifests import (
    ManifestContainer,
    ManifestCreate,
    ManifestPublic,
    ManifestSummary,
    ManifestTotals,
    PartyPublic,
    SignatureCreate,
    SignaturePublic,
)
from service.anomalies.detector import on_manifest_received
from service.auth.actor import Actor
from service.auth.roles import Role
from service.custody.machine import Action, CorrectionReason
from service.custody.models import Container, CustodyEvent
from service.errors import Forbidden, InvalidInput
from service.labels.signing import short_code
from service.manifests.errors import AlreadySigned, ManifestNotFound, ManifestStateConflict
from service.manifests.models import Manifest, ManifestSignature, ManifestState, Party
from service.manifests.numbers import next_number
from service.organizations.models import Organization, OrgKind

# Weight discrepancy (SPEC §4): beyond 10 % (40 CFR 264.72) and, per container, 0.2 kg.
WEIGHT_TOLERANCE = 0.10
WEIGHT_FLOOR_KG = 0.2

_PARTY_KINDS: dict[Party, frozenset[OrgKind]] = {
    Party.origin: frozenset({OrgKind.hospital, OrgKind.storage}),
    Party.transporter: frozenset({OrgKind.transporter}),
    Party.destination: frozenset({OrgKind.storage, OrgKind.disposal}),
}


# ---------------------------------------------------------------------------------------------
# Scope


def manifest_scope(actor: Actor) -> ColumnElement[bool]:
    """The manifests ``actor`` may read: its three parties, regulators of the origin's or the
    destination's jurisdiction, admins."""
    if actor.is_admin:
        return true()
    if actor.is_regulator:
        in_jurisdiction = select(col(Organization.id)).where(
            Organization.jurisdiction == actor.jurisdiction
        )
        return or_(
            col(Manifest.origin_organization_id).in_(in_jurisdiction),
            col(Manifest.destination_organization_id).in_(in_jurisdiction),
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


# ---------------------------------------------------------------------------------------------
# Creating


def create_manifest(
    *, session: Session, actor: Actor, request: ManifestCreate, now: datetime
) -> Manifest:
    """Open a trip. The caller's organization must be one of its parties (admins excepted);
    a driver's company is the transporter."""
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
        number=next_number(session=session, jurisdiction=orgs[Party.origin].jurisdiction, now=now),
        origin_organization_id=wanted[Party.origin],
        transporter_organization_id=transporter_id,
        destination_organization_id=wanted[Party.destination],
        vehicle_plate=request.vehicle_plate,
        driver_user_id=actor.user_id if actor.role is Role.driver else None,
        state=ManifestState.open,
        created_by_user_id=actor.user_id,
        created_at=now,
    )
    session.add(manifest)
    session.flush()
    return manifest


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


# ---------------------------------------------------------------------------------------------
# The trip as the custody chain records it


@dataclass(frozen=True)
class TripLine:
    """One container on a manifest."""

    container: Container
    pickup: CustodyEvent
    pickup_weight_kg: float | None
    collection_weight_kg: float | None
    receipt: CustodyEvent | None
    receipt_weight_kg: float | None


@dataclass(frozen=True)
class Trip:
    lines: list[TripLine]
    # Containers the destination received on this manifest that were never picked up on it.
    unexpected: list[str]


def trip_of(session: Session, manifest: Manifest) -> Trip:
    pickups = session.exec(
        select(CustodyEvent).where(
            CustodyEvent.manifest_id == manifest.id, CustodyEvent.action == Action.pickup
        )
    ).all()
    tagged_receipts = session.exec(
        select(CustodyEvent).where(
            CustodyEvent.manifest_id == manifest.id, CustodyEvent.action == Action.receive
        )
    ).all()
    container_ids = sorted({e.container_id for e in (*pickups, *tagged_receipts)})
    if not container_ids:
        return Trip(lines=[], unexpected=[])
    containers = {
        c.id: c for c in session.exec(select(Container).where(col(Container.id).in_(container_ids)))
    }
    chains: dict[str, list[CustodyEvent]] = {cid: [] for cid in container_ids}
    for event in session.exec(
        select(CustodyEvent)
        .where(col(CustodyEvent.container_id).in_(container_ids))
        .order_by(col(CustodyEvent.container_id), col(CustodyEvent.seq))
    ):
        chains[event.container_id].append(event)

    lines: list[TripLine] = []
    unexpected: list[str] = []
    for cid in container_ids:
        line = _line(manifest, containers[cid], chains[cid])
        if line is not None:
            lines.append(line)
        elif any(
            e.action == Action.receive and e.manifest_id == manifest.id
            for e in _standing(chains[cid])
        ):
            unexpected.append(cid)
    lines.sort(key=lambda line: (line.pickup.occurred_at, line.container.id))
    return Trip(lines=lines, unexpected=unexpected)


def _standing(chain: Sequence[CustodyEvent]) -> list[CustodyEvent]:
    """The events not voided by a ``did_not_occur`` correction, with corrected weights."""
    voided = {
        e.corrects_event_id
        for e in chain
        if e.action == Action.correct and e.correction_reason == CorrectionReason.did_not_occur
    }
    return [e for e in chain if e.action != Action.correct and e.id not in voided]


def _weights(chain: Sequence[CustodyEvent]) -> dict[int, float | None]:
    """Each event's weight after ``incorrect_data`` corrections."""
    weights: dict[int, float | None] = {e.id: e.weight_kg for e in chain if e.id is not None}
    for e in chain:
        if (
            e.action == Action.correct
            and e.correction_reason == CorrectionReason.incorrect_data
            and e.corrects_event_id is not None
            and e.correction_data
            and e.correction_data.get("weight_kg") is not None
        ):
            weights[e.corrects_event_id] = float(e.correction_data["weight_kg"])
    return weights


def _line(manifest: Manifest, container: Container, chain: list[CustodyEvent]) -> TripLine | None:
    standing = _standing(chain)
    weights = _weights(chain)
    pickups = [e for e in standing if e.action == Action.pickup and e.manifest_id == manifest.id]
    if not pickups:
        return None
    pickup = pickups[-1]
    before = [e for e in standing if e.seq < pickup.seq]
    # Collection weight; on a further leg, the weight taken when it last arrived.
    reference = next(
        (
            weights.get(e.id or 0)
            for e in reversed(before)
            if e.action in (Action.collect, Action.receive) and weights.get(e.id or 0) is not None
        ),
        None,
    )
    receipt = next(
        (
            e
            for e in standing
            if e.seq > pickup.seq
            and e.action == Action.receive
            and e.actor_organization_id == manifest.destination_organization_id
            and e.manifest_id in (None, manifest.id)
        ),
        None,
    )
    return TripLine(
        container=container,
        pickup=pickup,
        pickup_weight_kg=weights.get(pickup.id or 0),
        collection_weight_kg=reference,
        receipt=receipt,
        receipt_weight_kg=weights.get(receipt.id or 0) if receipt is not None else None,
    )


# ---------------------------------------------------------------------------------------------
# Discrepancies (pure)


@dataclass(frozen=True)
class WeighedLine:
    container_id: str
    collection_weight_kg: float | None
    received: bool
    receipt_weight_kg: float | None


def _pct(diff: float, base: float) -> float | None:
    return round(100 * diff / base, 2) if base > 0 else None


def compute_discrepancies(
    lines: Iterable[WeighedLine], unexpected: Sequence[str]
) -> dict[str, Any]:
    """Count and weight discrepancies between what left and what arrived (SPEC §4).

    A container's weight is flagged when it differs by more than 10 % *and* more than 0.2 kg;
    the manifest total (over containers weighed at both ends) when it differs by more than 10 %.
    """
    lines = list(lines)
    missing = [line.container_id for line in lines if not line.received]
    flagged: list[dict[str, Any]] = []
    sent_total = received_total = 0.0
    for line in lines:
        if line.collection_weight_kg is None or line.receipt_weight_kg is None:
            continue
        sent, got = line.collection_weight_kg, line.receipt_weight_kg
        sent_total += sent
        received_total += got
        diff = got - sent
        if abs(diff) > WEIGHT_TOLERANCE * sent and abs(diff) > WEIGHT_FLOOR_KG:
            flagged.append(
                {
                    "container_id": line.container_id,
                    "collection_weight_kg": sent,
                    "receipt_weight_kg": got,
                    "difference_kg": round(diff, 3),
                    "difference_pct": _pct(diff, sent),
                }
            )
    total_diff = received_total - sent_total
    total_flagged = abs(total_diff) > WEIGHT_TOLERANCE * sent_total and abs(total_diff) > 1e-9
    return {
        "missing": {"count": len(missing), "container_ids": missing},
        "unexpected": {"count": len(unexpected), "container_ids": list(unexpected)},
        "weight": flagged,
        "total": {
            "collection_weight_kg": round(sent_total, 3),
            "receipt_weight_kg": round(received_total, 3),
            "difference_kg": round(total_diff, 3),
            "difference_pct": _pct(total_diff, sent_total),
            "flagged": total_flagged,
        },
        "tolerance": {"percent": WEIGHT_TOLERANCE * 100, "floor_kg": WEIGHT_FLOOR_KG},
        "any": bool(missing or unexpected or flagged or total_flagged),
    }


def _weighed(trip: Trip) -> list[WeighedLine]:
    return [
        WeighedLine(
            container_id=line.container.id,
            collection_weight_kg=line.collection_weight_kg,
            received=line.receipt is not None,
            receipt_weight_kg=line.receipt_weight_kg,
        )
        for line in trip.lines
    ]


# ---------------------------------------------------------------------------------------------
# Signatures


def signatures_of(session: Session, manifest_id: uuid.UUID) -> list[ManifestSignature]:
    return list(
        session.exec(
            select(ManifestSignature)
            .where(ManifestSignature.manifest_id == manifest_id)
            .order_by(col(ManifestSignature.signed_at))
        )
    )


def sign_manifest(
    *,
    session: Session,
    actor: Actor,
    manifest_id: uuid.UUID,
    request: SignatureCreate,
    now: datetime,
) -> Manifest:
    """Sign for one party. Origin and transporter together dispatch the trip (custody moves to
    the transporter); the destination's signature receives it (custody moves to the
    destination, discrepancies are computed and kept)."""
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
        _receive(session, manifest, trip, now)
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


def _receive(session: Session, manifest: Manifest, trip: Trip, now: datetime) -> None:
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
    manifest.discrepancies = compute_discrepancies(_weighed(trip), trip.unexpected)
    session.add(manifest)
    session.flush()
    on_manifest_received(session=session, manifest=manifest, now=now)


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


# ---------------------------------------------------------------------------------------------
# Reading


def _party(org: Organization | None, org_id: uuid.UUID) -> PartyPublic:
    if org is None:  # a foreign key guarantees it; kept total for the type checker
        return PartyPublic(organization_id=org_id, name="?", kind="?", jurisdiction="?",
                           license_number=None)  # fmt: skip
    return PartyPublic(
        organization_id=org.id,
        name=org.name,
        kind=org.kind,
        jurisdiction=org.jurisdiction,
        license_number=org.license_number,
    )


def manifest_view(session: Session, manifest: Manifest) -> ManifestPublic:
    trip = trip_of(session, manifest)
    containers = [
        ManifestContainer(
            container_id=line.container.id,
            short_code=short_code(line.container.id),
            category=line.container.category,
            epidemic=line.container.epidemic,
            state=line.container.state,
            picked_up_at=line.pickup.occurred_at,
            collection_weight_kg=line.collection_weight_kg,
            pickup_weight_kg=line.pickup_weight_kg,
            received_at=line.receipt.occurred_at if line.receipt else None,
            receipt_weight_kg=line.receipt_weight_kg,
        )
        for line in trip.lines
    ]
    totals = ManifestTotals(
        containers=len(containers),
        received_containers=sum(1 for c in containers if c.received_at is not None),
        collection_weight_kg=round(sum(c.collection_weight_kg or 0 for c in containers), 3),
        receipt_weight_kg=round(sum(c.receipt_weight_kg or 0 for c in containers), 3),
    )
    summary = ManifestSummary.model_validate(manifest)
    return ManifestPublic(
        **summary.model_dump(),
        origin=_party(
            session.get(Organization, manifest.origin_organization_id),
            manifest.origin_organization_id,
        ),
        transporter=_party(
            session.get(Organization, manifest.transporter_organization_id),
            manifest.transporter_organization_id,
        ),
        destination=_party(
            session.get(Organization, manifest.destination_organization_id),
            manifest.destination_organization_id,
        ),
        containers=containers,
        signatures=[SignaturePublic.model_validate(s) for s in signatures_of(session, manifest.id)],
        totals=totals,
        discrepancies=manifest.discrepancies,
    )


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
