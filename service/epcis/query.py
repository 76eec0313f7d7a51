"""The EPCIS 2.0 query interface (REST binding, ``GET /events``): a useful subset.

Parameters: ``eventType``, ``GE_eventTime``, ``LT_eventTime``, ``EQ_bizStep``, ``MATCH_anyEPC``,
``EQ_bizLocation`` (lists as repeated parameters or separated by ``|``), ``perPage`` and
``nextPageToken``. Only events of containers the caller may see are returned, in the order
they were recorded; a correction's error declaration and corrective event carry the time of
the event they correct, and are found by it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from service.auth.actor import Actor
from service.custody.machine import Action
from service.custody.models import Container, CustodyEvent
from service.custody.scope import container_scope
from service.epcis.export import Record, records_of
from service.epcis.hashing import canonical_time
from service.epcis.identifiers import Namer, Resolver
from service.epcis.mapping import bare_term

_ACTIONS_OF_STEP = {
    "commissioning": [Action.register],
    "collecting": [Action.collect],
    "storing": [Action.store],
    "departing": [Action.pickup],
    "receiving": [Action.receive],
    "destroying": [Action.dispose],
    "inspecting": [Action.inspect, Action.report_incident],
}


@dataclass(frozen=True)
class EventQuery:
    event_types: Sequence[str] = ()
    ge_event_time: datetime | None = None
    lt_event_time: datetime | None = None
    biz_steps: Sequence[str] = ()
    any_epc: Sequence[str] = ()
    biz_locations: Sequence[str] = ()
    per_page: int = 100
    after: int | None = None


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_after: int | None


def query_events(*, session: Session, actor: Actor, namer: Namer, query: EventQuery) -> EventPage:
    if query.event_types and "ObjectEvent" not in query.event_types:
        return EventPage([], None)
    steps = [bare_term(s, "bizStep") or "" for s in query.biz_steps]
    conditions: list[ColumnElement[bool]] = []
    target = aliased(CustodyEvent)
    subject_time = func.coalesce(target.occurred_at, CustodyEvent.occurred_at)
    if query.ge_event_time is not None:
        conditions.append(subject_time >= query.ge_event_time)
    if query.lt_event_time is not None:
        conditions.append(subject_time < query.lt_event_time)
    if steps:
        actions = [a.value for s in steps for a in _ACTIONS_OF_STEP.get(s, [])]
        conditions.append(func.coalesce(target.action, CustodyEvent.action).in_(actions))
    names = Resolver(session, namer)
    if query.any_epc:
        ids = []
        for epc in query.any_epc:
            name = names.container_name(epc)
            found = names.container(name) if name is not None else None
            if found is not None:
                ids.append(found.id)
        conditions.append(col(CustodyEvent.container_id).in_(ids))
    if query.biz_locations:
        site_ids: list[uuid.UUID] = []
        for uri in query.biz_locations:
            site = names.site(uri)
            if site is not None:
                site_ids.append(site.id)
        conditions.append(
            or_(col(CustodyEvent.site_id).in_(site_ids), col(target.site_id).in_(site_ids))
        )

    out: list[dict[str, Any]] = []
    after = query.after
    batch = query.per_page + 1
    while True:
        # The scope is a subquery of its own: some scopes look at custody events themselves.
        visible = select(col(Container.id)).where(container_scope(actor))
        statement = (
            select(CustodyEvent)
            .outerjoin(target, col(target.id) == col(CustodyEvent.corrects_event_id))
            .where(col(CustodyEvent.container_id).in_(visible), *conditions)
            .order_by(col(CustodyEvent.id))
            .limit(batch)
        )
        if after is not None:
            statement = statement.where(col(CustodyEvent.id) > after)
        rows = list(session.exec(statement))
        if not rows:
            return EventPage(out, None)
        by_event: dict[int, list[Record]] = {}
        for record in records_of(session, namer, rows):
            if _matches(record.event, query, steps):
                by_event.setdefault(record.custody_event_id, []).append(record)
        for row in rows:
            assert row.id is not None
            records = by_event.get(row.id, [])
            if out and len(out) + len(records) > query.per_page:
                return EventPage(out, after)
            out.extend(r.event for r in records)
            after = row.id
        if len(rows) < batch:
            return EventPage(out, None)


def _matches(event: dict[str, Any], query: EventQuery, steps: list[str]) -> bool:
    """The exact test, on the EPCIS event itself (the SQL above narrows, this decides)."""
    when = canonical_time(event["eventTime"])
    if query.ge_event_time is not None and when < canonical_time(query.ge_event_time.isoformat()):
        return False
    if query.lt_event_time is not None and when >= canonical_time(query.lt_event_time.isoformat()):
        return False
    return not (steps and event.get("bizStep") not in steps)
