"""Shared steps of the transparency-log tests: custody lives through the API, checkpoints,
what a database superuser could do, and an independent few-line Merkle implementation."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from service.db import utcnow
from service.tlog.models import LogCheckpoint
from service.tlog.service import issue_checkpoint
from tests.conftest import Database, FakeClock
from tests.custody.helpers import Hospital, hospital, register, scan

GUARDS_SQLITE = [
    "custody_event_no_update",
    "custody_event_no_delete",
    "log_leaf_no_update",
    "log_leaf_no_delete",
    "log_checkpoint_no_update",
    "log_checkpoint_no_delete",
    "log_tile_only_grows",
    "log_tile_no_delete",
    "log_head_only_grows",
    "log_head_no_delete",
    "log_tree_only_grows",
    "log_tree_no_delete",
]
GUARDED_PG = ["custody_event", "log_leaf", "log_checkpoint", "log_tile", "log_head", "log_tree"]


def collected(
    client: TestClient, session: Session, clock: FakeClock, count: int = 1
) -> tuple[Hospital, list[dict[str, Any]]]:
    """A hospital and ``count`` containers registered and collected through the API."""
    h = hospital(session, client)
    containers = register(client, h, count=count)
    for c in containers:
        answer = scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=2.5)
        assert answer.status_code == 201, answer.text
    return h, containers


def issue(app: FastAPI, session: Session) -> LogCheckpoint:
    """What the server's checkpoint worker does every few seconds."""
    return issue_checkpoint(session, signer=app.state.log_signer, now=utcnow())


def guards_off(session: Session, database: Database) -> None:
    """What someone with database superuser rights can do: lift the append-only triggers."""
    if database.backend == "postgresql":
        for table in GUARDED_PG:
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        # ... but keep appending events to the log, as the service would.
        session.execute(text("ALTER TABLE custody_event ENABLE TRIGGER custody_event_enters_log"))
    else:
        for trigger in GUARDS_SQLITE:
            session.execute(text(f"DROP TRIGGER {trigger}"))


def mth(leaf_data: list[bytes]) -> bytes:
    """RFC 9162 MTH, written from the definition (independent of the service's code)."""
    if not leaf_data:
        return hashlib.sha256(b"").digest()
    if len(leaf_data) == 1:
        return hashlib.sha256(b"\x00" + leaf_data[0]).digest()
    k = 1 << ((len(leaf_data) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaf_data[:k]) + mth(leaf_data[k:])).digest()


def root_from_path(index: int, size: int, leaf_hash: bytes, path: list[bytes]) -> bytes:
    """The root an inclusion path leads to, recursively from the definition of PATH."""
    if size == 1:
        assert not path, "path too long"
        return leaf_hash
    assert path, "path too short"
    k = 1 << ((size - 1).bit_length() - 1)
    *rest, last = path
    if index < k:
        return hashlib.sha256(b"\x01" + root_from_path(index, k, leaf_hash, rest) + last).digest()
    return hashlib.sha256(
        b"\x01" + last + root_from_path(index - k, size - k, leaf_hash, rest)
    ).digest()


def all_leaf_data(session: Session) -> list[bytes]:
    rows = session.execute(text("SELECT event_hash FROM log_leaf ORDER BY log_index")).scalars()
    return [bytes.fromhex(h) for h in rows]
