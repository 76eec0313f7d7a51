"""Storing findings exactly once, and announcing the new ones through the webhook outbox.

The dedupe key is ``subject + kind + cause`` (e.g. ``container:<id>:storage_overdue:<since>``),
unique in the table; inserts use ``ON CONFLICT DO NOTHING`` on both dialects, so re-running the
sweep, replaying a scan or two concurrent sweeps never make a second row.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from service.anomalies.models import Anomaly, AnomalyStatus, WebhookDelivery, WebhookSubscription
from service.anomalies.rules import Finding
from service.observability.metrics import count_anomalies

CHUNK = 500


@dataclass(frozen=True)
class Subject:
    """What an anomaly is about, and whose queue it lands in."""

    key: str  # "container:<id>", "manifest:<id>", "organization:<id>", "label:<digest>"
    jurisdiction: str
    organization_id: uuid.UUID | None = None
    container_id: str | None = None
    manifest_id: uuid.UUID | None = None
    event_id: int | None = None

    @classmethod
    def container(cls, container_id: str, **kw: Any) -> Subject:
        return cls(key=f"container:{container_id}", container_id=container_id, **kw)

    @classmethod
    def manifest(cls, manifest_id: uuid.UUID, **kw: Any) -> Subject:
        return cls(key=f"manifest:{manifest_id}", manifest_id=manifest_id, **kw)


def dedupe_key(subject: Subject, finding: Finding) -> str:
    key = f"{subject.key}:{finding.kind}:{finding.cause}"
    if len(key) > 300:
        digest = hashlib.sha256(finding.cause.encode()).hexdigest()
        key = f"{subject.key}:{finding.kind}:{digest}"[:300]
    return key


def _row(subject: Subject, finding: Finding, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "kind": str(finding.kind),
        "severity": str(finding.severity),
        "container_id": subject.container_id,
        "manifest_id": subject.manifest_id,
        "organization_id": subject.organization_id,
        "jurisdiction": subject.jurisdiction,
        "event_id": subject.event_id,
        "rule": finding.rule,
        "threshold": finding.threshold,
        "facts": finding.facts,
        "dedupe_key": dedupe_key(subject, finding),
        "status": str(AnomalyStatus.open),
        "detected_at": now,
        "updated_at": now,
    }


_TABLE = Anomaly.__table__  # type: ignore[attr-defined]
_STORED_KEYS = select(_TABLE.c.dedupe_key).where(
    _TABLE.c.dedupe_key.in_(bindparam("keys", expanding=True))
)
# Per dialect: INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, built once.
_INSERTS = {
    name: module.insert(_TABLE)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(_TABLE.c.id)
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert the rows that are not there yet; return the ids actually inserted.

    Keys already stored are filtered out first with one indexed lookup (a periodic sweep
    finds mostly what it found before); ``ON CONFLICT DO NOTHING`` settles races with a
    concurrent writer. Core statements on the transaction's connection: nothing here needs
    the ORM's bulk-insert path, which costs more than the rows (a scan that raises an anomaly
    stores one)."""
    connection = session.connection()
    keys = [row["dedupe_key"] for row in rows]
    stored = set(connection.execute(_STORED_KEYS, {"keys": keys}).scalars())
    fresh = [row for row in rows if row["dedupe_key"] not in stored]
    if not fresh:
        return []
    statement = _INSERTS[connection.dialect.name]
    return [row[0] for row in connection.execute(statement, fresh)]


def store_findings(
    session: Session,
    found: Sequence[tuple[Subject, Finding]],
    *,
    now: datetime,
    named: bool = True,
) -> tuple[list[Anomaly], list[Anomaly]]:
    """Store each finding once. Returns (every anomaly the findings name, the new ones); with
    ``named=False`` only the new ones are loaded (the first list is empty)."""
    if not found:
        return [], []
    rows: dict[str, dict[str, Any]] = {}
    for subject, finding in found:
        row = _row(subject, finding, now)
        rows.setdefault(row["dedupe_key"], row)
    unique = list(rows.values())
    # What the session holds unwritten goes first (the event or refused scan the rows name).
    session.flush()
    new_ids: list[uuid.UUID] = []
    for start in range(0, len(unique), CHUNK):
        new_ids.extend(_insert(session, unique[start : start + CHUNK]))
    loaded: list[Anomaly] = []
    if named:
        keys = list(rows)
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            loaded.extend(
                session.exec(orm_select(Anomaly).where(col(Anomaly.dedupe_key).in_(chunk)))
            )
        inserted = set(new_ids)
        new = [a for a in loaded if a.id in inserted]
    else:
        new = []
        for start in range(0, len(new_ids), CHUNK):
            new.extend(
                session.exec(
                    orm_select(Anomaly).where(col(Anomaly.id).in_(new_ids[start : start + CHUNK]))
                )
            )
    if new:
        enqueue_notifications(session, new, now=now)
        count_anomalies(session, (anomaly.kind for anomaly in new))
    return loaded, new


_SUBSCRIPTIONS = WebhookSubscription.__table__  # type: ignore[attr-defined]
# Who wants to hear of anomalies of these organizations or jurisdictions (every new anomaly
# asks: a Core read of the three columns that decide it).
_SUBSCRIBERS = select(
    _SUBSCRIPTIONS.c.id, _SUBSCRIPTIONS.c.organization_id, _SUBSCRIPTIONS.c.jurisdiction
).where(
    _SUBSCRIPTIONS.c.active.is_(True),
    or_(
        _SUBSCRIPTIONS.c.organization_id.in_(bindparam("orgs", expanding=True)),
        _SUBSCRIPTIONS.c.jurisdiction.in_(bindparam("jurisdictions", expanding=True)),
    ),
)


def enqueue_notifications(session: Session, anomalies: Sequence[Anomaly], *, now: datetime) -> int:
    """Put one outbox row per (new anomaly, matching subscription). Never sends anything."""
    orgs = {a.organization_id for a in anomalies if a.organization_id is not None}
    jurisdictions = {a.jurisdiction for a in anomalies}
    subscriptions = list(
        session.connection().execute(
            _SUBSCRIBERS, {"orgs": sorted(orgs, key=str), "jurisdictions": sorted(jurisdictions)}
        )
    )
    if not subscriptions:
        return 0
    count = 0
    for anomaly in anomalies:
        for sub in subscriptions:
            if sub.organization_id not in (None, anomaly.organization_id):
                continue
            if sub.jurisdiction not in (None, anomaly.jurisdiction):
                continue
            session.add(
                WebhookDelivery(
                    subscription_id=sub.id,
                    anomaly_id=anomaly.id,
                    payload=notification_payload(anomaly),
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            count += 1
    session.flush()
    return count


def notification_payload(anomaly: Anomaly) -> dict[str, Any]:
    return {
        "event": "anomaly.created",
        "anomaly": {
            "id": str(anomaly.id),
            "kind": anomaly.kind,
            "severity": anomaly.severity,
            "container_id": anomaly.container_id,
            "manifest_id": str(anomaly.manifest_id) if anomaly.manifest_id else None,
            "organization_id": str(anomaly.organization_id) if anomaly.organization_id else None,
            "jurisdiction": anomaly.jurisdiction,
            "rule": anomaly.rule,
            "threshold": anomaly.threshold,
            "facts": anomaly.facts,
            "detected_at": anomaly.detected_at.isoformat(),
            "status": anomaly.status,
        },
    }
