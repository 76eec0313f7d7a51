"""What a single scan writes besides its event, and the last thing it reads: the answer kept for
its retries (the receipt), the request's audit row, and the event's index in the transparency
log for the answer.

On PostgreSQL, where each statement is a round trip, one statement does all three once the
event is sequenced into the log. On SQLite (no round trips) they stay three plain statements.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, column, insert, select, table
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session
from starlette.types import Scope

from service.audit.middleware import INSERT_ENTRY, entry_in_transaction
from service.audit.models import AuditEntry
from service.custody.models import ScanReceipt
from service.scanning.held import INSERT_RECEIPT, ScanBatch
from service.tlog.service import log_indexes, sequence_now

_RECEIPT = ScanReceipt.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
_LEAF = table("log_leaf", column("event_id"), column("log_index"))


def _binds(target: Any, prefix: str) -> dict[str, BindParameter[Any]]:
    """A bind parameter per column the caller gives (all but a generated key), named apart."""
    return {
        c.name: bindparam(f"{prefix}{c.name}", type_=c.type)
        for c in target.columns
        if c is not target.autoincrement_column
    }


# WITH receipt AS (INSERT …), audit AS (INSERT …) SELECT log_index FROM log_leaf WHERE …:
# PostgreSQL runs both inserts whether or not the query reads them.
_ALL_IN_ONE = (
    select(_LEAF.c.log_index)
    .where(_LEAF.c.event_id == bindparam("event_id"))
    .add_cte(insert(_RECEIPT).values(_binds(_RECEIPT, "receipt_")).cte("receipt"))
    .add_cte(insert(_AUDIT).values(_binds(_AUDIT, "audit_")).cte("audit"))
)


def close_scan(
    session: Session, batch: ScanBatch, scope: Scope, status: int, event_id: int | None
) -> int | None:
    """Write the receipts ``batch`` kept and the request's audit row (answered ``status``) into
    the scan's transaction, and read the index in the log of the event ``event_id`` (sequenced
    now; None for a refusal, which has no event)."""
    entry = entry_in_transaction(session, scope, status)
    receipts, batch.unwritten_receipts = batch.unwritten_receipts or [], []
    if event_id is not None:
        sequence_now(session)
    connection = session.connection()
    if event_id is not None and len(receipts) == 1 and connection.dialect.name == "postgresql":
        params: dict[str, Any] = {"event_id": event_id}
        params.update((f"receipt_{k}", v) for k, v in receipts[0].items())
        params.update((f"audit_{k}", v) for k, v in entry.items())
        index = connection.execute(_ALL_IN_ONE, params).scalar()
        return int(index) if index is not None else None
    if receipts:
        connection.execute(INSERT_RECEIPT, receipts)
    connection.execute(INSERT_ENTRY, entry)
    if event_id is None:
        return None
    return log_indexes(session, [event_id]).get(event_id)
