"""C2SP ``tlog-tiles``: the log as tiles of height 8, their paths, and how they grow.

A tile at level ``L`` with index ``N`` holds up to 256 consecutive hashes of the tree at height
``8 * L``: at level 0 the leaf hashes, above it the roots of *full* tiles of the level below.
Its path is ``tile/<L>/<N>[.p/<W>]``, ``N`` written as 3-digit groups, all but the last
prefixed with ``x`` (1234067 -> ``x001/x234/067``), ``.p/<W>`` for a partial tile of width
``W`` (1..255). Entry bundles (``tile/entries/<N>[.p/<W>]``) hold the leaf data, each entry a
big-endian uint16 length and the bytes.

Tiles only grow: a partial tile's hashes stay the first hashes of every later version of it,
so a partial tile path names immutable bytes too. Pure module.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from service.tlog.merkle import Node
from service.tlog.verifier import (
    EMPTY_ROOT,
    FULL_TILE_BYTES,
    HASH_SIZE,
    HEIGHT,
    WIDTH,
    encode_index,
    node_hash,
    root_of,
    split_hashes,
    tile_of_node,
    tile_path,
    tile_width,
)

__all__ = [
    "FULL_TILE_BYTES",
    "HEIGHT",
    "WIDTH",
    "encode_index",
    "split_hashes",
    "tile_of_node",
    "tile_path",
    "tile_width",
]

MAX_LEVEL = 63
TileKey = tuple[int, int]  # (level, index)


_INDEX = re.compile(r"(?:x\d{3}/)*\d{3}")
_WIDTH = re.compile(r"[1-9]\d{0,2}")


@dataclass(frozen=True)
class TileRequest:
    index: int
    width: int  # WIDTH for a full tile


def parse_index_path(text: str) -> TileRequest | None:
    """Parse ``<N>[.p/<W>]``; None unless it is the one canonical spelling."""
    head, dot, width_text = text.partition(".p/")
    if not _INDEX.fullmatch(head):
        return None
    index = int(head.replace("x", "").replace("/", ""))
    if encode_index(index) != head:  # no superfluous leading groups
        return None
    width = WIDTH
    if dot:
        if not _WIDTH.fullmatch(width_text) or not 1 <= int(width_text) < WIDTH:
            return None
        width = int(width_text)
    return TileRequest(index, width)


def parse_level(text: str) -> int | None:
    if not re.fullmatch(r"0|[1-9]\d?", text) or int(text) > MAX_LEVEL:
        return None
    return int(text)


def partial_tiles(size: int) -> dict[int, TileKey]:
    """The rightmost, partial tile of each level of a tree of ``size`` leaves (levels whose
    partial tile would be empty are left out)."""
    tiles: dict[int, TileKey] = {}
    level = 0
    while (size >> (HEIGHT * level)) > 0:
        width = (size >> (HEIGHT * level)) % WIDTH
        if width:
            tiles[level] = (level, size >> (HEIGHT * (level + 1)))
        level += 1
    return tiles


@dataclass
class TileBuilder:
    """Appends leaf hashes to a tree held as tiles; collects the tiles that changed.

    Start it from the partial tiles of the stored tree (``partial_tiles(size)``, read back as
    bytes), append, then write back what :meth:`take_changed` returns: every tile touched, with
    all its hashes.
    """

    size: int
    partial: dict[int, bytearray] = field(default_factory=dict)
    completed: dict[TileKey, bytes] = field(default_factory=dict)
    touched: set[TileKey] = field(default_factory=set)

    @classmethod
    def resume(cls, size: int, stored: Mapping[TileKey, bytes]) -> TileBuilder:
        partial: dict[int, bytearray] = {}
        for level, key in partial_tiles(size).items():
            data = stored.get(key)
            expected = tile_width(size, *key) * HASH_SIZE
            if data is None or len(data) < expected:
                raise ValueError(f"tile {key} is missing hashes for a tree of size {size}")
            partial[level] = bytearray(data[:expected])
        return cls(size=size, partial=partial)

    def append(self, leaf_hashes: Iterable[bytes]) -> None:
        for value in leaf_hashes:
            self._push(0, value)
            self.size += 1

    def _push(self, level: int, value: bytes) -> None:
        # ``self.size`` is the index of the leaf being appended: at ``level`` it falls in
        # entry ``size >> 8 * level``, of tile ``size >> 8 * (level + 1)``.
        key = (level, self.size >> (HEIGHT * (level + 1)))
        tile = self.partial.setdefault(level, bytearray())
        tile += value
        if len(tile) < FULL_TILE_BYTES:
            self.touched.add(key)
            return
        del self.partial[level]
        self.touched.discard(key)
        self.completed[key] = bytes(tile)
        self._push(level + 1, root_of(split_hashes(self.completed[key])))

    def take_completed(self) -> dict[TileKey, bytes]:
        """The tiles that became full since the last take."""
        done, self.completed = self.completed, {}
        return done

    def take_changed(self) -> dict[TileKey, bytes]:
        """Every tile changed since the last take: the full ones and the partial ones."""
        changed = self.take_completed()
        for level, index in self.touched:
            changed[(level, index)] = bytes(self.partial[level])
        self.touched = set()
        return changed

    def root(self) -> bytes:
        """The root of the tree of ``self.size`` leaves, from the partial tiles alone."""
        return range_root(self.size, self.partial)


def range_root(size: int, partial: Mapping[int, bytes | bytearray]) -> bytes:
    """MTH of a tree of ``size`` leaves from its partial tiles (every perfect subtree of the
    root's decomposition lies in them)."""
    if size == 0:
        return EMPTY_ROOT
    parts: list[bytes] = []
    start = 0
    remaining = size
    while remaining:
        height = remaining.bit_length() - 1
        width = 1 << height
        (tile_level, _), offset, count = tile_of_node(height, start >> height)
        data = partial[tile_level]
        chunk = bytes(data[offset * HASH_SIZE : (offset + count) * HASH_SIZE])
        parts.append(root_of(split_hashes(chunk)))
        start += width
        remaining -= width
    value = parts.pop()
    while parts:
        value = node_hash(parts.pop(), value)
    return value


class TileHashes:
    """The subtree hashes of one tile's entries, computed as asked and remembered:
    ``hash(r, k)`` is the subtree over entries ``[k * 2**r, (k + 1) * 2**r)``."""

    def __init__(self, data: bytes) -> None:
        self.width = len(data) // HASH_SIZE
        self.entries = data
        self.memo: dict[tuple[int, int], bytes] = {}

    def hash(self, height: int, k: int) -> bytes:
        if (k + 1) << height > self.width:
            raise LookupError(f"the tile holds {self.width} hashes")
        if height == 0:
            return self.entries[k * HASH_SIZE : (k + 1) * HASH_SIZE]
        found = self.memo.get((height, k))
        if found is None:
            found = self.memo[(height, k)] = self._compute(height, k)
        return found

    def _compute(self, height: int, k: int) -> bytes:
        # Bottom-up over the 2**height entries (no recursion, the hash inlined: this loop
        # serves every proof), remembering each inner hash on the way.
        sha256, node, memo = hashlib.sha256, b"\x01", self.memo
        first = k << height
        level = split_hashes(self.entries[first * HASH_SIZE : (first + (1 << height)) * HASH_SIZE])
        for r in range(1, height + 1):
            base = first >> r
            known = [memo.get((r, base + i)) for i in range(len(level) // 2)]
            level = [
                known[i] or sha256(node + level[2 * i] + level[2 * i + 1]).digest()
                for i in range(len(level) // 2)
            ]
            for i, value in enumerate(level):
                memo[(r, base + i)] = value
        return level[0]


# The inner hashes of recently read tiles, kept between requests: the top tiles and the right
# edge serve every proof. Keyed by the tile's bytes (a tile's content names its hashes), so a
# tile that grew, or was changed behind the service's back, is never answered from here.
_TILE_HASHES: OrderedDict[bytes, TileHashes] = OrderedDict()
_CACHED_TILES = 512
_cache_lock = threading.Lock()


def _hashes_of(data: bytes) -> TileHashes:
    with _cache_lock:
        found = _TILE_HASHES.get(data)
        if found is not None:
            _TILE_HASHES.move_to_end(data)
            return found
        found = _TILE_HASHES[data] = TileHashes(data)
        while len(_TILE_HASHES) > _CACHED_TILES:
            _TILE_HASHES.popitem(last=False)
        return found


class TileNodes:
    """A :class:`service.tlog.merkle.NodeSource` over tiles that were fetched already."""

    def __init__(self, tiles: Mapping[TileKey, bytes]) -> None:
        self.tiles = tiles
        self._hashes: dict[TileKey, TileHashes] = {}

    def node(self, level: int, index: int) -> bytes:
        key, offset, _ = tile_of_node(level, index)
        hashes = self._hashes.get(key)
        if hashes is None:
            data = self.tiles.get(key)
            if data is None:
                raise LookupError(f"tile {key} is not in the log")
            hashes = self._hashes[key] = _hashes_of(data)
        height = level % HEIGHT
        try:
            return hashes.hash(height, offset >> height)
        except LookupError:
            raise LookupError(f"tile {key} does not hold node ({level}, {index})") from None


def tiles_for(nodes: Iterable[Node]) -> set[TileKey]:
    return {tile_of_node(level, index)[0] for level, index in nodes}
