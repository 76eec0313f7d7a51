"""The transparency log's public answers (SPEC §6)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from schemas import examples as ex
from schemas.common import example, example_of


class InclusionProof(BaseModel):
    # The example receipt's leaf in the tree of the example checkpoint (RFC 9162 audit path).
    model_config = example(
        {
            "leaf_index": 1310,
            "tree_size": ex.LOG_TREE_SIZE,
            "hashes": ex.INCLUSION[1310],
        }
    )

    leaf_index: int
    tree_size: int
    hashes: list[str]


class ConsistencyProof(BaseModel):
    model_config = example(
        {
            "first": ex.CONSISTENCY_FROM,
            "second": ex.LOG_TREE_SIZE,
            "hashes": ex.CONSISTENCY,
        }
    )

    first: int
    second: int
    hashes: list[str]


class LogKeyPublic(BaseModel):
    model_config = example(
        {
            "vkey": ex.LOG_VKEY,
            "name": ex.LOG_ORIGIN,
            "key_id": ex.LOG_KEY_ID,
            "active": True,
            "created_at": "2026-03-02T01:15:00.402117Z",
        },
        from_attributes=True,
    )

    vkey: str
    name: str
    key_id: str
    active: bool
    created_at: datetime


class LogKeys(BaseModel):
    model_config = example({"keys": [example_of(LogKeyPublic)]})

    keys: list[LogKeyPublic]


class CheckpointPublic(BaseModel):
    model_config = example(
        {
            "id": 5127,
            "tree_size": ex.LOG_TREE_SIZE,
            "root_hash": ex.LOG_ROOT_HASH,
            "origin": ex.LOG_ORIGIN,
            "key_id": ex.LOG_KEY_ID,
            "issued_at": "2026-11-02T03:10:04.551038Z",
            "note": ex.CHECKPOINT_NOTE,
        },
        from_attributes=True,
    )

    id: int
    tree_size: int
    root_hash: str
    origin: str
    key_id: str
    issued_at: datetime
    note: str
