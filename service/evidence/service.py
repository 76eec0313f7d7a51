"""Evidence bundles: a container's (or a trip's) custody record with everything an outsider
needs to check it offline (:mod:`service.tlog.verifier`).

One JSON document: the container, every event with the exact content its hash covers, the
label payload and the public label key, each event's inclusion proof and the signed checkpoint
the proofs lead to; optionally the proof that this checkpoint's tree extends the one of an
earlier checkpoint the reader kept (``previous_size``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from schemas.custody import ContainerPublic
from service.custody.chain import canonical_content
from service.custody.labels import LabelUnavailable, label_payload
from service.custody.ledger import event_fields
from service.custody.models import Container, CustodyEvent
from service.errors import InvalidInput
from service.labels.keys import LabelSigner
from service.labels.models import LabelKey
from service.manifests.models import Manifest
from service.manifests.trip import trip_of
from service.manifests.views import manifest_view
from service.tlog import service as log
from service.tlog.keys import LogSigner
from service.tlog.verifier import BUNDLE_FORMAT


def container_bundle(
    *,
    session: Session,
    container: Container,
    label_signer: LabelSigner,
    log_signer: LogSigner,
    now: datetime,
    previous_size: int | None = None,
) -> dict[str, Any]:
    return _bundle(
        session=session,
        subject={"kind": "container", "id": container.id},
        containers=[container],
        label_signer=label_signer,
        log_signer=log_signer,
        now=now,
        previous_size=previous_size,
    )


def manifest_bundle(
    *,
    session: Session,
    manifest: Manifest,
    label_signer: LabelSigner,
    log_signer: LogSigner,
    now: datetime,
    previous_size: int | None = None,
) -> dict[str, Any]:
    """Every container the trip carried (or that arrived on it unannounced)."""
    trip = trip_of(session, manifest)
    ids = [line.container.id for line in trip.lines] + list(trip.unexpected)
    found = {c.id: c for c in session.exec(select(Container).where(col(Container.id).in_(ids)))}
    bundle = _bundle(
        session=session,
        subject={"kind": "manifest", "id": str(manifest.id), "number": manifest.number},
        containers=[found[i] for i in ids if i in found],
        label_signer=label_signer,
        log_signer=log_signer,
        now=now,
        previous_size=previous_size,
    )
    bundle["manifest"] = manifest_view(session, manifest).model_dump(mode="json")
    return bundle


def _bundle(
    *,
    session: Session,
    subject: dict[str, Any],
    containers: Sequence[Container],
    label_signer: LabelSigner,
    log_signer: LogSigner,
    now: datetime,
    previous_size: int | None,
) -> dict[str, Any]:
    if previous_size is not None and previous_size < 1:
        raise InvalidInput("previous_size is the tree size of a checkpoint you kept (>= 1)")
    chains: dict[str, list[CustodyEvent]] = {c.id: [] for c in containers}
    if chains:
        for event in session.exec(
            select(CustodyEvent)
            .where(col(CustodyEvent.container_id).in_(list(chains)))
            .order_by(col(CustodyEvent.container_id), col(CustodyEvent.seq))
        ):
            chains[event.container_id].append(event)
    events = [e for chain in chains.values() for e in chain]
    indexes = log.log_indexes(session, [e.id for e in events if e.id is not None], sequence=True)
    covering = max([i + 1 for i in indexes.values()] + [previous_size or 0, 1])
    checkpoint = log.covering_checkpoint(session, signer=log_signer, covering=covering, now=now)
    proofs = log.inclusion_proofs(session, sorted(indexes.values()), checkpoint.tree_size)
    consistency = None
    if previous_size is not None:
        consistency = {
            "first": previous_size,
            "second": checkpoint.tree_size,
            "hashes": [
                h.hex() for h in log.consistency_proof(session, previous_size, checkpoint.tree_size)
            ],
        }
    key_ids = sorted({c.label_key_id for c in containers})
    label_keys = session.exec(select(LabelKey).where(col(LabelKey.key_id).in_(key_ids))).all()
    return {
        "format": BUNDLE_FORMAT,
        "subject": subject,
        "generated_at": now.isoformat(),
        "log": {
            "origin": checkpoint.origin,
            "checkpoint": checkpoint.note,
            "tree_size": checkpoint.tree_size,
            "root_hash": checkpoint.root_hash,
            "key": log_signer.vkey,
        },
        "label_keys": [
            {"key_id": k.key_id, "alg": "Ed25519", "public_key": k.public_key} for k in label_keys
        ],
        "containers": [
            _container_entry(c, chains[c.id], indexes, proofs, label_signer) for c in containers
        ],
        "consistency": consistency,
    }


def _container_entry(
    container: Container,
    chain: Sequence[CustodyEvent],
    indexes: dict[int, int],
    proofs: dict[int, list[bytes]],
    label_signer: LabelSigner,
) -> dict[str, Any]:
    try:
        payload: str | None = label_payload(container, label_signer)
    except LabelUnavailable:
        payload = None
    events = []
    for event in chain:
        index = indexes.get(event.id or 0)
        events.append(
            {
                "id": event.id,
                "log_index": index,
                "hash": event.hash,
                "content": canonical_content(event_fields(event)),
                "inclusion": [h.hex() for h in proofs[index]] if index is not None else None,
            }
        )
    return {
        "container": {
            **ContainerPublic.model_validate(container).model_dump(mode="json"),
            "last_seq": container.last_seq,
            "last_hash": container.last_hash,
        },
        "label": {"qr_payload": payload, "key_id": container.label_key_id},
        "events": events,
    }
