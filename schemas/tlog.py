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
            "hashes": [
                "1d712cfb83216c583633c1f2bf964246cf375a3cc2ca255c064ee9a97aeefab2",
                "317b3301943662ca54427ddeaf3c83d6194de505d395be1076a8b35454591270",
                "8d9c28e196aadf8c713ea2891b09d7beaa0a3b37ea7671d51d556bd442717713",
                "4975fcad9e1e7b856d135f1c23068a7a545d04338503c362be913a23055e32e3",
                "0112bdc117e17a4e445ced8455f6c965af518254504582e60da7c7ac41bd7788",
                "ac9db96f0467178ebcadccada0ac45d3c8fe2036ce6cf23c13d5ad094f7e1e61",
            ],
        }
    )

    leaf_index: int
    tree_size: int
    hashes: list[str]


class ConsistencyProof(BaseModel):
    model_config = example(
        {
            "first": 1247,
            "second": ex.LOG_TREE_SIZE,
            "hashes": [
                "c520f5d62352d8259928a09b93e51670da7ab6422435d79bf8ebb63cd72edeb9",
                "4f95581baf1a17a15e2e80b6ebc9c508f149c2cf3afad8af85f5e35019710ff9",
                "da6ef751ce063e38e3abc7a5494045296928b9c811865ed11b362b6e3af638d9",
                "2cdcd6225c14d188765ffe703e7b08d932e35350f9062c60918cc0d1423532ca",
                "6f72df3ab8f429982a657bbdccb1323e9762cb23fae73b8bc2cac46490adf550",
                "2f6cd2e75d82742aa3479df2869f8690f7f2837b0a8263b25cd78a95a17506a7",
                "b0dfc52a7c37871e4bfe5fc0c1225f957ce61cc6aed4ccb41342dfe9798b5d3f",
                "843b143deefffa50277c435f3bd572ece38c70a8e872cf4003d6775333ac497e",
            ],
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
