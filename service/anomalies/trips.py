"""``transit_overdue`` per trip: bags that travel on a manifest are late together, so a late
truck is one anomaly about its manifest, listing its late bags and how late (rules.late_trip);
a bag on no manifest keeps its own. The sweep and the receipt scan both go through here, and
share the dedupe key ``manifest:<id>:transit_overdue:trip``, so neither a second sweep nor the
receipt of the trip's bags adds another."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from service.anomalies.profile import RuleSetting
from service.anomalies.rules import Finding, Kind, late_trip, overdue
from service.anomalies.store import Subject
from service.custody.models import Container
from service.custody.stages import TRANSIT
from service.manifests.models import Manifest


class Holder(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def jurisdiction(self) -> str: ...


@dataclass(frozen=True)
class LateBag:
    """A bag past its transit limit, with the organization whose queue it belongs in (the
    transporter holding it)."""

    container_id: str
    manifest_id: uuid.UUID | None
    jurisdiction: str
    organization_id: uuid.UUID | None
    finding: Finding

    @classmethod
    def held_by(
        cls,
        holder: Holder | None,
        *,
        container_id: str,
        manifest_id: uuid.UUID | None,
        finding: Finding,
    ) -> LateBag:
        return cls(
            container_id,
            manifest_id,
            jurisdiction=holder.jurisdiction if holder else "",
            organization_id=holder.id if holder else None,
            finding=finding,
        )


@dataclass(frozen=True)
class BagInTransit:
    container_id: str
    manifest_id: uuid.UUID | None
    holder_id: uuid.UUID
    epidemic: bool
    since: datetime


def bags_in_transit(
    session: Session,
    *,
    manifest_id: uuid.UUID | None = None,
    started_before: datetime | None = None,
) -> list[BagInTransit]:
    """Bags in transit (on one trip, or whose transit began before a time), and since when:
    one range scan of the (state, stage_since) index, or one lookup by manifest."""
    query = sa_select(
        col(Container.id),
        col(Container.current_manifest_id),
        col(Container.holder_organization_id),
        col(Container.epidemic),
        col(Container.stage_since),
    ).where(col(Container.state).in_(sorted(TRANSIT.states)))
    if manifest_id is not None:
        query = query.where(col(Container.current_manifest_id) == manifest_id)
    if started_before is not None:
        query = query.where(col(Container.stage_since) < started_before)
    return [BagInTransit(*row) for row in session.execute(query).all()]


def late_bags(
    bags: Sequence[BagInTransit], *, now: datetime, setting: Callable[[BagInTransit], RuleSetting]
) -> list[tuple[BagInTransit, Finding]]:
    """The bags past their own profile's transit limit at ``now``."""
    out = []
    for bag in bags:
        hit = overdue(Kind.transit_overdue, since=bag.since, now=now, setting=setting(bag))
        if hit is not None:
            out.append((bag, hit))
    return out


def transit_findings(
    session: Session, late: Sequence[LateBag], *, event_id: int | None = None
) -> list[tuple[Subject, Finding]]:
    """What to store for these late bags: one finding per trip, about its manifest; one per
    bag for the bags on no manifest."""
    found: list[tuple[Subject, Finding]] = []
    trips: dict[uuid.UUID, list[LateBag]] = defaultdict(list)
    for bag in late:
        if bag.manifest_id is None:
            subject = Subject.container(
                bag.container_id,
                jurisdiction=bag.jurisdiction,
                organization_id=bag.organization_id,
                event_id=event_id,
            )
            found.append((subject, bag.finding))
        else:
            trips[bag.manifest_id].append(bag)
    numbers = _manifest_numbers(session, list(trips))
    for manifest_id, bags in trips.items():
        unique = {bag.container_id: bag for bag in bags}
        first = bags[0]
        subject = Subject.manifest(
            manifest_id,
            jurisdiction=first.jurisdiction,
            organization_id=first.organization_id,
            event_id=event_id,
        )
        finding = late_trip(
            manifest_number=numbers.get(manifest_id, ""),
            late_bags=[(cid, bag.finding) for cid, bag in unique.items()],
        )
        found.append((subject, finding))
    return found


def _manifest_numbers(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.execute(
        sa_select(col(Manifest.id), col(Manifest.number)).where(col(Manifest.id).in_(ids))
    ).all()
    return {r[0]: r[1] for r in rows}
