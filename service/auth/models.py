"""Users and their sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from service.auth.roles import Role
from service.db import EnumText, UTCDateTime, utcnow


class User(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str | None = Field(default=None, max_length=200)
    password_hash: str = Field(max_length=255)
    role: Role = Field(sa_type=EnumText(Role, 32))
    organization_id: uuid.UUID | None = Field(
        default=None, foreign_key="organization.id", index=True
    )
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RefreshToken(SQLModel, table=True):
    """One refresh token of a session. Only its SHA-256 is stored. Tokens of one login form a
    family: refreshing retires the presented token and issues the next one of the family;
    presenting a retired token again means it was copied, and the whole family dies."""

    __tablename__ = "refresh_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    family_id: uuid.UUID = Field(index=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True)
    device_id: str | None = Field(default=None, max_length=100, index=True)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # Set when this token was exchanged for the next one of its family.
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the family was ended: logout, reuse, deactivation or a revoked device.
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=32)


class LoginFailure(SQLModel, table=True):
    """A failed login, kept for the throttling window (in the database so that every process
    of the service counts the same failures)."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username_at", "username", "failed_at"),
        Index("ix_login_failure_address_at", "client_address", "failed_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=64)
    client_address: str = Field(max_length=64)
    failed_at: datetime = Field(sa_type=UTCDateTime)


class RevokedDevice(SQLModel, table=True):
    """A phone reported lost: every token carrying its device id is refused from now on."""

    __tablename__ = "revoked_device"

    device_id: str = Field(primary_key=True, max_length=100)
    revoked_at: datetime = Field(sa_type=UTCDateTime)
    revoked_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
