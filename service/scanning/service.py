"""The scan use case: idempotency by ``client_event_id``, the custody write, the anomaly rules,
the stored answer.

A retried scan (same ``client_event_id`` from the same user) gets the stored answer back,
whatever it was, and changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session

from schemas.custody import AnomalyBrief, ContainerPublic, EventPublic, ScanCreate, ScanResult
from service.anomalies.profile import Profiles
from service.anomalies.refusal import flag_refusal
from service.anomalies.scan import on_scan
from service.auth.actor import Actor
from service.custody.errors import ClientEventIdReused, ScanRefusal, StoredRefusal
from service.observability.metrics import count_replay, count_scan
from service.scanning.held import INSERT_RECEIPT, Receipt, ScanBatch
from service.scanning.record import record_scan


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
    profiles: Profiles,
    custody_on_receipt_scan: bool = False,
    batch: ScanBatch | None = None,
) -> ScanAnswer:
    """Record one scan exactly once. Raises :class:`ScanRefusal` (recorded) for a refusal, and
    :class:`StoredRefusal` (the first answer, recording nothing) for a retry of one.

    ``batch`` (a sync batch's, or the scan route's :meth:`ScanBatch.prepare_one`) holds the
    receipts and containers read once; without it, the scan's receipt and container are read
    here, in one statement."""
    key = scan.client_event_id
    if batch is None:
        batch = ScanBatch.prepare_one(session, public_keys, scan)
    receipt = batch.receipts.get(key)
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
            batch=batch,
            now=now,
            custody_on_receipt_scan=custody_on_receipt_scan,
            on_refusal=functools.partial(flag_refusal, profiles=profiles),
        )
    except ScanRefusal as exc:
        _keep_receipt(session, batch, actor, key, exc.status, exc.problem(), now)
        count_scan(session, action=scan.action, outcome="refused")
        raise
    result = ScanResult(
        event=EventPublic.model_validate(outcome.event),
        container=ContainerPublic.model_validate(outcome.container),
        anomalies=[
            AnomalyBrief.model_validate(a)
            for a in on_scan(session, outcome, now=now, profiles=profiles)
        ],
    )
    body = result.model_dump(mode="json")
    _keep_receipt(session, batch, actor, key, 201, body, now)
    count_scan(session, action=scan.action, outcome="accepted")
    return ScanAnswer(status=201, body=body, duplicate=False)


def _keep_receipt(
    session: Session,
    batch: ScanBatch,
    actor: Actor,
    key: str,
    status: int,
    body: dict[str, Any],
    now: datetime,
) -> None:
    """The answer, for a retry: a Core insert (nothing reads the receipt as an ORM object), or
    one row of the batch's insert when the batch writes its receipts at its end."""
    session.flush()  # what the rules or the refusal added through the session goes first
    row = {
        "client_event_id": key,
        "user_id": actor.user_id,
        "status_code": status,
        "body": body,
        "created_at": now,
    }
    if batch.unwritten_receipts is not None:
        batch.unwritten_receipts.append(row)
    else:
        session.connection().execute(INSERT_RECEIPT, row)
    batch.receipts[key] = Receipt(actor.user_id, status, body)
