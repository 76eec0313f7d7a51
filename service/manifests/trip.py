"""A trip as the custody chain records it: a manifest's containers are the pickup scans that
name it, its receipts the destination's receive scans that follow them (events voided by a
correction do not count; corrected weights do)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import true
from sqlmodel import Session, col, select

from service.custody.ledger import corrected_weights, standing_events
from service.custody.machine import Action
from service.custody.models import Container, CustodyEvent
from service.manifests.discrepancies import WeighedLine
from service.manifests.models import Manifest


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


def trip_of(session: Session, manifest: Manifest, *, as_of: datetime | None = None) -> Trip:
    """The trip as the chain records it now, or as it stood at ``as_of``: only the events
    recorded (server time) by then, corrections included, count."""
    recorded = true() if as_of is None else col(CustodyEvent.recorded_at) <= as_of
    pickups = session.exec(
        select(CustodyEvent).where(
            CustodyEvent.manifest_id == manifest.id,
            CustodyEvent.action == Action.pickup,
            recorded,
        )
    ).all()
    tagged_receipts = session.exec(
        select(CustodyEvent).where(
            CustodyEvent.manifest_id == manifest.id,
            CustodyEvent.action == Action.receive,
            recorded,
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
        .where(col(CustodyEvent.container_id).in_(container_ids), recorded)
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
            for e in standing_events(chains[cid])
        ):
            unexpected.append(cid)
    lines.sort(key=lambda line: (line.pickup.occurred_at, line.container.id))
    return Trip(lines=lines, unexpected=unexpected)


def _line(manifest: Manifest, container: Container, chain: list[CustodyEvent]) -> TripLine | None:
    standing = standing_events(chain)
    weights = corrected_weights(chain)
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


def weighed_lines(trip: Trip) -> list[WeighedLine]:
    return [
        WeighedLine(
            container_id=line.container.id,
            collection_weight_kg=line.collection_weight_kg,
            received=line.receipt is not None,
            receipt_weight_kg=line.receipt_weight_kg,
        )
        for line in trip.lines
    ]
