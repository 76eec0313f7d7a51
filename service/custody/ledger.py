"""The custody ledger: appending chained events, reading a chain back, verifying it, and which
events still stand after corrections.

Events are append-only: nothing here (or anywhere) updates or deletes one; a mistake is fixed
by a ``correct`` event that points at it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from sqlmodel import Session, col, select

from service.custody.chain import (
    HASHED_FIELDS,
    OPTIONAL_HASHED_FIELDS,
    ChainVerdict,
    event_hash,
    verify_chain,
)
from service.custody.machine import Action, CorrectionReason
from service.custody.models import Container, CustodyEvent

# Every column an event's hash may cover (the optional ones only when set).
_FIELDS = (*HASHED_FIELDS, *OPTIONAL_HASHED_FIELDS)


def event_fields(event: CustodyEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _FIELDS}


# Every column of a new event but its id (the database's): what :func:`chain_next` gives.
EVENT_COLUMNS = (*_FIELDS, "hash")

# What a caller may give of a new event (its chain position and hash are the ledger's to set).
_CONTENT = frozenset(_FIELDS) - {"container_id", "seq", "prev_hash"}


def chain_next(container: Container, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a new event chained onto ``container``'s head (``fields`` are its
    content), hash included; moves the container's head onto it."""
    unknown = fields.keys() - _CONTENT
    if unknown:
        raise TypeError(f"not an event's content: {sorted(unknown)}")
    row: dict[str, Any] = {name: fields.get(name) for name in _FIELDS}
    row.update(container_id=container.id, seq=container.last_seq + 1, prev_hash=container.last_hash)
    row["hash"] = event_hash(row)
    container.last_seq = row["seq"]
    container.last_hash = row["hash"]
    container.last_event_at = (
        row["occurred_at"]
        if container.last_event_at is None
        else max(container.last_event_at, row["occurred_at"])
    )
    return row


def append_event(session: Session, container: Container, **fields: Any) -> CustodyEvent:
    """Chain a new event onto ``container`` (locked by the caller) through the session; the
    caller flushes."""
    event = CustodyEvent(**chain_next(container, fields))
    session.add(event)
    session.add(container)
    return event


def chain_of(session: Session, container_id: str) -> list[CustodyEvent]:
    return list(
        session.exec(
            select(CustodyEvent)
            .where(CustodyEvent.container_id == container_id)
            .order_by(col(CustodyEvent.seq))
        )
    )


def verify_container_chain(container: Container, events: Sequence[CustodyEvent]) -> ChainVerdict:
    """Verify the stored chain, and that it ends where the container says its head is."""
    rows = [{**event_fields(e), "id": e.id, "hash": e.hash} for e in events]
    verdict = verify_chain(rows)
    if not verdict.verified:
        return verdict
    if container.last_seq != len(events) or (events and container.last_hash != events[-1].hash):
        return ChainVerdict(
            False,
            events[-1].id if events else None,
            "the chain does not end at the container's recorded head",
        )
    return verdict


class Recorded(Protocol):
    """What the correction rules read of an event: a :class:`CustodyEvent`, or a row of its
    columns (the reports read millions and skip the ORM)."""

    @property
    def id(self) -> int | None: ...
    @property
    def action(self) -> str: ...
    @property
    def weight_kg(self) -> float | None: ...
    @property
    def corrects_event_id(self) -> int | None: ...
    @property
    def correction_reason(self) -> str | None: ...
    @property
    def correction_data(self) -> Mapping[str, Any] | None: ...


E = TypeVar("E", bound=Recorded)


def standing_events(chain: Sequence[E], *, also_voiding: int | None = None) -> list[E]:
    """The events of a chain that still stand: not corrections themselves, and not voided by a
    ``did_not_occur`` correction (nor ``also_voiding``, an event about to be voided)."""
    voided = {
        e.corrects_event_id
        for e in chain
        if e.action == Action.correct and e.correction_reason == CorrectionReason.did_not_occur
    }
    if also_voiding is not None:
        voided.add(also_voiding)
    return [e for e in chain if e.action != Action.correct and e.id not in voided]


def corrected_weights(chain: Sequence[Recorded]) -> dict[int, float | None]:
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
