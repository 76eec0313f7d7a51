"""C2SP tlog-tiles paths and the tiles a tree of a given size has."""

from __future__ import annotations

import pytest

from service.tlog.tiles import (
    TileBuilder,
    TileRequest,
    encode_index,
    parse_index_path,
    parse_level,
    partial_tiles,
    tile_path,
    tile_width,
)
from service.tlog.verifier import leaf_hash


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_paths_as_the_spec_writes_them(index: int, path: str) -> None:
    assert encode_index(index) == path
    assert parse_index_path(path) == TileRequest(index, 256)
    assert parse_index_path(path + ".p/17") == TileRequest(index, 17)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "5",
        "0005",
        "x000/005",
        "x001",
        "001/002",
        "x1/000",
        "005.p/0",
        "005.p/256",
        "005.p/017",
        "005.p/",
        "005/",
        "../005",
        "005.p/3/4",
    ],
)
def test_non_canonical_paths_are_not_tiles(path: str) -> None:
    assert parse_index_path(path) is None


def test_levels() -> None:
    assert [parse_level(x) for x in ("0", "1", "63", "64", "01", "-1", "x", "entries")] == [
        0,
        1,
        63,
        None,
        None,
        None,
        None,
        None,
    ]
    assert tile_path(0, 1234067, 8) == "tile/0/x001/x234/067.p/8"
    assert tile_path("entries", 3) == "tile/entries/003"


def test_a_tree_of_70000_leaves_has_the_tiles_the_spec_lists() -> None:
    """tlog-tiles: 273 full level-0 tiles and a partial one of width 112, one full level-1
    tile and a partial one of width 17, a partial level-2 tile of width 1."""
    size = 70_000
    assert partial_tiles(size) == {0: (0, 273), 1: (1, 1), 2: (2, 0)}
    assert [tile_width(size, 0, i) for i in (0, 272, 273, 274)] == [256, 256, 112, 0]
    assert [tile_width(size, 1, i) for i in (0, 1, 2)] == [256, 17, 0]
    assert tile_width(size, 2, 0) == 1
    assert partial_tiles(256) == {1: (1, 0)}
    assert partial_tiles(0) == {}


def test_builder_refuses_to_resume_from_missing_hashes() -> None:
    builder = TileBuilder(size=0)
    builder.append(leaf_hash(i.to_bytes(2, "big")) for i in range(300))
    tiles = builder.take_changed()
    assert sorted(tiles) == [(0, 0), (0, 1), (1, 0)]
    short = {**tiles, (0, 1): tiles[(0, 1)][:-32]}
    with pytest.raises(ValueError, match="missing hashes"):
        TileBuilder.resume(300, short)
    resumed = TileBuilder.resume(300, tiles)
    assert resumed.root() == builder.root()
