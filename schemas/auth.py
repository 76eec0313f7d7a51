"""Tokens, users and the caller."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import Strict, example
from schemas.organizations import OrganizationPublic
from service.auth.roles import Role


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class UserCreate(Strict):
    model_config = example(
        {
            "username": "wang.fang",
            "password": "a-long-Passphrase-2026",
            "role": "hospital_staff",
            "organization_id": "3f2c8a4e-6b1d-4c0e-9a57-2d8e1f0b7c61",
            "display_name": "王芳",
        }
    )

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
    model_config = example({"refresh_token": "rt_Zk3vQ9mX2pL7wN4bR8tY1cF6"})

    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutRequest(Strict):
    model_config = example({"refresh_token": "rt_Zk3vQ9mX2pL7wN4bR8tY1cF6"})

    refresh_token: str = Field(min_length=1, max_length=200)


DEVICE_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,100}$"


class DeviceRevocation(BaseModel):
    device_id: str
    revoked_at: datetime
    sessions_revoked: int
