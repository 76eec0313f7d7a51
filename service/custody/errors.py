"""Errors of the custody domain."""

from __future__ import annotations

from service.errors import Conflict, DomainError, NotFound


class ContainerNotFound(NotFound):
    code, title = "container-not-found", "Container not found"


class ScanRefused(DomainError):
    """A scan that does not fit; the refusal is recorded (and committed) as evidence."""

    keep_changes = True

    def __init__(self, status: int, code: str, title: str, detail: str, **extra: object) -> None:
        super().__init__(detail, extra=dict(extra))
        self.status = status
        self.code = code
        self.title = title


class ClientEventIdReused(Conflict):
    code, title = "client-event-id-reused", "client_event_id already used"
