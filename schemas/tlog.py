"""The transparency log's public answers (SPEC §6)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class InclusionProof(BaseModel):
    leaf_index: int
    tree_size: int
    hashes: list[str]


class ConsistencyProof(BaseModel):
    first: int
    second: int
    hashes: list[str]


class LogKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    vkey: str
    name: str
    key_id: str
    active: bool
    created_at: datetime


class LogKeys(BaseModel):
    keys: list[LogKeyPublic]


class CheckpointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tree_size: int
    root_hash: str
    origin: str
    key_id: str
    issued_at: datetime
    note: str
