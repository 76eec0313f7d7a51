"""Stored custody events as EPCIS records, in the order they were recorded.

Most custody events give one EPCIS event. A correction gives what EPCIS has for it: the event it
corrects, sent again with an ``errorDeclaration`` (same id: the declaration is not part of the
hash), followed, for ``incorrect_data``, by the corrective event (the event as it should have
been, at the same event time). A second correction of the same event declares the previous
corrective event erroneous in turn. A correction that changes nothing EPCIS carries (only a
note) gives nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from service.custody.machine import Action, CorrectionReason
from service.custody.models import Container, CustodyEvent
from service.epcis.identifiers import Namer
from service.epcis.mapping import (
    Facts,
    Trip,
    declared_erroneous,
    identified,
    object_event,
    offset_of,
)
from service.manifests.models import Manifest
from service.organizations.models import Organization, Site


@dataclass(frozen=True)
class Record:
    """One EPCIS event of the export and the custody event it comes from."""

    custody_event_id: int
    container_id: str
    event: dict[str, Any]


class _Names:
    """The rows the events refer to, loaded in a few queries, and their names."""

    def __init__(self, session: Session, namer: Namer, events: Sequence[CustodyEvent]) -> None:
        self.namer = namer
        self.session = session
        container_ids = {e.container_id for e in events}
        self.containers = {
            c.id: c
            for c in session.exec(select(Container).where(col(Container.id).in_(container_ids)))
        }
        # Receipts that do not name their manifest travel on the last pickup's.
        self.pickups: dict[str, list[CustodyEvent]] = {}
        if any(e.action == Action.receive and e.manifest_id is None for e in events):
            for p in session.exec(
                select(CustodyEvent)
                .where(
                    col(CustodyEvent.container_id).in_(container_ids),
                    CustodyEvent.action == Action.pickup,
                )
                .order_by(col(CustodyEvent.seq))
            ):
                self.pickups.setdefault(p.container_id, []).append(p)
        manifest_ids = {e.manifest_id for e in events if e.manifest_id} | {
            p.manifest_id for ps in self.pickups.values() for p in ps if p.manifest_id
        }
        self.manifests = {
            m.id: m
            for m in session.exec(select(Manifest).where(col(Manifest.id).in_(manifest_ids)))
        }
        org_ids = {e.actor_organization_id for e in events if e.actor_organization_id}
        org_ids |= {c.origin_organization_id for c in self.containers.values()}
        for m in self.manifests.values():
            org_ids |= {
                m.origin_organization_id,
                m.transporter_organization_id,
                m.destination_organization_id,
            }
        self.orgs = {
            o.id: o
            for o in session.exec(select(Organization).where(col(Organization.id).in_(org_ids)))
        }
        site_ids: set[uuid.UUID] = {e.site_id for e in events if e.site_id}
        for e in events:
            if e.correction_data and e.correction_data.get("site_id"):
                site_ids.add(uuid.UUID(str(e.correction_data["site_id"])))
        self.sites = {s.id: s for s in session.exec(select(Site).where(col(Site.id).in_(site_ids)))}

    def site(self, site_id: uuid.UUID | str | None) -> str | None:
        if site_id is None:
            return None
        site = self.sites.get(uuid.UUID(str(site_id)))
        return self.namer.location(site) if site is not None else None

    def trip(self, event: CustodyEvent) -> Trip | None:
        manifest_id = event.manifest_id
        if manifest_id is None and event.action == Action.receive:
            earlier = [p for p in self.pickups.get(event.container_id, []) if p.seq < event.seq]
            manifest_id = earlier[-1].manifest_id if earlier else None
        manifest = self.manifests.get(manifest_id) if manifest_id else None
        if manifest is None:
            return None
        origin = self.orgs[manifest.origin_organization_id]
        return Trip(
            manifest=self.namer.manifest(manifest.number, origin),
            vehicle_plate=manifest.vehicle_plate,
            origin=self.namer.party(origin),
            transporter=self.namer.party(self.orgs[manifest.transporter_organization_id]),
            destination=self.namer.party(self.orgs[manifest.destination_organization_id]),
        )

    def facts(self, event: CustodyEvent) -> Facts:
        container = self.containers[event.container_id]
        actor_org = (
            self.orgs.get(event.actor_organization_id) if event.actor_organization_id else None
        )
        origin = self.orgs.get(container.origin_organization_id)
        registering = event.action == Action.register
        return Facts(
            action=Action(event.action),
            occurred_at=event.occurred_at,
            offset=offset_of(actor_org.jurisdiction if actor_org else None),
            epc=self.namer.container(container.id, origin),
            site=self.site(event.site_id),
            latitude=event.latitude,
            longitude=event.longitude,
            weight_kg=event.weight_kg,
            method=event.method,
            incident=event.incident,
            trip=self.trip(event) if event.action in (Action.pickup, Action.receive) else None,
            category=container.category if registering else None,
            department=container.department if registering else None,
            epidemic=container.epidemic if registering else False,
        )


def records_of(session: Session, namer: Namer, events: Sequence[CustodyEvent]) -> list[Record]:
    """The EPCIS records of ``events`` (ordered as recorded; corrections need the events they
    correct, which are loaded if not given)."""
    events = list(events)
    targets = {e.corrects_event_id for e in events if e.corrects_event_id is not None}
    # Every correction of a corrected event, to know each version it went through.
    history: dict[int, list[CustodyEvent]] = {}
    originals: dict[int, CustodyEvent] = {}
    if targets:
        for row in session.exec(select(CustodyEvent).where(col(CustodyEvent.id).in_(targets))):
            originals[row.id or 0] = row
        for row in session.exec(
            select(CustodyEvent)
            .where(col(CustodyEvent.corrects_event_id).in_(targets))
            .order_by(col(CustodyEvent.id))
        ):
            history.setdefault(row.corrects_event_id or 0, []).append(row)
    names = _Names(session, namer, [*events, *originals.values(), *_flatten(history.values())])
    out: list[Record] = []
    for event in events:
        assert event.id is not None
        if event.action != Action.correct:
            out.append(
                Record(event.id, event.container_id, identified(object_event(names.facts(event))))
            )
            continue
        original = originals.get(event.corrects_event_id or 0)
        if original is None or original.action == Action.correct:
            continue
        out.extend(
            Record(event.id, event.container_id, e)
            for e in _correction(names, original, history.get(original.id or 0, []), event)
        )
    return out


def _flatten(groups: Iterable[list[CustodyEvent]]) -> list[CustodyEvent]:
    return [e for group in groups for e in group]


def _correction(
    names: _Names, original: CustodyEvent, corrections: list[CustodyEvent], this: CustodyEvent
) -> list[dict[str, Any]]:
    """The error declaration (and corrective event) a correction gives."""
    version = names.facts(original)
    for earlier in corrections:
        if earlier.id == this.id:
            break
        if earlier.correction_reason == CorrectionReason.incorrect_data and earlier.correction_data:
            version = version.corrected(
                earlier.correction_data, names.site(earlier.correction_data.get("site_id"))
            )
    before = identified(object_event(version))
    reason = CorrectionReason(this.correction_reason or CorrectionReason.did_not_occur)
    if reason is CorrectionReason.did_not_occur:
        return [
            declared_erroneous(
                before, declared_at=this.occurred_at, reason=reason, corrective_ids=[]
            )
        ]
    data = this.correction_data or {}
    after = identified(object_event(version.corrected(data, names.site(data.get("site_id")))))
    if after["eventID"] == before["eventID"]:
        return []
    declared = declared_erroneous(
        before, declared_at=this.occurred_at, reason=reason, corrective_ids=[after["eventID"]]
    )
    return [declared, after]
