"""Errors of the custody domain, and every way a scan can be refused.

A refused scan is evidence (a refused scan at a dumping site says something happened there):
each refusal is a :class:`ScanRefusal` subclass, raised where the refusal is decided; the scan
use case records it (and commits the record) before answering with its problem. Other code
matches on these classes, never on their problem codes.
"""

from __future__ import annotations

from typing import Any

from service.custody.machine import MissingField, RoleNotAllowed, State, TransitionError
from service.errors import Conflict, DomainError, NotFound
from service.labels.signing import ForgedLabel, LabelError, MalformedLabel, UnknownLabelKey


class ContainerNotFound(NotFound):
    code, title = "container-not-found", "Container not found"


class ClientEventIdReused(Conflict):
    code, title = "client-event-id-reused", "client_event_id already used"


class ScanRefusal(DomainError):
    """A scan that does not fit; the refusal is recorded (and committed) as evidence."""

    keep_changes = True
    title = "Scan refused"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail, extra=extra)


# The label


class LabelRefused(ScanRefusal):
    """The QR payload is not a label this service signed."""

    status, code, title = 422, "invalid-label", "Invalid label"


class ForgedLabelRefused(LabelRefused):
    code, title = "forged-label", "Forged label"


class UnknownKeyRefused(LabelRefused):
    code, title = "unknown-label-key", "Unknown label key"


class MalformedLabelRefused(LabelRefused):
    code, title = "malformed-label", "Malformed label"


def label_refusal(error: LabelError) -> LabelRefused:
    """The refusal a label that does not verify is answered with."""
    if isinstance(error, ForgedLabel):
        return ForgedLabelRefused("the label's signature does not verify")
    if isinstance(error, UnknownLabelKey):
        return UnknownKeyRefused("the label was signed by an unknown key")
    if isinstance(error, MalformedLabel):
        return MalformedLabelRefused(f"not a container label: {error}")
    return LabelRefused(str(error))


class UnregisteredContainer(ScanRefusal):
    status, code, title = 404, "container-not-found", "Container not found"


class EventTimeRefused(ScanRefusal):
    """``scanned_at`` cannot be this container's event time (see custody.event_time)."""

    status, code = 422, "event-time-out-of-range"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.errors = [{"field": "scanned_at", "message": detail}]


# The state machine


class InvalidTransition(ScanRefusal):
    """The action does not fit the container's state."""

    status, code = 409, "invalid-transition"

    def __init__(self, detail: str, *, state: State, skips_step: bool = False) -> None:
        super().__init__(detail, state=str(state))
        self.state = state
        self.skips_step = skips_step


class RoleMayNot(InvalidTransition):
    status, code = 403, "role-not-allowed"


class MissingScanField(InvalidTransition):
    status, code = 422, "missing-field"


def transition_refusal(error: TransitionError, state: State) -> InvalidTransition:
    """The refusal the state machine's verdict is answered with."""
    if isinstance(error, RoleNotAllowed):
        return RoleMayNot(error.detail, state=state)
    if isinstance(error, MissingField):
        return MissingScanField(error.detail, state=state)
    return InvalidTransition(error.detail, state=state, skips_step=error.skips_step)


# Custody: who may act on the container now


class CustodyMismatch(ScanRefusal):
    """The scanner's organization is neither the custodian nor the expected receiver."""

    status, code, title = 403, "custody-mismatch", "Not the custodian"


class ScanManifestNotFound(ScanRefusal):
    status, code, title = 404, "manifest-not-found", "Manifest not found"


class ScanManifestNotOpen(ScanRefusal):
    status, code, title = 409, "manifest-not-open", "Manifest not open"


class WrongManifest(ScanRefusal):
    status, code, title = 409, "wrong-manifest", "Wrong manifest"


class ScanSiteNotFound(ScanRefusal):
    status, code, title = 404, "site-not-found", "Site not found"


# Corrections


class CorrectedEventNotFound(ScanRefusal):
    status, code, title = 404, "event-not-found", "Event not found"


class NotYourEvent(ScanRefusal):
    status, code, title = 403, "not-your-event", "Not your event"


class NotCorrectable(ScanRefusal):
    status, code, title = 409, "not-correctable", "Not correctable"


class AlreadyVoided(ScanRefusal):
    status, code, title = 409, "already-voided", "Already corrected"


class StoredRefusal(DomainError):
    """A retried scan that was refused the first time: answered with the stored problem,
    recording nothing new."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(str(body.get("detail", "")))
        self.body = dict(body)
        self.status = int(body.get("status", 409))

    def problem(self) -> dict[str, Any]:
        return dict(self.body)
