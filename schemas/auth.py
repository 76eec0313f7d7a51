"""Tokens, users and the caller."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from schemas import examples as ex
from schemas.common import Strict, example, example_of
from schemas.organizations import OrganizationPublic
from service.auth.roles import Role


class TokenPair(BaseModel):
    model_config = example(
        {
            # A JWT (HS256) whose claims name the user, role, organization and device.
            "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            "eyJzdWIiOiI4MjViZjVmNy1iNDU5LTQwZWMtYjE2ZC1iNjJiOTM4OTFmNDciLCJyb2xlIjoiaG9zcGl0YWxf"
            "c3RhZmYiLCJvcmciOiIzZjJjOGE0ZS02YjFkLTRjMGUtOWE1Ny0yZDhlMWYwYjdjNjEiLCJkZXYiOiJwaG9u"
            "ZS03YzFlIiwiaWF0IjoxNzkzNTc4NTAwLCJleHAiOjE3OTM1Nzk0MDAsImp0aSI6IjU0ZGY1N2FjNzRlMjRm"
            "MTJiMTIzNTdhOTAzMjg2MDlmIiwiaXNzIjoibWVkd2FzdGUiLCJhdWQiOiJtZWR3YXN0ZS1hcGkifQ."
            "MtWZ5OF3WypG9DuOCCcN-LGmU0Ba0ADbM1bdh0oayik",
            "refresh_token": "WxSRD_NHHAeWz-XwmImmXiFkar97ZVffPGXUshOdqls",
            "token_type": "bearer",
            "expires_in": 900,
        }
    )

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
    model_config = example(
        {
            "id": ex.STAFF_USER_ID,
            "username": "wang.li",
            "display_name": ex.STAFF,
            "role": "hospital_staff",
            "organization_id": ex.HOSPITAL_ID,
            "is_active": True,
            "created_at": "2026-03-02T01:31:05.774120Z",
        },
        from_attributes=True,
    )

    id: uuid.UUID
    username: str
    display_name: str | None
    role: Role
    organization_id: uuid.UUID | None
    is_active: bool
    created_at: datetime


class Me(BaseModel):
    model_config = example(
        {
            "user": example_of(UserPublic),
            "role": "hospital_staff",
            "organization": example_of(OrganizationPublic),
        }
    )

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
    model_config = example(
        {
            "device_id": "phone-7c1e",
            "revoked_at": "2026-11-03T01:12:48.201337Z",
            "sessions_revoked": 2,
        }
    )

    device_id: str
    revoked_at: datetime
    sessions_revoked: int
