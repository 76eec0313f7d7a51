"""The audit log: one row per write request, refused or not. Append-only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_org_id", "organization_id", "id"),
        Index("ix_audit_entry_user_id", "user_id", "id"),
        Index("ix_audit_entry_occurred_at", "occurred_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    # Who: unknown (None) for requests that never authenticated. No foreign keys: the log must
    # take any request, and users are never deleted anyway.
    user_id: uuid.UUID | None = None
    username: str | None = Field(default=None, max_length=64)
    organization_id: uuid.UUID | None = None
    method: str = Field(max_length=8)
    # The route template (/api/v1/containers/{container_id}); the raw path when nothing matched.
    path: str = Field(max_length=300)
    target_id: str | None = Field(default=None, max_length=100)
    client_address: str | None = Field(default=None, max_length=64)
    device_id: str | None = Field(default=None, max_length=100)
    status_code: int
