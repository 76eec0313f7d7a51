"""RFC 9162 section 2.1 proofs, built from the hashes of perfect subtrees.

Pure: the hashes come from a :class:`NodeSource` (the stored tiles, or a list of leaves in
tests). A *node* ``(level, index)`` is the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``. The rules themselves (leaf and node hashes,
which subtrees a proof is made of) live in :mod:`service.tlog.verifier`, the standalone
verifier, so that the log, every offline check and a witness use one definition; this module
adds what the server needs to answer many proofs at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from service.tlog.verifier import (
    NodeSource,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    perfect_nodes,
    range_hash,
    root_of,
)

__all__ = [
    "LeafList",
    "Node",
    "NodeSource",
    "Range",
    "consistency_ranges",
    "hashes_of",
    "inclusion_ranges",
    "nodes_for",
    "perfect_nodes",
    "range_hash",
]

Node = tuple[int, int]
Range = tuple[int, int]


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
