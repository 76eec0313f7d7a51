"""What the phone sends and gets back (``/mobile/v1``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas import examples as ex
from schemas.common import Strict, example, example_of
from schemas.custody import EXAMPLE_PICKUP, AnomalyBrief, ContainerPublic, EventPublic
from schemas.manifests import ManifestSummary
from service.custody.machine import Action

MAX_SYNC_SCANS = 1000

# code_entered: found by its typed short code; the label's signature was not checked.
LabelValidity = Literal["valid", "forged", "unknown_key", "malformed", "code_entered"]


class ResolveResult(BaseModel):
    """What the phone shows after a scan. Only a valid label says anything about a container."""

    # The driver scans a collected bag at the hospital, with the trip open.
    model_config = example(
        {
            "validity": "valid",
            "detail": None,
            "container": example_of(ContainerPublic),
            "actions": ["pickup", "inspect", "report_incident"],
            "open_manifests": [
                {
                    **example_of(ManifestSummary),
                    "state": "open",
                    "dispatched_at": None,
                    "received_at": None,
                }
            ],
            "qr_payload": None,
        }
    )

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
                    "qr_payload": ex.LABEL,
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


# A label of a bag already burnt at the plant, scanned again: refused, and a critical anomaly.
_REUSED_LABEL_ANOMALY = {
    "id": "e8a26ee8-1cf3-4243-81d4-7e8ad7821424",
    "kind": "scan_after_disposal",
    "severity": "critical",
    "rule": "已处置的容器不会再被扫描：标签被复制或重复使用",
    "threshold": "any scan of a disposed container",
    "facts": {
        "rejection_id": "5b602fe3-b31e-4b78-9eac-53ea34b5be2d",
        "action": "pickup",
        "problem": "invalid-transition",
        "detail": "the container was disposed of; it cannot be picked up",
        "actor_organization_id": ex.TRANSPORTER_ID,
        "point": None,
    },
    "detected_at": "2026-11-02T02:20:07.118342Z",
    "status": "open",
}


class SyncResult(BaseModel):
    model_config = example(
        {
            "results": [
                {
                    "client_event_id": "phone-7c1e-000124",
                    "status": "created",
                    "event": EXAMPLE_PICKUP,
                    "error": None,
                    "anomalies": [],
                },
                {
                    "client_event_id": "phone-7c1e-000125",
                    "status": "rejected",
                    "event": None,
                    "error": {
                        "type": "https://medwaste.example/problems/invalid-transition",
                        "title": "Scan refused",
                        "status": 409,
                        "detail": "the container was disposed of; it cannot be picked up",
                        "state": "disposed",
                        "anomalies": [_REUSED_LABEL_ANOMALY],
                    },
                    "anomalies": [_REUSED_LABEL_ANOMALY],
                },
            ]
        }
    )

    results: list[SyncItemResult]
