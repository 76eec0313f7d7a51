"""The server-side audit (``medwaste verify --all``): recompute everything from the rows.

1. Every container's chain: each event's hash from its content, the links, the head the
   container records.
2. The log: leaves numbered 0, 1, 2 ... with no gap; each leaf's data is still the hash of the
   event it names (an event rewritten after it entered the log shows here, even with its chain
   recomputed); every event is a leaf.
3. The tree: rebuilt from the leaves, tile by tile, it must equal the stored tiles; its root at
   each checkpoint's size must be the root that checkpoint signed, and each checkpoint's
   signature must verify with the log's published keys.

It reads in bounded chunks (a server-side cursor on PostgreSQL) and keeps O(log n) of the tree
in memory, so it runs on a log of millions of events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from service.custody.chain import verify_chain
from service.custody.ledger import event_fields
from service.custody.models import Container, CustodyEvent
from service.tlog.models import LogCheckpoint, LogKey, LogLeaf, LogTree
from service.tlog.service import fetch_tiles
from service.tlog.tiles import TileBuilder, TileKey
from service.tlog.verifier import NoteError, leaf_hash, open_checkpoint, parse_vkey

Progress = Callable[[str, int, int], None]
CHUNK = 5000
MAX_LISTED = 200


@dataclass
class AuditReport:
    containers: int = 0
    events: int = 0
    leaves: int = 0
    checkpoints: int = 0
    tree_size: int = 0
    root_hash: str = ""
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_LISTED:
            self.problems.append(text)
        else:
            self.more_problems += 1

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_all(session: Session, *, progress: Progress | None = None) -> AuditReport:
    report = AuditReport()
    total_events = session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()
    total_leaves = session.execute(select(func.count()).select_from(LogLeaf)).scalar_one()
    total = int(total_events) + int(total_leaves)

    def tick(label: str, done: int) -> None:
        if progress is not None:
            progress(label, done, total)

    _audit_chains(session, report, lambda done: tick("chains", done))
    _audit_log(session, report, lambda done: tick("log", int(total_events) + done))
    return report


def _stream(session: Session, query: Any) -> Iterator[Any]:
    return iter(session.execute(query.execution_options(yield_per=CHUNK)))


def _audit_chains(session: Session, report: AuditReport, tick: Callable[[int], None]) -> None:
    rows = _stream(
        session,
        select(CustodyEvent, col(Container.last_seq), col(Container.last_hash))
        .join(Container, col(Container.id) == col(CustodyEvent.container_id))
        .order_by(col(CustodyEvent.container_id), col(CustodyEvent.seq)),
    )
    done = 0
    for container_id, group in groupby(rows, key=lambda row: row[0].container_id):
        chain = list(group)
        events: list[CustodyEvent] = [row[0] for row in chain]
        last_seq, last_hash = chain[0][1], chain[0][2]
        report.containers += 1
        report.events += len(events)
        verdict = verify_chain({**event_fields(e), "id": e.id, "hash": e.hash} for e in events)
        if not verdict.verified:
            bad = next(e for e in events if e.id == verdict.first_bad_event_id)
            report.problem(
                f"event {bad.id} (container {container_id}, seq {bad.seq}): {verdict.reason}"
            )
        elif last_seq != len(events) or last_hash != events[-1].hash:
            report.problem(
                f"container {container_id}: its record says the chain ends at event {last_seq}, "
                f"the stored chain ends at event {len(events)}"
            )
        done += len(events)
        if done % CHUNK < len(events):
            tick(done)
    tick(done)
    empty = session.execute(
        select(col(Container.id)).where(
            ~select(col(CustodyEvent.id))
            .where(col(CustodyEvent.container_id) == Container.id)
            .exists()
        )
    ).scalars()
    for container_id in empty:
        report.problem(f"container {container_id}: it has no events left")


def _audit_log(session: Session, report: AuditReport, tick: Callable[[int], None]) -> None:
    tree_size, tree_root = session.execute(
        select(col(LogTree.size), col(LogTree.root_hash)).where(col(LogTree.id) == 1)
    ).one()
    report.tree_size, report.root_hash = int(tree_size), tree_root
    checkpoints = list(
        session.execute(
            select(LogCheckpoint).order_by(col(LogCheckpoint.tree_size), col(LogCheckpoint.id))
        ).scalars()
    )
    report.checkpoints = len(checkpoints)
    verifiers = [parse_vkey(k) for k in session.execute(select(col(LogKey.vkey))).scalars()]
    pending = list(checkpoints)

    rows = _stream(
        session,
        select(
            col(LogLeaf.log_index),
            col(LogLeaf.event_id),
            col(LogLeaf.event_hash),
            col(CustodyEvent.hash),
        )
        .outerjoin(CustodyEvent, col(CustodyEvent.id) == col(LogLeaf.event_id))
        .order_by(col(LogLeaf.log_index)),
    )
    builder = TileBuilder(size=0)
    expected = 0
    for index, event_id, logged, current in rows:
        while pending and pending[0].tree_size == builder.size:
            _check_checkpoint(report, pending.pop(0), builder.root(), verifiers)
        if index != expected:
            report.problem(f"log leaf {expected} is missing (the next leaf is {index})")
            expected = index
        if current is None:
            report.problem(f"log leaf {index} names event {event_id}, which is not stored")
        elif current != logged:
            report.problem(
                f"event {event_id}: changed after it entered the log as leaf {index} "
                f"(logged hash {logged[:16]}…, stored hash {current[:16]}…)"
            )
        if builder.size < report.tree_size:
            builder.append([leaf_hash(bytes.fromhex(logged))])
            if len(builder.completed) >= 64:
                _compare_tiles(session, report, builder.take_completed())
        expected += 1
        report.leaves += 1
        if report.leaves % CHUNK == 0:
            tick(report.leaves)
    tick(report.leaves)
    _compare_tiles(session, report, builder.take_changed())
    if builder.size < report.tree_size:
        report.problem(
            f"the stored tree has {report.tree_size} leaves, the log only {builder.size}"
        )
    elif builder.root().hex() != report.root_hash:
        report.problem(f"the stored tree's root at size {builder.size} is not the recomputed one")
    while pending and pending[0].tree_size == builder.size:
        _check_checkpoint(report, pending.pop(0), builder.root(), verifiers)
    for checkpoint in pending:
        report.problem(
            f"checkpoint {checkpoint.id} is of a tree of {checkpoint.tree_size} leaves; "
            f"the rebuilt tree stops at {builder.size}"
        )
    missing = session.execute(
        select(col(CustodyEvent.id))
        .where(
            ~select(col(LogLeaf.log_index)).where(col(LogLeaf.event_id) == CustodyEvent.id).exists()
        )
        .order_by(col(CustodyEvent.id))
        .limit(MAX_LISTED)
    ).scalars()
    for event_id in missing:
        report.problem(f"event {event_id}: it is not in the log")


def _check_checkpoint(
    report: AuditReport,
    checkpoint: LogCheckpoint,
    root: bytes,
    verifiers: Sequence[Any],
) -> None:
    name = f"checkpoint {checkpoint.id} (tree size {checkpoint.tree_size})"
    if checkpoint.root_hash != root.hex():
        report.problem(f"{name}: the rebuilt tree has another root at that size")
        return
    try:
        body, _ = open_checkpoint(checkpoint.note, verifiers)
    except NoteError as exc:
        report.problem(f"{name}: {exc}")
        return
    if body.size != checkpoint.tree_size or body.root != root or body.origin != checkpoint.origin:
        report.problem(f"{name}: the signed note says something else than its record")


def _compare_tiles(session: Session, report: AuditReport, rebuilt: dict[TileKey, bytes]) -> None:
    """Compare rebuilt tiles with the stored ones."""
    stored = fetch_tiles(session, rebuilt)
    for key, data in sorted(rebuilt.items()):
        if stored.get(key) != data:
            report.problem(f"tile {key[0]}/{key[1]}: its hashes are not the rebuilt ones")
