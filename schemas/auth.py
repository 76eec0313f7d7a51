"""Tokens, users and the caller."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import Strict
from schemas.organizations import OrganizationPublic
from service.auth.roles import Role


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class UserCreate(Strict):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._@\-]+$")
    password: str = Field(min_length=1, max_length=128)
    role: Role
    organization_id: uuid.UUID | None = None
    display_name: str | None = Field(default=None, max_length=200)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str | None
    role: Role
    organization_id: uuid.UUID | None
    is_active: bool
    created_at: datetime


class Me(BaseModel):
    user: UserPublic
    role: Role
    organization: OrganizationPublic | None


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=200)


DEVICE_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,100}$"


class DeviceRevocation(BaseModel):
    device_id: str
    revoked_at: datetime
    sessions_revoked: int
