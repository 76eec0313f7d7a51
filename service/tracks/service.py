"""Recording a trip's track and reading it back.

A phone sends its queued position fixes in batches; each point is judged on its own (a bad
one is answered with its problem, the others are kept). Points are append-only and idempotent
by (manifest, device, fix time): a batch resent after a timeout stores nothing twice.
Only a driver of the trip's transporter records its track, and only while the trip is open:
from the manifest's creation until the destination's receipt.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from schemas.tracks import TrackPointCreate
from service.auth.actor import Actor
from service.auth.roles import Role
from service.errors import Conflict, DomainError, Forbidden, InvalidInput, item_problem
from service.manifests.models import Manifest
from service.manifests.service import visible_manifest
from service.tracks.models import TrackPoint

# A phone clock this far ahead of the server is taken at its word; further, the point is refused.
CLOCK_TOLERANCE = timedelta(minutes=10)

# Told which trips got new points (the anomaly rules read the track); answers what they raised.
OnPoints = Callable[[Session, Manifest, datetime], Sequence[object]]


class TripNotOpen(Conflict):
    code, title = "trip-not-open", "The trip was not open then"


@dataclass
class Recorded:
    results: list[dict[str, Any]]
    anomalies: list[object] = field(default_factory=list)


def _key(manifest_id: uuid.UUID, recorded_at: datetime, device_id: str) -> tuple[str, str, str]:
    return (str(manifest_id), recorded_at.isoformat(), device_id)


def _may_record(session: Session, actor: Actor, manifest_id: uuid.UUID) -> Manifest:
    """The trip, if ``actor`` may record its track: a driver of its transporter (404 for a
    trip the actor may not see, 403 for one it may see but not drive)."""
    manifest = visible_manifest(session, actor, manifest_id)
    if actor.role is not Role.driver or actor.organization_id != (
        manifest.transporter_organization_id
    ):
        raise Forbidden("only a driver of the trip's transporter records its track")
    return manifest


def _check_time(manifest: Manifest, point: TrackPointCreate, now: datetime) -> None:
    at = point.recorded_at
    if at > now + CLOCK_TOLERANCE:
        raise InvalidInput(
            f"recorded_at {at.isoformat()} is more than 10 minutes ahead of the server's clock",
            errors=[{"field": "recorded_at", "message": "in the future", "type": "future"}],
        )
    if at < manifest.created_at - CLOCK_TOLERANCE:
        raise TripNotOpen(f"the trip was opened at {manifest.created_at.isoformat()}, after this")
    if manifest.received_at is not None and at > manifest.received_at:
        raise TripNotOpen(f"the trip was received at {manifest.received_at.isoformat()}")


def record_points(
    *,
    session: Session,
    actor: Actor,
    device_id: str,
    points: Sequence[Any],
    now: datetime,
    on_points: OnPoints | None = None,
) -> Recorded:
    """Store what is new of ``points``; one result per point, in order: ``created``,
    ``duplicate`` or ``rejected`` (with an RFC 7807 problem). Each trip that got new points is
    handed to ``on_points`` once, and what it raised is answered with the batch."""
    if actor.device_id is not None and device_id != actor.device_id:
        raise Forbidden("this batch names another device than the one this session signed in on")
    trips: dict[uuid.UUID, Manifest | DomainError] = {}
    results: list[dict[str, Any]] = []
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for raw in points:
        result: dict[str, Any] = {"manifest_id": None, "recorded_at": None, "error": None}
        if isinstance(raw, dict):
            result["manifest_id"] = _text(raw.get("manifest_id"))
            result["recorded_at"] = _text(raw.get("recorded_at"))
        results.append(result)
        try:
            point = TrackPointCreate.model_validate(raw)
        except ValidationError as exc:
            result.update(status="rejected", error=item_problem(exc, "track point"))
            continue
        if point.manifest_id not in trips:
            try:
                trips[point.manifest_id] = _may_record(session, actor, point.manifest_id)
            except DomainError as exc:
                trips[point.manifest_id] = exc
        trip = trips[point.manifest_id]
        try:
            if isinstance(trip, DomainError):
                raise trip
            _check_time(trip, point, now)
        except DomainError as exc:
            result.update(status="rejected", error=exc.problem())
            continue
        key = _key(point.manifest_id, point.recorded_at, device_id)
        result["key"] = key
        if key in rows:
            result["status"] = "duplicate"
            continue
        result["status"] = "created"
        rows[key] = {
            **point.model_dump(),
            "device_id": device_id,
            "user_id": actor.user_id,
            "received_at": now,
        }
    stored = _insert(session, list(rows.values()))
    touched: dict[uuid.UUID, Manifest] = {}
    for result in results:
        key = result.pop("key", None)
        if key is None or result["status"] != "created":
            continue
        if key in stored:
            manifest = trips[uuid.UUID(key[0])]
            assert isinstance(manifest, Manifest)
            touched[manifest.id] = manifest
        else:  # stored before (an earlier batch, or a concurrent one)
            result["status"] = "duplicate"
    recorded = Recorded(results=results)
    if on_points is not None:
        for manifest in touched.values():
            recorded.anomalies.extend(on_points(session, manifest, now))
    return recorded


def _text(value: object) -> str | None:
    return value[:100] if isinstance(value, str) else None


def _insert(session: Session, rows: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """Insert the rows not stored yet; the keys of those actually inserted."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = (
        module.insert(TrackPoint)
        .on_conflict_do_nothing(index_elements=["manifest_id", "recorded_at", "device_id"])
        .returning(
            col(TrackPoint.manifest_id), col(TrackPoint.recorded_at), col(TrackPoint.device_id)
        )
    )
    inserted: set[tuple[str, str, str]] = set()
    for start in range(0, len(rows), 500):
        for manifest_id, recorded_at, device in session.execute(
            statement, rows[start : start + 500]
        ):
            inserted.add(_key(manifest_id, recorded_at, device))
    session.flush()
    return inserted


def points_of(session: Session, manifest_id: uuid.UUID) -> list[TrackPoint]:
    """A trip's track in time order (every device's points)."""
    return list(
        session.exec(
            select(TrackPoint)
            .where(TrackPoint.manifest_id == manifest_id)
            .order_by(col(TrackPoint.recorded_at), col(TrackPoint.device_id))
        )
    )
