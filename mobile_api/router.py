"""The phone-facing API (``/mobile/v1``): thin, over the same services as ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/mobile/v1", tags=["mobile"])
