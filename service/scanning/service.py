"""The scan use case: idempotency by ``client_event_id``, the custody write, the anomaly rules,
the stored answer.

A retried scan (same ``client_event_id`` from the same user) gets the stored answer back,
whatever it was, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, insert, select
from sqlmodel import Session

from schemas.custody import AnomalyBrief, ContainerPublic, EventPublic, ScanCreate, ScanResult
from service.anomalies.refusal import flag_refusal
from service.anomalies.scan import on_scan
from service.auth.actor import Actor
from service.custody.errors import ClientEventIdReused, ScanRefusal, StoredRefusal
from service.custody.models import ScanReceipt
from service.observability.metrics import count_replay, count_scan
from service.scanning.record import record_scan

_INSERT_RECEIPT = insert(ScanReceipt.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ScanAnswer:
    status: int  # 201 created, 200 a replay of an earlier success
    body: dict[str, Any]
    duplicate: bool


def submit_scan(
    *,
    session: Session,
    actor: Actor,
    scan: ScanCreate,
    public_keys: Mapping[str, Ed25519PublicKey],
    now: datetime,
    custody_on_receipt_scan: bool = False,
) -> ScanAnswer:
    """Record one scan exactly once. Raises :class:`ScanRefusal` (recorded) for a refusal, and
    :class:`StoredRefusal` (the first answer, recording nothing) for a retry of one."""
    _serialize_on_key(session, scan.client_event_id)
    receipt = session.get(ScanReceipt, scan.client_event_id)
    if receipt is not None:
        if receipt.user_id != actor.user_id:
            raise ClientEventIdReused("this client_event_id was used for another user's scan")
        count_replay(action=scan.action)
        if receipt.status_code >= 400:
            raise StoredRefusal(receipt.body)
        return ScanAnswer(status=200, body=receipt.body, duplicate=True)
    try:
        outcome = record_scan(
            session=session,
            actor=actor,
            scan=scan,
            public_keys=public_keys,
            now=now,
            custody_on_receipt_scan=custody_on_receipt_scan,
            on_refusal=flag_refusal,
        )
    except ScanRefusal as exc:
        session.add(
            ScanReceipt(
                client_event_id=scan.client_event_id,
                user_id=actor.user_id,
                status_code=exc.status,
                body=exc.problem(),
                created_at=now,
            )
        )
        session.flush()
        count_scan(session, action=scan.action, outcome="refused")
        raise
    result = ScanResult(
        event=EventPublic.model_validate(outcome.event),
        container=ContainerPublic.model_validate(outcome.container),
        anomalies=[AnomalyBrief.model_validate(a) for a in on_scan(session, outcome, now=now)],
    )
    body = result.model_dump(mode="json")
    session.flush()
    # A Core insert: nothing in this transaction needs the receipt as an ORM object (a retry
    # in the same transaction, a sync batch's repeated item, reads it back with a query).
    session.connection().execute(
        _INSERT_RECEIPT,
        {
            "client_event_id": scan.client_event_id,
            "user_id": actor.user_id,
            "status_code": 201,
            "body": body,
            "created_at": now,
        },
    )
    count_scan(session, action=scan.action, outcome="accepted")
    return ScanAnswer(status=201, body=body, duplicate=False)


def _serialize_on_key(session: Session, key: str) -> None:
    """On PostgreSQL, make concurrent retries of one scan wait for each other (SQLite
    serializes every write already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
