"""Which containers' labels a caller may print, and what goes on them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import Session, col, select

from service.auth.actor import Actor
from service.custody.errors import ContainerNotFound
from service.custody.models import Container
from service.custody.scope import container_scope
from service.errors import Conflict, InvalidInput
from service.labels.keys import LabelSigner
from service.labels.render import MAX_LABELS_PER_SHEET, LabelInfo
from service.organizations.models import Organization


class LabelUnavailable(Conflict):
    code, title = "label-unavailable", "Label unavailable"


def label_payload(container: Container, signer: LabelSigner) -> str:
    """The QR payload printed on the container's label: the one stored at registration, or
    (for a container registered before payloads were stored) re-signed with its own key."""
    if container.qr_payload:
        return container.qr_payload
    if container.label_key_id == signer.key_id:
        return signer.sign(container.id)
    raise LabelUnavailable(
        f"the label of {container.id} was signed with retired key {container.label_key_id}"
    )


def printable_containers(
    *,
    session: Session,
    actor: Actor,
    ids: Sequence[str] | None,
    batch_id: uuid.UUID | None,
) -> list[Container]:
    """The containers to print, in the order asked (by id) or of their ids (a batch).

    Every id must be visible to ``actor``: one unknown or invisible id is a 404 for all.
    """
    if (ids is None) == (batch_id is None):
        raise InvalidInput("give either ids or batch_id")
    if ids is not None:
        wanted = list(dict.fromkeys(i for i in ids if i))
        if not wanted:
            raise InvalidInput("ids is empty")
        if len(wanted) > MAX_LABELS_PER_SHEET:
            raise InvalidInput(f"at most {MAX_LABELS_PER_SHEET} labels per sheet")
        found = {
            c.id: c
            for c in session.exec(
                select(Container).where(col(Container.id).in_(wanted), container_scope(actor))
            )
        }
        missing = [i for i in wanted if i not in found]
        if missing:
            raise ContainerNotFound(f"container {missing[0]} not found")
        return [found[i] for i in wanted]
    rows = list(
        session.exec(
            select(Container)
            .where(Container.batch_id == batch_id, container_scope(actor))
            .order_by(col(Container.created_at), col(Container.id))
            .limit(MAX_LABELS_PER_SHEET + 1)
        )
    )
    if not rows:
        raise ContainerNotFound(f"batch {batch_id} not found")
    if len(rows) > MAX_LABELS_PER_SHEET:
        raise InvalidInput(f"at most {MAX_LABELS_PER_SHEET} labels per sheet")
    return rows


def label_infos(
    *, session: Session, containers: Sequence[Container], signer: LabelSigner
) -> list[LabelInfo]:
    org_ids = {c.origin_organization_id for c in containers}
    names = {
        o.id: o.name
        for o in session.exec(select(Organization).where(col(Organization.id).in_(org_ids)))
    }
    return [
        LabelInfo(
            payload=label_payload(c, signer),
            container_id=c.id,
            category=c.category,
            origin_name=names.get(c.origin_organization_id, ""),
            department=c.department or "",
            created_at=c.created_at,
            epidemic=c.epidemic,
        )
        for c in containers
    ]
