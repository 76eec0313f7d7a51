"""The log's work: which index each event got, the tree integrated into tiles, checkpoints,
proofs and tiles to serve.

Sequencing is the database's (see :mod:`service.tlog.models`): by the time a custody event's
transaction has committed, the event is a leaf. :func:`log_indexes` reads the indexes, and with
``sequence=True`` (on PostgreSQL) runs the sequencing trigger at once for the events of the
current transaction, for an answer that must name them; the transaction then holds the
``log_head`` row until it commits, so the caller does nothing slow after it.

Integration runs after commit, under its own lock (the ``log_tree`` row), so appending an event
never waits for it: it reads the leaves below the committed ``log_head.size`` (all committed,
and contiguous, since each transaction advanced the head with its own leaves), appends their
hashes to the tiles and records the new size and root.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, text, update
from sqlmodel import Session, col

from service.errors import Conflict, InvalidInput, NotFound
from service.tlog import merkle
from service.tlog.checkpoint import checkpoint_text
from service.tlog.keys import LogOriginChanged, LogSigner
from service.tlog.models import LogCheckpoint, LogHead, LogKey, LogLeaf, LogTile, LogTree
from service.tlog.tiles import (
    WIDTH,
    TileBuilder,
    TileKey,
    TileNodes,
    partial_tiles,
    tiles_for,
)
from service.tlog.verifier import EMPTY_ROOT, leaf_hash

SEQUENCER = "custody_event_enters_log"
INTEGRATE_BATCH = 1 << 16


class LogCorrupted(RuntimeError):
    """The stored log does not hold together (a leaf missing below the head, a short tile)."""


class TreeSizeUnavailable(Conflict):
    code, title = "tree-size-unavailable", "Tree size not in the log"


class NoCheckpoint(NotFound):
    code, title = "no-checkpoint", "No checkpoint yet"


class TileNotFound(NotFound):
    code, title = "tile-not-found", "Tile not found"


# ---------------------------------------------------------------------------------------------
# Sequencing


def sequence_now(session: Session) -> None:
    """Put the events this transaction inserted into the log now rather than at commit
    (PostgreSQL; on SQLite each event entered the log as it was inserted)."""
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            f"SET CONSTRAINTS {SEQUENCER} IMMEDIATE; SET CONSTRAINTS {SEQUENCER} DEFERRED"
        )


# One compiled statement, run on the connection: it sits on every scan's path.
_INDEXES = text("SELECT event_id, log_index FROM log_leaf WHERE event_id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)
_INDEX = text("SELECT event_id, log_index FROM log_leaf WHERE event_id = :id")


def log_indexes(
    session: Session, event_ids: Iterable[int], *, sequence: bool = False
) -> dict[int, int]:
    """Each event's index in the log (events not in it yet are left out)."""
    ids = sorted(set(event_ids))
    if sequence:
        sequence_now(session)
    found: dict[int, int] = {}
    connection = session.connection()
    if len(ids) == 1:  # a scan's answer: no IN list to expand
        rows = connection.execute(_INDEX, {"id": ids[0]})
        found.update((int(event_id), int(index)) for event_id, index in rows)
        return found
    for start in range(0, len(ids), 1000):
        rows = connection.execute(_INDEXES, {"ids": ids[start : start + 1000]})
        found.update((int(event_id), int(index)) for event_id, index in rows)
    return found


def with_log_indexes(session: Session, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Events as answered (``EventPublic`` JSON) with their log indexes, sequencing now the
    ones this transaction just wrote."""
    indexes = log_indexes(session, [int(e["id"]) for e in events], sequence=True)
    return [{**e, "log_index": indexes.get(int(e["id"]))} for e in events]


def head_size(session: Session) -> int:
    return int(session.execute(select(col(LogHead.size)).where(col(LogHead.id) == 1)).scalar_one())


# ---------------------------------------------------------------------------------------------
# The tree, as tiles


_TREE = select(col(LogTree.size), col(LogTree.root_hash)).where(col(LogTree.id) == 1)
_TILE_QUERIES: dict[int, Any] = {}


def _tiles_query(levels: int) -> Any:
    """Tiles of ``levels`` levels in one query: ``level = ? AND idx IN (...)`` per level, which
    walks the primary key on both databases (SQLite scans the whole table for a row-value IN
    list). Built once per number of levels."""
    found = _TILE_QUERIES.get(levels)
    if found is None:
        found = _TILE_QUERIES[levels] = select(
            col(LogTile.level), col(LogTile.idx), col(LogTile.data)
        ).where(
            or_(
                *(
                    and_(
                        col(LogTile.level) == bindparam(f"level{i}"),
                        col(LogTile.idx).in_(bindparam(f"idxs{i}", expanding=True)),
                    )
                    for i in range(levels)
                )
            )
        )
    return found


def tree_state(session: Session) -> tuple[int, bytes]:
    size, root = session.connection().execute(_TREE).one()
    return int(size), bytes.fromhex(root)


def fetch_tiles(session: Session, keys: Iterable[TileKey]) -> dict[TileKey, bytes]:
    wanted = sorted(set(keys))
    tiles: dict[TileKey, bytes] = {}
    connection = session.connection()
    for start in range(0, len(wanted), 500):
        by_level: dict[int, list[int]] = {}
        for level, idx in wanted[start : start + 500]:
            by_level.setdefault(level, []).append(idx)
        params: dict[str, Any] = {}
        for i, (level, idxs) in enumerate(by_level.items()):
            params[f"level{i}"], params[f"idxs{i}"] = level, idxs
        for level, idx, data in connection.execute(_tiles_query(len(by_level)), params):
            tiles[(int(level), int(idx))] = bytes(data)
    return tiles


def integrate(session: Session, *, batch: int = INTEGRATE_BATCH) -> tuple[int, bytes]:
    """Bring the tiles up to every committed leaf; returns the tree's size and root.

    Takes the ``log_tree`` row lock (until the transaction ends): integrations in several
    processes run one after the other, and appends never wait for them.
    """
    size, root = session.execute(
        select(col(LogTree.size), col(LogTree.root_hash))
        .where(col(LogTree.id) == 1)
        .with_for_update()
    ).one()
    size, root = int(size), bytes.fromhex(root)
    target = head_size(session)
    if target == size:
        return size, root
    stored = fetch_tiles(session, partial_tiles(size).values())
    builder = TileBuilder.resume(size, stored)
    existing = set(stored)
    while builder.size < target:
        end = min(target, builder.size + batch)
        hashes = list(
            session.execute(
                select(col(LogLeaf.event_hash))
                .where(col(LogLeaf.log_index) >= builder.size, col(LogLeaf.log_index) < end)
                .order_by(col(LogLeaf.log_index))
            ).scalars()
        )
        if len(hashes) != end - builder.size:
            raise LogCorrupted(f"leaves {builder.size}..{end - 1} are not all in the log")
        builder.append(leaf_hash(bytes.fromhex(h)) for h in hashes)
        _write_tiles(session, builder.take_changed(), existing)
    root = builder.root()
    session.execute(
        update(LogTree).where(col(LogTree.id) == 1).values(size=builder.size, root_hash=root.hex())
    )
    return builder.size, root


def append_leaf_hashes(session: Session, hashes: Iterable[bytes]) -> tuple[int, bytes]:
    """Append leaf hashes straight to the tiles, bypassing ``log_leaf`` (benchmarks that need
    a tree of millions of leaves without the events). Returns the new size and root."""
    size, _ = session.execute(
        select(col(LogTree.size), col(LogTree.root_hash))
        .where(col(LogTree.id) == 1)
        .with_for_update()
    ).one()
    stored = fetch_tiles(session, partial_tiles(int(size)).values())
    builder = TileBuilder.resume(int(size), stored)
    existing = set(stored)
    chunk: list[bytes] = []
    for value in hashes:
        chunk.append(value)
        if len(chunk) == INTEGRATE_BATCH:
            builder.append(chunk)
            _write_tiles(session, builder.take_changed(), existing)
            chunk = []
    builder.append(chunk)
    _write_tiles(session, builder.take_changed(), existing)
    root = builder.root()
    session.execute(
        update(LogTree).where(col(LogTree.id) == 1).values(size=builder.size, root_hash=root.hex())
    )
    return builder.size, root


def _write_tiles(
    session: Session, changed: Mapping[TileKey, bytes], existing: set[TileKey]
) -> None:
    """Insert the new tiles, grow the stored ones; ``existing`` learns the new ones."""
    new = [{"level": k[0], "idx": k[1], "data": v} for k, v in changed.items() if k not in existing]
    grown = [(k, v) for k, v in changed.items() if k in existing]
    existing.update(changed)
    if new:
        session.execute(insert(LogTile), new)
    for (level, idx), data in grown:
        session.execute(
            update(LogTile)
            .where(col(LogTile.level) == level, col(LogTile.idx) == idx)
            .values(data=data)
        )


# ---------------------------------------------------------------------------------------------
# Checkpoints


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    return session.execute(
        select(LogCheckpoint)
        .order_by(col(LogCheckpoint.tree_size).desc(), col(LogCheckpoint.id).desc())
        .limit(1)
    ).scalar_one_or_none()


def issue_checkpoint(session: Session, *, signer: LogSigner, now: datetime) -> LogCheckpoint:
    """Integrate what committed and sign a checkpoint of the tree, unless the latest one
    already says the same thing under the same key (then that one is returned)."""
    size, root = integrate(session)
    latest = latest_checkpoint(session)
    if latest is not None:
        if latest.origin != signer.origin:
            raise LogOriginChanged(
                f"the log's checkpoints are issued as {latest.origin!r}, not {signer.origin!r}"
            )
        if latest.tree_size > size:
            raise LogCorrupted(
                f"the tree has {size} leaves but a checkpoint of {latest.tree_size} was issued"
            )
        if latest.tree_size == size and (
            latest.key_id == signer.key_hex or not _is_active(session, signer)
        ):
            # Nothing new; a process still holding a retired key does not re-sign.
            return latest
    note = signer.sign(checkpoint_text(signer.origin, size, root))
    checkpoint = LogCheckpoint(
        tree_size=size,
        root_hash=root.hex(),
        origin=signer.origin,
        key_id=signer.key_hex,
        note=note,
        issued_at=now,
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def _is_active(session: Session, signer: LogSigner) -> bool:
    query = select(col(LogKey.active)).where(col(LogKey.vkey) == signer.vkey)
    return bool(session.execute(query).scalar_one_or_none())


def covering_checkpoint(
    session: Session, *, signer: LogSigner, covering: int, now: datetime
) -> LogCheckpoint:
    """The latest checkpoint if its tree holds the first ``covering`` leaves; else a new one."""
    latest = latest_checkpoint(session)
    if latest is not None and latest.tree_size >= covering and latest.origin == signer.origin:
        return latest
    checkpoint = issue_checkpoint(session, signer=signer, now=now)
    if checkpoint.tree_size < covering:
        raise TreeSizeUnavailable(
            f"the log holds {checkpoint.tree_size} leaves; no tree of size {covering} yet"
        )
    return checkpoint


def list_checkpoints(session: Session, *, after_id: int | None, limit: int) -> list[LogCheckpoint]:
    query = select(LogCheckpoint).order_by(col(LogCheckpoint.id))
    if after_id is not None:
        query = query.where(col(LogCheckpoint.id) > after_id)
    return list(session.execute(query.limit(limit)).scalars())


# ---------------------------------------------------------------------------------------------
# Proofs


def _read(
    session: Session, range_lists: Sequence[Sequence[merkle.Range]], tree_size: int
) -> list[list[bytes]]:
    """The hashes of each list of subtrees, from the tiles, fetched in one query. A tree the
    tiles do not reach yet is a 409 (the tiles are the integrated tree: nothing beyond it)."""
    nodes = merkle.nodes_for(r for ranges in range_lists for r in ranges)
    source = TileNodes(fetch_tiles(session, tiles_for(nodes)))
    try:
        return [merkle.hashes_of(source, ranges) for ranges in range_lists]
    except LookupError as exc:
        size, _ = tree_state(session)
        if tree_size > size:
            raise TreeSizeUnavailable(
                f"the log's tree holds {size} leaves; no tree of size {tree_size} yet"
            ) from None
        raise LogCorrupted(str(exc)) from exc


def inclusion_proofs(
    session: Session, leaf_indexes: Sequence[int], tree_size: int
) -> dict[int, list[bytes]]:
    """Inclusion proofs of several leaves into one tree, reading each tile once."""
    for index in leaf_indexes:
        if not 0 <= index < tree_size:
            raise InvalidInput(f"leaf_index {index} is not below tree_size {tree_size}")
    indexes = list(dict.fromkeys(leaf_indexes))
    proofs = _read(session, [merkle.inclusion_ranges(i, tree_size) for i in indexes], tree_size)
    return dict(zip(indexes, proofs, strict=True))


def inclusion_proof(session: Session, leaf_index: int, tree_size: int) -> list[bytes]:
    return inclusion_proofs(session, [leaf_index], tree_size)[leaf_index]


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    if first < 1:
        raise InvalidInput("first must be at least 1 (a proof from the empty tree proves nothing)")
    if second < first:
        raise InvalidInput(f"second ({second}) is smaller than first ({first})")
    [proof] = _read(session, [merkle.consistency_ranges(first, second)], second)
    return proof


def root_at(session: Session, tree_size: int) -> bytes:
    """The root of the tree of the first ``tree_size`` leaves, from the tiles."""
    if tree_size == 0:
        return EMPTY_ROOT
    [[root]] = _read(session, [[(0, tree_size)]], tree_size)
    return root


# ---------------------------------------------------------------------------------------------
# Tiles as served (C2SP tlog-tiles)


def tile_bytes(session: Session, level: int, index: int, width: int) -> bytes:
    """A tile of ``width`` hashes (``WIDTH``: the full tile) of the integrated tree."""
    data = fetch_tiles(session, [(level, index)]).get((level, index))
    have = len(data) // 32 if data is not None else 0
    if data is None or have < width:
        raise TileNotFound(f"tile {level}/{index} of width {width} is not in the log")
    return data[: width * 32]


def entry_bundle(session: Session, index: int, width: int) -> bytes:
    """The leaf data of level-0 tile ``index``: each entry a big-endian uint16 length and the
    event's 32-byte hash."""
    size, _ = tree_state(session)
    start = index * WIDTH
    if start + width > size:
        raise TileNotFound(f"entries {start}..{start + width - 1} are not all in the tree")
    hashes = list(
        session.execute(
            select(col(LogLeaf.event_hash))
            .where(col(LogLeaf.log_index) >= start, col(LogLeaf.log_index) < start + width)
            .order_by(col(LogLeaf.log_index))
        ).scalars()
    )
    if len(hashes) != width:
        raise LogCorrupted(f"leaves {start}..{start + width - 1} are not all in the log")
    return b"".join(b"\x00\x20" + bytes.fromhex(h) for h in hashes)
