"""Label-signing keys: the public halves, so any server (and anyone) can verify any label."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from service.db import UTCDateTime, utcnow


class LabelKey(SQLModel, table=True):
    __tablename__ = "label_key"

    key_id: str = Field(primary_key=True, max_length=32)
    public_key: str = Field(max_length=64)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
