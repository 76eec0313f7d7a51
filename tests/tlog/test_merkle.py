"""RFC 9162 section 2 against the transparency-dev/merkle vectors: roots, proofs the log
builds, and the verifier's verdicts, the cases that must fail included."""

from __future__ import annotations

import random
from typing import Any

import pytest

from service.tlog import merkle, tiles
from service.tlog.verifier import (
    EMPTY_ROOT,
    ProofError,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from tests.tlog.anchors import anchor


@pytest.fixture(scope="module")
def vectors() -> Any:
    return anchor("merkle-vectors.json")


def _hashes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def test_leaf_hashes_and_roots_of_every_size(vectors: Any) -> None:
    leaves = [bytes.fromhex(x) for x in vectors["leaves_hex"]]
    assert [leaf_hash(x).hex() for x in leaves] == vectors["leaf_hashes_hex"]
    source = merkle.LeafList.of_data(leaves)
    for size, root in vectors["roots_hex"].items():
        n = int(size)
        assert root_of(source.leaves[:n]).hex() == root
        assert merkle.range_hash(merkle.LeafList(source.leaves[:n]), 0, n).hex() == root
    assert EMPTY_ROOT.hex() == vectors["roots_hex"]["0"]


def test_every_inclusion_case_is_decided_as_rfc_9162_says(vectors: Any) -> None:
    wrong = []
    for case in vectors["inclusion"]:
        try:
            verify_inclusion(
                case["leaf_index"],
                case["tree_size"],
                bytes.fromhex(case["leaf_hash"]),
                _hashes(case["proof"]),
                bytes.fromhex(case["root"]),
            )
            accepted = True
        except ProofError:
            accepted = False
        if accepted != case["valid"]:
            wrong.append(f"{case['source']}: {case['desc']}")
    assert not wrong
    assert sum(not c["valid"] for c in vectors["inclusion"]) == 95


def test_every_consistency_case_is_decided_as_rfc_9162_says(vectors: Any) -> None:
    wrong = []
    for case in vectors["consistency"]:
        try:
            verify_consistency(
                case["first"],
                case["second"],
                bytes.fromhex(case["first_root"]),
                bytes.fromhex(case["second_root"]),
                _hashes(case["proof"]),
            )
            accepted = True
        except ProofError:
            accepted = False
        if accepted != case["valid"]:
            wrong.append(f"{case['source']}: {case['desc']}")
    assert not wrong
    assert sum(not c["valid"] for c in vectors["consistency"]) == 95


def test_the_log_builds_exactly_the_published_proofs(vectors: Any) -> None:
    """Every valid proof over the 8 standard leaves is the one the log's generator makes."""
    source = merkle.LeafList.of_data(bytes.fromhex(x) for x in vectors["leaves_hex"])
    roots, leaf_hashes = vectors["roots_hex"], vectors["leaf_hashes_hex"]
    checked = 0
    for case in vectors["inclusion"]:
        n, i = case["tree_size"], case["leaf_index"]
        if (
            case["valid"]
            and case["root"] == roots.get(str(n))
            and case["leaf_hash"] == (leaf_hashes[i] if i < len(leaf_hashes) else None)
        ):
            ranges = merkle.inclusion_ranges(i, n)
            assert [h.hex() for h in merkle.hashes_of(source, ranges)] == case["proof"]
            checked += 1
    for case in vectors["consistency"]:
        m, n = case["first"], case["second"]
        if (
            case["valid"]
            and case["first_root"] == roots.get(str(m))
            and case["second_root"] == roots.get(str(n))
        ):
            ranges = merkle.consistency_ranges(m, n)
            assert [h.hex() for h in merkle.hashes_of(source, ranges)] == case["proof"]
            checked += 1
    assert checked >= 80


def test_inclusion_proof_shapes_that_must_fail() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(5)]
    source = merkle.LeafList(leaves)
    root = root_of(leaves)
    proof = merkle.hashes_of(source, merkle.inclusion_ranges(2, 5))
    verify_inclusion(2, 5, leaves[2], proof, root)
    for index, size, leaf, path, why in [
        (5, 5, leaves[2], proof, "not in a tree"),
        (2, 5, leaves[3], proof, "does not lead"),
        (2, 5, leaves[2], proof[:-1], "shorter"),
        (2, 5, leaves[2], [*proof, root], "longer"),
        (2, 5, leaves[2], [proof[0][:31], *proof[1:]], "32-byte"),
        (2, 4, leaves[2], proof, "does not lead|longer|shorter"),
    ]:
        with pytest.raises(ProofError, match=why):
            verify_inclusion(index, size, leaf, path, root)
    assert root_from_inclusion(0, 1, leaves[0], []) == leaves[0]


def test_consistency_from_nothing_or_backwards_is_refused() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(6)]
    with pytest.raises(ProofError, match="at least one leaf"):
        verify_consistency(0, 6, EMPTY_ROOT, root_of(leaves), [])
    with pytest.raises(ProofError, match="smaller"):
        verify_consistency(6, 3, root_of(leaves), root_of(leaves[:3]), [])
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(3, 3, root_of(leaves[:3]), root_of(leaves[1:4]), [])
    with pytest.raises(ValueError):
        merkle.consistency_ranges(0, 3)
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(3, 3)


@pytest.mark.parametrize("seed", range(3))
def test_tiles_give_the_same_proofs_and_roots_as_the_plain_tree(seed: int) -> None:
    """Trees grown in uneven steps across tile boundaries (256, 65,536): every proof read from
    tiles is the plain tree's, and verifies."""
    rng = random.Random(seed)
    total = rng.choice([300, 4097, 66_000])
    leaves = [leaf_hash(rng.randbytes(32)) for _ in range(total)]
    stored: dict[tiles.TileKey, bytes] = {}
    size = 0
    while size < total:
        builder = tiles.TileBuilder.resume(size, stored)
        builder.append(leaves[size : size + rng.randint(1, 3000)])
        stored.update(builder.take_changed())
        size = builder.size
        assert builder.root() == root_of(leaves[:size])
    source, plain = tiles.TileNodes(stored), merkle.LeafList(leaves)
    for _ in range(40):
        n = rng.randint(1, total)
        i, m = rng.randrange(n), rng.randint(1, n)
        inclusion = merkle.inclusion_ranges(i, n)
        proof = merkle.hashes_of(source, inclusion)
        assert proof == merkle.hashes_of(plain, inclusion)
        verify_inclusion(i, n, leaves[i], proof, root_of(leaves[:n]))
        consistency = merkle.consistency_ranges(m, n)
        proof = merkle.hashes_of(source, consistency)
        assert proof == merkle.hashes_of(plain, consistency)
        verify_consistency(m, n, root_of(leaves[:m]), root_of(leaves[:n]), proof)
    # the tiles a tree of this size has, with the widths tlog-tiles gives them
    for (level, index), data in stored.items():
        assert len(data) // 32 == tiles.tile_width(total, level, index) > 0


def test_node_hash_is_ordered() -> None:
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) != node_hash(b, a)
    assert root_of([a, b]) == node_hash(a, b)
