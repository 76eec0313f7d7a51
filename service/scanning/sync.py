"""A phone's offline batch of scans (``/mobile/v1/sync``): each scan on its own.

A refused scan keeps its rejection record (evidence), a failure of one never undoes another, and
a batch resent after a timeout records nothing twice (each scan is idempotent by its
``client_event_id``).

A savepoint per scan costs two statements each, for the rare scan that fails half-way. So the
batch is first judged inside one savepoint for all its scans: a scan is recorded, refused (a
refusal is raised before the scan writes anything but its record of it, which stays), or
answered from its receipt (before it writes anything). If any scan fails in any other way, part
of its work may be written: that savepoint is rolled back and the batch judged again with each
scan in a savepoint of its own, as the only way to undo one scan and keep the others.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlmodel import Session

from schemas.custody import ScanCreate
from service.anomalies.profile import Profiles
from service.auth.actor import Actor
from service.custody.errors import ClientEventIdReused, ScanRefusal, StoredRefusal
from service.errors import DomainError, Forbidden, item_problem, problem_body
from service.scanning.held import ScanBatch
from service.scanning.service import ScanAnswer, submit_scan

log = logging.getLogger(__name__)


def sync_scans(
    *,
    session: Session,
    actor: Actor,
    device_id: str,
    scans: Sequence[Any],
    public_keys: Mapping[str, Ed25519PublicKey],
    now: datetime,
    profiles: Profiles,
    custody_on_receipt_scan: bool = False,
) -> list[dict[str, Any]]:
    """One result per scan, in order: ``created``, ``duplicate`` (with the original event) or
    ``rejected`` (with an RFC 7807 problem).

    A session opened with a device id syncs for that device only (so that revoking a lost phone
    means something, and the device recorded on each event is the one that signed in)."""
    if actor.device_id is not None and device_id != actor.device_id:
        raise Forbidden("this batch names another device than the one this session signed in on")
    items = [_parse(raw, device_id) for raw in scans]

    record = functools.partial(
        submit_scan,
        session=session,
        actor=actor,
        public_keys=public_keys,
        now=now,
        profiles=profiles,
        custody_on_receipt_scan=custody_on_receipt_scan,
    )

    def judge(*, savepoint_each: bool) -> list[dict[str, Any]]:
        batch = ScanBatch.prepare(
            session,
            public_keys,
            [(i.client_event_id, i.qr_payload) for i in items if isinstance(i, ScanCreate)],
        )
        if not savepoint_each:  # one savepoint for all: the receipts go in at the end
            batch.unwritten_receipts = []
        results = [
            item
            if isinstance(item, dict)
            else _one(session, record, item, batch)
            if savepoint_each
            else _one_in_batch(record, item, batch)
            for item in items
        ]
        batch.write_receipts(session.connection())
        return results

    whole = session.begin_nested()
    try:
        results = judge(savepoint_each=False)
    except _Undo:
        whole.rollback()
        return judge(savepoint_each=True)
    except BaseException:
        whole.rollback()
        raise
    whole.commit()
    return results


def _parse(raw: Any, device_id: str) -> ScanCreate | dict[str, Any]:
    """The scan, or its item's answer when it is malformed."""
    client_event_id = raw.get("client_event_id") if isinstance(raw, dict) else None
    if not isinstance(client_event_id, str):
        client_event_id = None
    try:
        scan = ScanCreate.model_validate(raw)
    except ValidationError as exc:
        return _rejected(client_event_id, item_problem(exc, "scan"))
    return scan.model_copy(update={"device_id": device_id})


class _Undo(Exception):
    """A scan failed in a way that may have left part of its work written."""


def _one_in_batch(
    record: Callable[..., ScanAnswer], scan: ScanCreate, batch: ScanBatch
) -> dict[str, Any]:
    """One scan, in the savepoint of the whole batch."""
    try:
        answer = record(scan=scan, batch=batch)
    except (ScanRefusal, StoredRefusal, ClientEventIdReused) as exc:
        # A refusal, recorded; or a retry answered from its receipt, which writes nothing.
        return _rejected(scan.client_event_id, exc.problem())
    except Exception as exc:
        raise _Undo from exc
    return _answered(scan, answer)


def _one(
    session: Session, record: Callable[..., ScanAnswer], scan: ScanCreate, batch: ScanBatch
) -> dict[str, Any]:
    """One scan, in a savepoint of its own."""
    savepoint = session.begin_nested()
    try:
        answer = record(scan=scan, batch=batch)
    except DomainError as exc:
        # A refusal that is evidence stays on record; anything else leaves no trace.
        if exc.keep_changes:
            savepoint.commit()
        else:
            savepoint.rollback()
            batch.forget(scan.client_event_id)
        return _rejected(scan.client_event_id, exc.problem())
    except Exception:
        # A fault in one scan's path must not fail the batch: the phone would resend it
        # forever and its queue never drain. This item is undone and answered as a fault.
        savepoint.rollback()
        batch.forget(scan.client_event_id)
        log.exception("sync: scan %s failed unexpectedly", scan.client_event_id)
        return _rejected(
            scan.client_event_id,
            problem_body(
                500,
                "internal-error",
                "Internal error",
                "this scan could not be recorded because of a fault on the server; "
                "the other scans of the batch were judged on their own",
            ),
        )
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return _answered(scan, answer)


def _answered(scan: ScanCreate, answer: ScanAnswer) -> dict[str, Any]:
    return {
        "client_event_id": scan.client_event_id,
        "status": "duplicate" if answer.duplicate else "created",
        "event": answer.body["event"],
        "error": None,
        "anomalies": answer.body.get("anomalies", []),
    }


def _rejected(client_event_id: str | None, problem: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_event_id": client_event_id,
        "status": "rejected",
        "event": None,
        "error": problem,
        # What the refusal raised (a forged label, a scan of a disposed container, ...).
        "anomalies": problem.get("anomalies", []),
    }
