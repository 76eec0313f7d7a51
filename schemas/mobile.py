"""What the phone sends and gets back (``/mobile/v1``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.common import EXAMPLE_LABEL, Strict, example
from schemas.custody import AnomalyBrief, ContainerPublic, EventPublic
from schemas.manifests import ManifestSummary
from service.custody.machine import Action

MAX_SYNC_SCANS = 1000

# code_entered: found by its typed short code; the label's signature was not checked.
LabelValidity = Literal["valid", "forged", "unknown_key", "malformed", "code_entered"]


class ResolveResult(BaseModel):
    """What the phone shows after a scan. Only a valid label says anything about a container."""

    validity: LabelValidity
    detail: str | None = None
    container: ContainerPublic | None = None
    # The scan actions this user may take on the container now.
    actions: list[Action] = Field(default_factory=list)
    # For a driver: the open manifests of their company that may take this container.
    open_manifests: list[ManifestSummary] = Field(default_factory=list)
    # For a typed short code: the container's QR payload, to send the scan with.
    qr_payload: str | None = None


class SyncRequest(Strict):
    model_config = example(
        {
            "device_id": "phone-7c1e",
            "scans": [
                {
                    "qr_payload": EXAMPLE_LABEL,
                    "action": "pickup",
                    "client_event_id": "phone-7c1e-000124",
                    "scanned_at": "2026-11-02T10:02:00+08:00",
                    "manifest_id": "0f1e2d3c-4b5a-4968-8776-655443322110",
                }
            ],
        }
    )

    device_id: str = Field(min_length=1, max_length=100)
    # Each item is checked on its own: one malformed scan is rejected, the others go through.
    scans: list[Any] = Field(max_length=MAX_SYNC_SCANS)


class SyncItemResult(BaseModel):
    client_event_id: str | None
    status: Literal["created", "duplicate", "rejected"]
    event: EventPublic | None = None
    # An RFC 7807 problem body for a rejected scan.
    error: dict[str, Any] | None = None
    anomalies: list[AnomalyBrief] = Field(default_factory=list)


class SyncResult(BaseModel):
    results: list[SyncItemResult]
