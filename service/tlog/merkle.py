"""RFC 9162 section 2.1 proofs, built from the hashes of perfect subtrees.

Pure: the hashes come from a :class:`NodeSource` (the stored tiles, or a list of leaves in
tests). A *node* ``(level, index)`` is the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``. The hashing rules themselves (leaf and interior
node hashes) live in :mod:`service.tlog.verifier`, the standalone verifier, so that the log and
every offline check use one definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from service.tlog.verifier import EMPTY_ROOT, leaf_hash, node_hash, root_of

Node = tuple[int, int]
Range = tuple[int, int]


class NodeSource(Protocol):
    def node(self, level: int, index: int) -> bytes:
        """The hash of the perfect subtree ``(level, index)``."""
        ...


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees whose hashes make MTH(D[start:end]), for the ranges that occur in
    RFC 9162 proofs (``start`` aligned on the largest power of two not above the length)."""
    n = end - start
    if n <= 0:
        return []
    if n & (n - 1) == 0 and start % n == 0:
        return [(n.bit_length() - 1, start // n)]
    k = _split(n)
    return perfect_nodes(start, start + k) + perfect_nodes(start + k, end)


def range_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) from perfect subtree hashes."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return source.node(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(range_hash(source, start, start + k), range_hash(source, start + k, end))


def inclusion_ranges(leaf_index: int, tree_size: int) -> list[Range]:
    """The subtrees whose hashes form PATH(leaf_index, D[0:tree_size]), bottom-up
    (RFC 9162 section 2.1.3.1)."""
    if not 0 <= leaf_index < tree_size:
        raise ValueError(f"leaf {leaf_index} is not in a tree of size {tree_size}")
    ranges: list[Range] = []
    start, end = 0, tree_size
    while end - start > 1:
        k = _split(end - start)
        if leaf_index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The subtrees whose hashes form PROOF(first, D[0:second]) (RFC 9162 section 2.1.4.1)."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    ranges: list[Range] = []
    m, start, end, whole = first, 0, second, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                ranges.append((start, end))
            break
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            whole = False
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    """Every perfect subtree the hashes of ``ranges`` are made of (to fetch them at once)."""
    return {node for start, end in ranges for node in perfect_nodes(start, end)}


def hashes_of(source: NodeSource, ranges: Sequence[Range]) -> list[bytes]:
    return [range_hash(source, start, end) for start, end in ranges]


class LeafList:
    """A node source over leaf hashes held in memory (tests, small trees)."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.leaves = list(leaf_hashes)

    @classmethod
    def of_data(cls, data: Iterable[bytes]) -> LeafList:
        return cls([leaf_hash(d) for d in data])

    def node(self, level: int, index: int) -> bytes:
        width = 1 << level
        part = self.leaves[index * width : (index + 1) * width]
        if len(part) != width:
            raise KeyError(f"node ({level}, {index}) is beyond the tree")
        return root_of(part)
