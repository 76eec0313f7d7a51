"""The transparency log's tables.

- ``log_head``: one row, the number of leaves the log holds. The database appends every custody
  event to the log itself (migration ``0003``): a trigger locks this row, gives the event the
  next index and advances it, on SQLite as the event is inserted (SQLite runs one write
  transaction at a time) and on PostgreSQL when the event's transaction commits (a deferred
  constraint trigger), so that log order is commit order and no event escapes the log.
- ``log_leaf``: index -> event and the event's hash as logged (the leaf data). Append-only.
- ``log_tree`` and ``log_tile``: the Merkle tree, integrated from the leaves after they commit,
  stored as C2SP tiles (height 8) that only grow. Proofs and roots are read from them.
- ``log_checkpoint``: every signed checkpoint ever issued. Append-only.
- ``log_key``: every public key the log has signed with (rotation keeps the old ones).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime, utcnow

_BIG = BigInteger().with_variant(Integer(), "sqlite")


class LogHead(SQLModel, table=True):
    __tablename__ = "log_head"

    id: int = Field(default=1, primary_key=True)
    size: int = Field(default=0, sa_type=BigInteger)


class LogLeaf(SQLModel, table=True):
    __tablename__ = "log_leaf"

    log_index: int = Field(sa_column=Column(_BIG, primary_key=True, autoincrement=False))
    # No foreign key on purpose: a leaf outlives an event deleted behind the service's back,
    # and names it.
    event_id: int = Field(sa_column=Column(_BIG, nullable=False, unique=True))
    # The event's hash when it entered the log: the leaf data, 32 bytes as hex.
    event_hash: str = Field(sa_type=String(64))


class LogTree(SQLModel, table=True):
    """How far the tiles go: the integrated tree's size and root. One row (id 1)."""

    __tablename__ = "log_tree"

    id: int = Field(default=1, primary_key=True)
    size: int = Field(default=0, sa_type=BigInteger)
    root_hash: str = Field(sa_type=String(64))


class LogTile(SQLModel, table=True):
    __tablename__ = "log_tile"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogCheckpoint(SQLModel, table=True):
    __tablename__ = "log_checkpoint"

    id: int | None = Field(default=None, sa_column=Column(_BIG, primary_key=True))
    tree_size: int = Field(sa_type=BigInteger, index=True)
    root_hash: str = Field(sa_type=String(64))
    origin: str = Field(sa_type=String(255))
    key_id: str = Field(sa_type=String(8))
    note: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LogKey(SQLModel, table=True):
    __tablename__ = "log_key"

    vkey: str = Field(primary_key=True, sa_type=String(400))
    name: str = Field(sa_type=String(255))
    key_id: str = Field(sa_type=String(8))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
