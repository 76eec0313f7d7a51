"""What a single scan writes besides its event, and the last thing it reads: the answer kept for
its retries (the receipt), the request's audit row, and the event's index in the transparency
log for the answer.

On PostgreSQL, where each statement is a round trip, one statement does all three and puts the
event into the log itself (the next leaf, taken as the sequencing trigger takes it: the
``log_head`` row locked until the commit, the event's stored hash; the trigger then leaves the
event alone, migration 0013). On SQLite (no round trips, and each event entered the log as it
was inserted) they stay three plain statements.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, column, exists, func, insert, select, table, update
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session
from starlette.types import Scope

from service.audit.middleware import INSERT_ENTRY, entry_in_transaction
from service.audit.models import AuditEntry
from service.custody.models import CustodyEvent, ScanReceipt
from service.direct_sql import DirectStatement
from service.scanning.held import INSERT_RECEIPT, ScanBatch
from service.tlog.service import log_indexes

_RECEIPT = ScanReceipt.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
_EVENT = CustodyEvent.__table__  # type: ignore[attr-defined]
_HEAD = table("log_head", column("id"), column("size"))
_LEAF = table("log_leaf", column("log_index"), column("event_id"), column("event_hash"))


def _binds(target: Any, prefix: str) -> dict[str, BindParameter[Any]]:
    """A bind parameter per column the caller gives (all but a generated key), named apart."""
    return {
        c.name: bindparam(f"{prefix}{c.name}", type_=c.type)
        for c in target.columns
        if c is not target.autoincrement_column
    }


_EVENT_ID = bindparam("event_id", type_=_EVENT.c.id.type)
_LOGGED = select(_LEAF.c.log_index).where(_LEAF.c.event_id == _EVENT_ID).scalar_subquery()
# The next leaf, for a stored event not in the log yet: log_head's size moves by one (the row
# stays locked until the commit, so indexes follow commit order) ...
_HEAD_MOVED = (
    update(_HEAD)
    .where(
        _HEAD.c.id == 1,
        exists(select(_EVENT.c.id).where(_EVENT.c.id == _EVENT_ID)),
        ~exists(_LOGGED),
    )
    .values(size=_HEAD.c.size + 1)
    .returning((_HEAD.c.size - 1).label("log_index"))
    .cte("head")
)
# ... and the leaf holds the event's stored hash.
_ENTERED = (
    insert(_LEAF)
    .from_select(
        ["log_index", "event_id", "event_hash"],
        select(_HEAD_MOVED.c.log_index, _EVENT.c.id, _EVENT.c.hash).select_from(
            _HEAD_MOVED.join(_EVENT, _EVENT.c.id == _EVENT_ID)
        ),
    )
    .returning(_LEAF.c.log_index)
    .cte("entered")
)
# WITH head AS (UPDATE log_head …), entered AS (INSERT INTO log_leaf …), receipt AS (INSERT …),
# audit AS (INSERT …) SELECT the event's index: PostgreSQL runs every insert whether or not the
# query reads it.
_ALL_IN_ONE = DirectStatement(
    select(func.coalesce(select(_ENTERED.c.log_index).scalar_subquery(), _LOGGED))
    .add_cte(_HEAD_MOVED)
    .add_cte(_ENTERED)
    .add_cte(insert(_RECEIPT).values(_binds(_RECEIPT, "receipt_")).cte("receipt"))
    .add_cte(insert(_AUDIT).values(_binds(_AUDIT, "audit_")).cte("audit"))
)
# SQLite: the same three, one statement each (the event entered the log as it was inserted).
_RECEIPT_ROW = DirectStatement(insert(_RECEIPT).values(_binds(_RECEIPT, "")))
_AUDIT_ROW = DirectStatement(insert(_AUDIT).values(_binds(_AUDIT, "")))
_INDEX_OF = DirectStatement(select(_LEAF.c.log_index).where(_LEAF.c.event_id == _EVENT_ID))


def close_scan(
    session: Session, batch: ScanBatch, scope: Scope, status: int, event_id: int | None
) -> int | None:
    """Write the receipts ``batch`` kept and the request's audit row (answered ``status``) into
    the scan's transaction, and read the index in the log of the event ``event_id`` (put into
    the log now; None for a refusal, which has no event)."""
    entry = entry_in_transaction(session, scope, status)
    receipts, batch.unwritten_receipts = batch.unwritten_receipts or [], []
    connection = session.connection()
    if event_id is not None and len(receipts) == 1:
        # A recorded scan's answer: the statements run straight on the driver.
        if connection.dialect.name == "postgresql":
            params: dict[str, Any] = {"event_id": event_id}
            params.update((f"receipt_{k}", v) for k, v in receipts[0].items())
            params.update((f"audit_{k}", v) for k, v in entry.items())
            index = _ALL_IN_ONE.scalar(connection, params)
        else:
            _RECEIPT_ROW.write(connection, receipts[0])
            _AUDIT_ROW.write(connection, entry)
            index = _INDEX_OF.scalar(connection, {"event_id": event_id})
        return int(index) if index is not None else None
    if receipts:
        connection.execute(INSERT_RECEIPT, receipts)
    connection.execute(INSERT_ENTRY, entry)
    if event_id is None:
        return None
    return log_indexes(session, [event_id], sequence=True).get(event_id)
