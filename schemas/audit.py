"""The audit log as read by administrators and regulators."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from schemas import examples as ex
from schemas.common import example


class AuditEntryPublic(BaseModel):
    # The example receipt's scan, as the log recorded the request.
    model_config = example(
        {
            "id": 88213,
            "occurred_at": ex.RECEIVED_AT_RECORDED,
            "user_id": ex.OPERATOR_USER_ID,
            "username": "li.qiang",
            "organization_id": ex.PLANT_ID,
            "method": "POST",
            "path": "/api/v1/scans",
            "target_id": ex.CONTAINER_ID,
            "client_address": "223.104.12.87",
            "device_id": "phone-3a9d",
            "status_code": 201,
        },
        from_attributes=True,
    )

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
