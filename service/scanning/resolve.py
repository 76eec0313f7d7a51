"""What a phone may do with the container behind a scanned label (``/mobile/v1/resolve``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, select

from service.auth.actor import Actor
from service.custody.errors import ContainerNotFound
from service.custody.machine import Action, allowed_actions
from service.custody.models import Container
from service.custody.scope import container_scope
from service.errors import Conflict, InvalidInput
from service.labels.signing import (
    ForgedLabel,
    LabelError,
    UnknownLabelKey,
    verify_label,
)
from service.manifests.models import Manifest
from service.manifests.service import open_manifests_for_pickup
from service.scanning.checks import current_manifest, custody_refusal


@dataclass(frozen=True)
class Resolution:
    validity: Literal["valid", "forged", "unknown_key", "malformed", "code_entered"]
    detail: str | None = None
    container: Container | None = None
    actions: list[Action] = field(default_factory=list)
    open_manifests: list[Manifest] = field(default_factory=list)
    # Given back for a typed short code, so that the phone can send the scan with it.
    qr_payload: str | None = None


SHORT_CODE = re.compile(r"^[A-Z2-7]{4}-?[A-Z2-7]{4}$")


def resolve_label(
    *, session: Session, actor: Actor, qr: str, public_keys: Mapping[str, Ed25519PublicKey]
) -> Resolution:
    """Check a label and say what ``actor`` may do now. A label that does not verify is an
    answer, not an error, and reveals nothing about any container. A container the caller may
    neither see nor act on is not found."""
    try:
        label = verify_label(qr, public_keys)
    except ForgedLabel:
        return Resolution("forged", "the label's signature does not verify: do not accept it")
    except UnknownLabelKey:
        return Resolution("unknown_key", "the label was signed by an unknown key")
    except LabelError as exc:
        return Resolution("malformed", f"not a container label: {exc}")

    container = session.get(Container, label.container_id)
    if container is None:
        raise ContainerNotFound("no container is registered under this label")
    found = _for_actor(session, actor, container)
    if found is None:
        raise ContainerNotFound("no container is registered under this label")
    return found


def resolve_code(*, session: Session, actor: Actor, code: str) -> Resolution:
    """The container behind a typed short code (``XXXX-XXXX``, printed under the QR code), for
    a label the camera cannot read. Only a container the caller may see or act on is found;
    the answer carries its QR payload so that the phone can send the scan."""
    text = code.strip().upper()
    if not SHORT_CODE.match(text):
        raise InvalidInput("a short code is 8 letters and digits, like ABCD-EF23")
    compact = text.replace("-", "")
    candidates = session.exec(
        select(Container).where(Container.short_code == f"{compact[:4]}-{compact[4:]}").limit(20)
    ).all()
    matches = [r for c in candidates if (r := _for_actor(session, actor, c)) is not None]
    if not matches:
        raise ContainerNotFound(f"no container of yours has the code {text}")
    if len(matches) > 1:
        raise Conflict(f"several containers share the code {text}: scan the QR code instead")
    match = matches[0]
    return replace(
        match,
        validity="code_entered",
        detail="typed code: the label itself was not checked",
        qr_payload=match.container.qr_payload if match.container else None,
    )


def _for_actor(session: Session, actor: Actor, container: Container) -> Resolution | None:
    """What ``actor`` may do with ``container``; None if they may neither see nor act on it."""
    manifests = open_manifests_for_pickup(session, actor, container.holder_organization_id)
    actions = possible_actions(
        session=session, actor=actor, container=container, open_manifests=manifests
    )
    visible = session.exec(
        select(col(Container.id)).where(Container.id == container.id, container_scope(actor))
    ).first()
    if visible is None and not actions:
        return None
    return Resolution("valid", None, container, actions, manifests)


def possible_actions(
    *, session: Session, actor: Actor, container: Container, open_manifests: list[Manifest]
) -> list[Action]:
    """The state machine's actions for the role that the custody checks would let through
    (:func:`service.scanning.checks.custody_refusal`, the scan's own check)."""
    current = current_manifest(session, container)
    result: list[Action] = []
    for action in allowed_actions(
        state=container.state, role=actor.role, has_manifest=bool(open_manifests)
    ):
        if action is Action.pickup:
            manifest = open_manifests[0] if open_manifests else None
        elif action is Action.receive:
            manifest = current
        else:
            manifest = None
        if custody_refusal(session, actor, action, container, manifest) is None:
            result.append(action)
    return result
