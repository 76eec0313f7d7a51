"""What the scan path reads before it writes, in as few statements as it can: containers locked
with their previous event's place and time (one query for a whole batch), the receipts of
earlier answers, and label verdicts, each read once per batch of scans.

Containers are read with Core into objects outside the session: the scan path writes them back
with Core (:func:`service.custody.containers.advance`), never through a flush.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, and_, bindparam, func, insert, select, text
from sqlmodel import Session

from schemas.custody import ScanCreate
from service.anomalies.scan import PriorEvent
from service.custody.machine import Action
from service.custody.models import Container, CustodyEvent, ScanReceipt
from service.db import as_loaded
from service.direct_sql import DirectStatement
from service.labels.signing import LabelError, ParsedLabel, verify_label
from service.manifests.models import Manifest
from service.organizations.directory import EPOCH_COLUMN

_CONTAINER = Container.__table__  # type: ignore[attr-defined]
_EVENT = CustodyEvent.__table__  # type: ignore[attr-defined]
_RECEIPT = ScanReceipt.__table__  # type: ignore[attr-defined]
_MANIFEST = Manifest.__table__  # type: ignore[attr-defined]
_CONTAINER_COLUMNS = tuple(c.name for c in _CONTAINER.columns)
_MANIFEST_COLUMNS = tuple(c.name for c in _MANIFEST.columns)

# A container and, in the same row, the time and place of its last event (what the rules read
# of it), locked for the transaction on PostgreSQL (SQLite serializes writers already).
_PRIOR = (
    _EVENT.c.occurred_at.label("prior_occurred_at"),
    _EVENT.c.latitude.label("prior_latitude"),
    _EVENT.c.longitude.label("prior_longitude"),
    _EVENT.c.accuracy_m.label("prior_accuracy_m"),
    _EVENT.c.site_id.label("prior_site_id"),
)
_WITH_PRIOR = _CONTAINER.outerjoin(
    _EVENT, and_(_EVENT.c.container_id == _CONTAINER.c.id, _EVENT.c.seq == _CONTAINER.c.last_seq)
)
_HELD = (
    select(_CONTAINER, *_PRIOR)
    .select_from(_WITH_PRIOR)
    .where(_CONTAINER.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_CONTAINER.c.id)  # rows locked in one order: two batches never deadlock
    .with_for_update(of=_CONTAINER)
)
# One scan's container, as above, and in the same row the receipt of its client_event_id if
# there is one and the directory epoch (what the caller's checks are remembered by): the read a
# single scan makes before it writes, in one statement.
_ONE_SCAN = (
    _RECEIPT.c.user_id.label("receipt_user_id"),
    _RECEIPT.c.status_code.label("receipt_status_code"),
    _RECEIPT.c.body.label("receipt_body"),
    EPOCH_COLUMN,
)
_WITH_RECEIPT = _WITH_PRIOR.outerjoin(_RECEIPT, _RECEIPT.c.client_event_id == bindparam("key"))
_HELD_WITH_RECEIPT = DirectStatement(
    select(_CONTAINER, *_PRIOR, *_ONE_SCAN)
    .select_from(_WITH_RECEIPT)
    .where(_CONTAINER.c.id == bindparam("id"))
    .with_for_update(of=_CONTAINER)
)
# The same for a pickup or a receipt, with the trip's manifest as well (not locked): the one
# the pickup names (``manifest_id``), else the one the container travels on.
_HELD_WITH_TRIP = DirectStatement(
    select(
        _CONTAINER,
        *_PRIOR,
        *_ONE_SCAN,
        *(c.label(f"trip_{c.name}") for c in _MANIFEST.columns),
    )
    .select_from(
        _WITH_RECEIPT.outerjoin(
            _MANIFEST,
            _MANIFEST.c.id
            == func.coalesce(
                bindparam("manifest_id", type_=_MANIFEST.c.id.type),
                _CONTAINER.c.current_manifest_id,
            ),
        )
    )
    .where(_CONTAINER.c.id == bindparam("id"))
    .with_for_update(of=_CONTAINER)
)
_TRIP_ACTIONS = frozenset({Action.pickup, Action.receive})

INSERT_RECEIPT = insert(_RECEIPT)

_RECEIPTS = select(
    _RECEIPT.c.client_event_id, _RECEIPT.c.user_id, _RECEIPT.c.status_code, _RECEIPT.c.body
).where(_RECEIPT.c.client_event_id.in_(bindparam("keys", expanding=True)))

# Concurrent retries of one sync batch's scans wait for each other (PostgreSQL; SQLite serializes
# writers). A batch takes all its keys' locks at once, in one order, so that two batches never
# deadlock.
_KEY_LOCKS = text(
    "SELECT pg_advisory_xact_lock(k) FROM"
    " (SELECT DISTINCT hashtext(key) AS k FROM unnest(CAST(:keys AS text[])) AS key ORDER BY k) s"
)

_CHUNK = 500


@dataclass
class Held:
    """A container locked for this transaction (outside the session), and the time and place
    of its last event (with the fix's accuracy)."""

    container: Container
    previous: PriorEvent | None
    # For a single pickup or receipt, the manifest it names or the container travels on, read
    # with the container (outside the session); None when not read.
    trip: Manifest | None = None


@dataclass(frozen=True)
class Receipt:
    """The answer once given for a ``client_event_id``."""

    user_id: uuid.UUID
    status_code: int
    body: dict[str, Any]


def label_verdict(
    payload: str, public_keys: Mapping[str, Ed25519PublicKey]
) -> ParsedLabel | LabelError:
    """The verified label, or what is wrong with it."""
    try:
        return verify_label(payload, public_keys)
    except LabelError as exc:
        return exc


def load_held(connection: Connection, ids: Iterable[str]) -> dict[str, Held]:
    """The containers of ``ids`` that exist, locked, with their last event's time and place."""
    found: dict[str, Held] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _CHUNK):
        for row in connection.execute(_HELD, {"ids": wanted[start : start + _CHUNK]}):
            held = _held_of(row._mapping)
            found[held.container.id] = held
    return found


def _held_of(values: Mapping[Any, Any]) -> Held:
    container = as_loaded(Container, {name: values[name] for name in _CONTAINER_COLUMNS})
    previous = (
        PriorEvent(
            values["prior_occurred_at"],
            values["prior_latitude"],
            values["prior_longitude"],
            values["prior_accuracy_m"],
            values["prior_site_id"],
        )
        if values["prior_occurred_at"] is not None
        else None
    )
    return Held(container, previous)


def lock_keys(session: Session, keys: Iterable[str]) -> None:
    """Make concurrent retries of these scans wait for each other (PostgreSQL)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    wanted = sorted(set(keys))
    if wanted:
        session.connection().execute(_KEY_LOCKS, {"keys": wanted})


def find_receipts(connection: Connection, keys: Iterable[str]) -> dict[str, Receipt]:
    found: dict[str, Receipt] = {}
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), _CHUNK):
        for key, user_id, status_code, body in connection.execute(
            _RECEIPTS, {"keys": wanted[start : start + _CHUNK]}
        ):
            found[key] = Receipt(user_id, status_code, body)
    return found


def _named_trip(scan: ScanCreate) -> uuid.UUID | None:
    """The manifest a pickup joins; None for a receipt (which ends its container's trip)."""
    return scan.manifest_id if scan.action is Action.pickup else None


@dataclass
class ScanBatch:
    """What the scans of one transaction (a sync batch, or one scan) read once: label verdicts,
    receipts and locked containers, kept up to date as each scan is recorded. A scan whose
    savepoint rolls back calls :meth:`forget`, and what it may have changed is read again."""

    public_keys: Mapping[str, Ed25519PublicKey]
    receipts: dict[str, Receipt] = field(default_factory=dict)
    held: dict[str, Held] = field(default_factory=dict)
    labels: dict[str, ParsedLabel | LabelError] = field(default_factory=dict)
    # Receipts kept for one insert at the end (:meth:`write_receipts`) rather than one each;
    # None: each is inserted as its scan is answered.
    unwritten_receipts: list[dict[str, Any]] | None = None
    # The directory epoch, when :meth:`prepare_one` read it with the container.
    epoch: int | None = None

    @classmethod
    def prepare(
        cls,
        session: Session,
        public_keys: Mapping[str, Ed25519PublicKey],
        scans: Iterable[tuple[str, str]],
    ) -> ScanBatch:
        """Lock and read, in a few statements, what the ``(client_event_id, qr_payload)``
        scans will need."""
        scans = list(scans)
        batch = cls(public_keys)
        keys = [key for key, _ in scans]
        lock_keys(session, keys)
        connection = session.connection()
        batch.receipts = find_receipts(connection, keys)
        ids = set()
        for _, payload in scans:
            label = batch.label(payload)
            if isinstance(label, ParsedLabel):
                ids.add(label.container_id)
        batch.held = load_held(connection, ids)
        return batch

    @classmethod
    def prepare_one(
        cls,
        session: Session,
        public_keys: Mapping[str, Ed25519PublicKey],
        scan: ScanCreate,
    ) -> ScanBatch:
        """The same for a single scan: its container (locked), its receipt, the directory epoch
        and, for a pickup or a receipt, the trip's manifest read in one statement; the receipt
        alone when the label names no container.

        Its key is not locked (a round trip saved on every scan). Concurrent retries of one
        scan queue on their container's row lock, but the one that waited read the receipt
        before the first committed: it fails on the receipt's or the event's unique key, and
        its request runs once more and answers the stored answer
        (:func:`service.deps.in_write_transaction`)."""
        key = scan.client_event_id
        batch = cls(public_keys)
        connection = session.connection()
        label = batch.label(scan.qr_payload)
        trip = scan.action in _TRIP_ACTIONS
        # Read straight on the driver (service.direct_sql): it runs before every scan.
        values = (
            (_HELD_WITH_TRIP if trip else _HELD_WITH_RECEIPT).first(
                connection,
                {"id": label.container_id, "key": key, "manifest_id": _named_trip(scan)},
            )
            if isinstance(label, ParsedLabel)
            else None
        )
        if values is None:
            batch.receipts = find_receipts(connection, [key])
            return batch
        held = _held_of(values)
        if trip and values["trip_id"] is not None:
            held.trip = as_loaded(
                Manifest, {name: values[f"trip_{name}"] for name in _MANIFEST_COLUMNS}
            )
        batch.held[held.container.id] = held
        batch.epoch = int(values["directory_epoch"])
        if values["receipt_status_code"] is not None:
            batch.receipts[key] = Receipt(
                values["receipt_user_id"], values["receipt_status_code"], values["receipt_body"]
            )
        return batch

    def label(self, payload: str) -> ParsedLabel | LabelError:
        """The label's verdict, verified once per payload."""
        verdict = self.labels.get(payload)
        if verdict is None:
            verdict = self.labels[payload] = label_verdict(payload, self.public_keys)
        return verdict

    def write_receipts(self, connection: Connection) -> None:
        """Insert the receipts kept so far, in one statement."""
        if self.unwritten_receipts:
            connection.execute(INSERT_RECEIPT, self.unwritten_receipts)
            self.unwritten_receipts = []

    def forget(self, client_event_id: str) -> None:
        """A scan's savepoint rolled back: whatever it wrote is gone."""
        self.receipts.pop(client_event_id, None)
        self.held.clear()
