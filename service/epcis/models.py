"""What EPCIS capture remembers: the answer given for each captured event id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from service.db import UTCDateTime, utcnow


class EpcisCapture(SQLModel, table=True):
    """One EPCIS event (or one error declaration) taken in: capturing it again is a duplicate
    and changes nothing. Only accepted events are kept here; a refused one is recorded as a
    refused scan, and sending it again (once what was missing is there) is tried anew."""

    __tablename__ = "epcis_capture"

    # ``h:<sha-256 hex>`` for an event whose id is its hash, ``u:<sha-256 of the id>`` for any
    # other id; ``:error`` appended for the event's error declaration.
    capture_key: str = Field(primary_key=True, max_length=80)
    event_id: str = Field(max_length=500)
    organization_id: uuid.UUID | None = Field(default=None, foreign_key="organization.id")
    user_id: uuid.UUID = Field(foreign_key="user.id")
    # The per-event answer, as given the first time.
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    captured_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
