"""The audit log as read by administrators and regulators."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    user_id: uuid.UUID | None
    username: str | None
    organization_id: uuid.UUID | None
    method: str
    path: str
    target_id: str | None
    client_address: str | None
    device_id: str | None
    status_code: int
