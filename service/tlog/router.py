"""The public transparency log (SPEC §6): no login, since hashes reveal no content.

``/api/v1/log`` is also the log's C2SP ``tlog-tiles`` prefix: ``/api/v1/log/checkpoint`` is
both the SPEC's latest checkpoint and the tiles' ``<prefix>/checkpoint``, and the tiles are at
``/api/v1/log/tile/<L>/<N>[.p/<W>]`` and ``/api/v1/log/tile/entries/<N>[.p/<W>]``, so an
existing tile-aware witness or monitor reads the log given that one URL.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from schemas import examples as ex
from schemas.common import Page
from schemas.tlog import CheckpointPublic, ConsistencyProof, InclusionProof, LogKeyPublic, LogKeys
from service.deps import SessionDep
from service.pagination import MAX_LIMIT, an_int, page_of, read_cursor
from service.tlog import service
from service.tlog.keys import active_log_key, all_log_keys
from service.tlog.tiles import parse_index_path, parse_level

router = APIRouter(prefix="/api/v1/log", tags=["transparency log"])

TEXT = "text/plain; charset=utf-8"
OCTETS = "application/octet-stream"
# Tiles and entry bundles never change once served (a partial tile's path names its width).
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
# The latest checkpoint changes every few seconds.
FRESH = {"Cache-Control": "no-cache"}
_CHECKPOINT_200: dict[int | str, dict[str, object]] = {
    200: {
        "description": "A C2SP tlog-checkpoint (origin, tree size, base64 root hash) in a "
        "C2SP signed note (Ed25519), as UTF-8 text",
        "content": {"text/plain": {"example": ex.CHECKPOINT_NOTE}},
    }
}
_KEY_200: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The C2SP signed-note verifier key, one line of UTF-8 text",
        "content": {"text/plain": {"example": ex.LOG_VKEY + "\n"}},
    }
}
_TILE_200: dict[int | str, dict[str, object]] = {
    200: {
        "description": "A C2SP tlog-tiles hash tile: the concatenated 32-byte hashes of up to 256 "
        "nodes of one level (binary, immutable)",
        "content": {OCTETS: {}},
    }
}
_ENTRIES_200: dict[int | str, dict[str, object]] = {
    200: {
        "description": "A C2SP tlog-tiles entry bundle: up to 256 leaves, each a big-endian "
        "16-bit length and the leaf's data (an event's 32-byte hash) (binary, immutable)",
        "content": {OCTETS: {}},
    }
}


@router.get("/checkpoint", response_class=Response, responses=_CHECKPOINT_200)
def latest_checkpoint(session: SessionDep) -> Response:
    """The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)."""
    checkpoint = service.latest_checkpoint(session)
    if checkpoint is None:
        raise service.NoCheckpoint("the log has not issued a checkpoint yet")
    return Response(checkpoint.note, media_type=TEXT, headers=FRESH)


@router.get("/key", response_class=Response, responses=_KEY_200)
def log_key(session: SessionDep) -> Response:
    """The verifier key of the key signing checkpoints now: ``name+hex8(key id)+base64``."""
    key = active_log_key(session)
    if key is None:
        raise service.NoCheckpoint("the log has no signing key yet")
    return Response(key.vkey + "\n", media_type=TEXT, headers=FRESH)


@router.get("/keys", response_model=LogKeys)
def log_keys(session: SessionDep) -> LogKeys:
    """Every key the log has signed with (older checkpoints verify with the older keys)."""
    return LogKeys(keys=[LogKeyPublic.model_validate(k) for k in all_log_keys(session)])


@router.get("/checkpoints", response_model=Page[CheckpointPublic])
def checkpoints(
    session: SessionDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[CheckpointPublic]:
    """Every checkpoint issued, oldest first: a witness proves any two consistent."""
    after = read_cursor(cursor, id=an_int)
    rows, next_cursor = page_of(
        service.list_checkpoints(session, after_id=after[0] if after else None, limit=limit + 1),
        limit,
        lambda c: {"id": c.id},
    )
    return Page[CheckpointPublic](
        items=[CheckpointPublic.model_validate(c) for c in rows], next_cursor=next_cursor
    )


@router.get("/proof/inclusion", response_model=InclusionProof)
def inclusion(
    session: SessionDep,
    leaf_index: Annotated[int, Query(ge=0, le=2**62)],
    tree_size: Annotated[int, Query(ge=1, le=2**62)],
) -> InclusionProof:
    """RFC 9162 inclusion proof of a leaf in the tree of ``tree_size`` leaves."""
    proof = service.inclusion_proof(session, leaf_index, tree_size)
    return InclusionProof(
        leaf_index=leaf_index, tree_size=tree_size, hashes=[h.hex() for h in proof]
    )


@router.get("/proof/consistency", response_model=ConsistencyProof)
def consistency(
    session: SessionDep,
    first: Annotated[int, Query(ge=1, le=2**62)],
    second: Annotated[int, Query(ge=1, le=2**62)],
) -> ConsistencyProof:
    """RFC 9162 consistency proof: the tree of ``second`` leaves extends the one of ``first``."""
    proof = service.consistency_proof(session, first, second)
    return ConsistencyProof(first=first, second=second, hashes=[h.hex() for h in proof])


# Declared before /tile/{level}/... so that "entries" is not taken for a level.
@router.get("/tile/entries/{path:path}", response_class=Response, responses=_ENTRIES_200)
def entry_bundle(path: str, session: SessionDep) -> Response:
    """The leaf data (event hashes) of a level-0 tile, as a C2SP entry bundle."""
    request = parse_index_path(path)
    if request is None:
        raise service.TileNotFound(f"not a tile path: entries/{path}")
    data = service.entry_bundle(session, request.index, request.width)
    return Response(data, media_type=OCTETS, headers=IMMUTABLE)


@router.get("/tile/{level}/{path:path}", response_class=Response, responses=_TILE_200)
def tile(level: str, path: str, session: SessionDep) -> Response:
    """A C2SP tile: up to 256 hashes of the tree at height 8 * level."""
    parsed_level, request = parse_level(level), parse_index_path(path)
    if parsed_level is None or request is None:
        raise service.TileNotFound(f"not a tile path: {level}/{path}")
    data = service.tile_bytes(session, parsed_level, request.index, request.width)
    return Response(data, media_type=OCTETS, headers=IMMUTABLE)
