"""Containers and custody scans: the write path every hand of custody goes through."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, select

from schemas.custody import AnomalyBrief, ContainersCreate, ScanCreate
from service.auth.actor import Actor
from service.auth.roles import Role
from service.custody.chain import HASHED_FIELDS, ChainVerdict, event_hash, verify_chain
from service.custody.errors import ScanRefused
from service.custody.machine import (
    Action,
    ChainStep,
    CorrectionReason,
    Incident,
    ScanFacts,
    State,
    TransitionError,
    next_state,
    replay,
)
from service.custody.models import Container, CustodyEvent, ScanRejection
from service.errors import Forbidden, NotFound
from service.labels.keys import LabelSigner
from service.labels.signing import (
    ForgedLabel,
    LabelError,
    MalformedLabel,
    UnknownLabelKey,
    short_code,
    verify_label,
)
from service.manifests.models import Manifest, ManifestState
from service.organizations.models import Organization, OrgKind, Site

# A phone clock this far ahead of the server is wrong (SPEC §4, clock_skew).
MAX_CLOCK_AHEAD = timedelta(minutes=10)


def new_container_id() -> str:
    """128 random bits as 26 lowercase base32 characters: opaque and unguessable."""
    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()


def event_fields(event: CustodyEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def append_event(session: Session, container: Container, **fields: Any) -> CustodyEvent:
    """Chain a new event onto ``container`` (locked by the caller); the caller flushes."""
    event = CustodyEvent(
        container_id=container.id,
        seq=container.last_seq + 1,
        prev_hash=container.last_hash,
        hash="",
        **fields,
    )
    event.hash = event_hash(event_fields(event))
    container.last_seq = event.seq
    container.last_hash = event.hash
    container.last_event_at = (
        event.occurred_at
        if container.last_event_at is None
        else max(container.last_event_at, event.occurred_at)
    )
    session.add(event)
    session.add(container)
    return event


# ---------------------------------------------------------------------------------------------
# Registering containers


def register_containers(
    *,
    session: Session,
    actor: Actor,
    signer: LabelSigner,
    request: ContainersCreate,
    now: datetime,
) -> tuple[uuid.UUID, list[tuple[Container, str]]]:
    """Make ``request.count`` labelled containers at one of the actor's sites.

    Returns the batch id and each container with its signed QR payload.
    """
    if actor.role is not Role.hospital_staff or actor.organization_id is None:
        raise Forbidden("only hospital staff register containers")
    site = session.get(Site, request.site_id)
    if site is None or site.organization_id != actor.organization_id:
        raise NotFound(f"site {request.site_id} not found")
    batch_id = uuid.uuid4()
    made: list[tuple[Container, str]] = []
    for _ in range(request.count):
        container_id = new_container_id()
        payload = signer.sign(container_id)
        container = Container(
            id=container_id,
            category=request.category,
            origin_organization_id=actor.organization_id,
            origin_site_id=site.id,
            department=request.department,
            epidemic=request.epidemic,
            state=State.labelled,
            custodian_organization_id=actor.organization_id,
            holder_organization_id=actor.organization_id,
            batch_id=batch_id,
            label_key_id=signer.key_id,
            qr_payload=payload,
            short_code=short_code(container_id),
            created_at=now,
            state_since=now,
            stage_since=now,
        )
        session.add(container)
        append_event(
            session,
            container,
            action=Action.register,
            from_state=None,
            to_state=State.labelled,
            actor_user_id=actor.user_id,
            actor_organization_id=actor.organization_id,
            custodian_before=None,
            custodian_after=actor.organization_id,
            site_id=site.id,
            occurred_at=now,
            client_time=None,
            recorded_at=now,
            device_id=actor.device_id,
            note=None,
        )
        made.append((container, payload))
    session.flush()
    return batch_id, made


# ---------------------------------------------------------------------------------------------
# Scans


@dataclass
class ScanOutcome:
    event: CustodyEvent
    container: Container
    # Facts for the anomaly rules: what the scan revealed beyond the state change.
    clock_ahead: timedelta | None = None
    clock_behind_previous: timedelta | None = None
    previous_event: CustodyEvent | None = None
    # When the stage this scan ends (or continues) had begun, before the scan.
    stage_since_before: datetime | None = None
    # The rows the scan was checked against, held so that the rules evaluated next find them
    # in the session (its identity map keeps only what something references).
    site: Site | None = None
    manifest: Manifest | None = None
    signals: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Refusal:
    """A refused scan, as recorded; the anomaly rules may flag it."""

    rejection: ScanRejection
    container: Container | None


# Flags a refused scan; returns the anomalies it raised or named (each with the attributes of
# schemas.custody.AnomalyBrief), which the refusal's problem body lists.
OnRefusal = Callable[[Session, Refusal], Sequence[Any]]


def record_scan(
    *,
    session: Session,
    actor: Actor,
    scan: ScanCreate,
    public_keys: Mapping[str, Ed25519PublicKey],
    now: datetime,
    custody_on_receipt_scan: bool = False,
    on_refusal: OnRefusal | None = None,
) -> ScanOutcome:
    """Apply one scan: verify the label, check it against the state machine and custody,
    and append the event. A refused scan is recorded and raised as :class:`ScanRefused`."""
    refuse = _Refuser(session, actor, scan, now, on_refusal)
    try:
        label = verify_label(scan.qr_payload, public_keys)
    except LabelError as exc:
        raise refuse(None, *_label_problem(exc)) from None

    container = _lock_container(session, label.container_id)
    if container is None:
        raise refuse(
            None,
            404,
            "container-not-found",
            "Container not found",
            "no container is registered under this label",
        )

    occurred_at = min(scan.scanned_at, now)
    ahead = scan.scanned_at - now
    outcome_clock_ahead = ahead if ahead > MAX_CLOCK_AHEAD else None

    if scan.action is Action.correct:
        event = _correct(session, actor, scan, container, occurred_at, now, refuse)
        return ScanOutcome(event=event, container=container, clock_ahead=outcome_clock_ahead)

    state = State(container.state)
    facts = ScanFacts(
        weight_kg=scan.weight_kg,
        method=scan.method,
        incident=scan.incident,
        has_manifest=scan.manifest_id is not None,
    )
    try:
        to_state = next_state(
            state=state,
            action=scan.action,
            role=actor.role,
            facts=facts,
            state_before_loss=State(container.state_before_loss)
            if container.state_before_loss
            else None,
        )
    except TransitionError as exc:
        raise refuse(
            container,
            exc.status,
            exc.code,
            "Scan refused",
            exc.detail,
            skips_step=exc.skips_step,
            state=state,
        ) from None

    manifest = _check_custody(session, actor, scan, container, refuse)
    site = _check_site(session, actor, scan, container, refuse)

    previous = session.exec(
        select(CustodyEvent).where(
            CustodyEvent.container_id == container.id, CustodyEvent.seq == container.last_seq
        )
    ).one()

    custodian_before = container.custodian_organization_id
    custodian_after = custodian_before
    if scan.action is Action.receive and custody_on_receipt_scan:
        assert actor.organization_id is not None
        custodian_after = actor.organization_id

    event = append_event(
        session,
        container,
        action=scan.action,
        from_state=state,
        to_state=to_state,
        actor_user_id=actor.user_id,
        actor_organization_id=actor.organization_id,
        custodian_before=custodian_before,
        custodian_after=custodian_after,
        site_id=site.id if site else None,
        latitude=scan.latitude,
        longitude=scan.longitude,
        weight_kg=scan.weight_kg,
        manifest_id=scan.manifest_id,
        method=scan.method,
        incident=scan.incident,
        occurred_at=occurred_at,
        client_time=scan.scanned_at,
        recorded_at=now,
        device_id=actor.device_id or scan.device_id,
        client_event_id=scan.client_event_id,
        note=scan.note,
    )
    stage_since_before = container.stage_since
    _apply(container, event, actor, manifest)
    session.add(container)
    session.flush()
    behind = previous.occurred_at - occurred_at if occurred_at < previous.occurred_at else None
    return ScanOutcome(
        event=event,
        container=container,
        clock_ahead=outcome_clock_ahead,
        clock_behind_previous=behind,
        previous_event=previous,
        stage_since_before=stage_since_before,
        site=site,
        manifest=manifest,
    )


# The actions that begin a stage of a container's life (see Container.stage_since).
STAGE_STARTS = frozenset({Action.register, Action.collect, Action.pickup, Action.receive})


def _apply(
    container: Container, event: CustodyEvent, actor: Actor, manifest: Manifest | None
) -> None:
    """Move the container's current-state columns along with an accepted event."""
    if event.to_state != container.state:
        if event.to_state == State.lost:
            container.state_before_loss = container.state
        elif container.state == State.lost:
            container.state_before_loss = None
        container.state = event.to_state
        container.state_since = event.occurred_at
        if event.action in STAGE_STARTS:
            container.stage_since = event.occurred_at
    container.custodian_organization_id = event.custodian_after
    if event.action in (Action.pickup, Action.receive):
        assert actor.organization_id is not None
        container.holder_organization_id = actor.organization_id
    if event.action is Action.pickup and manifest is not None:
        container.current_manifest_id = manifest.id


class _Refuser:
    """Records a refused scan and builds the error to raise."""

    def __init__(
        self,
        session: Session,
        actor: Actor,
        scan: ScanCreate,
        now: datetime,
        on_refusal: OnRefusal | None,
    ) -> None:
        self.session, self.actor, self.scan, self.now = session, actor, scan, now
        self.on_refusal = on_refusal

    def __call__(
        self,
        container: Container | None,
        status: int,
        code: str,
        title: str,
        detail: str,
        **extra: Any,
    ) -> ScanRefused:
        rejection = ScanRejection(
            container_id=container.id if container else None,
            qr_payload=self.scan.qr_payload[:300],
            action=self.scan.action,
            actor_user_id=self.actor.user_id,
            actor_organization_id=self.actor.organization_id,
            device_id=self.actor.device_id or self.scan.device_id,
            client_event_id=self.scan.client_event_id,
            occurred_at=min(self.scan.scanned_at, self.now),
            recorded_at=self.now,
            latitude=self.scan.latitude,
            longitude=self.scan.longitude,
            status_code=status,
            problem_type=code,
            detail=detail[:2000],
        )
        self.session.add(rejection)
        self.session.flush()
        flagged = (
            self.on_refusal(self.session, Refusal(rejection=rejection, container=container))
            if self.on_refusal is not None
            else []
        )
        public_extra: dict[str, Any] = {k: str(v) for k, v in extra.items() if k == "state"}
        public_extra["anomalies"] = [
            AnomalyBrief.model_validate(a).model_dump(mode="json") for a in flagged
        ]
        return ScanRefused(status, code, title, detail, **public_extra)


def _label_problem(exc: LabelError) -> tuple[int, str, str, str]:
    if isinstance(exc, ForgedLabel):
        return 422, "forged-label", "Forged label", "the label's signature does not verify"
    if isinstance(exc, UnknownLabelKey):
        return (
            422,
            "unknown-label-key",
            "Unknown label key",
            "the label was signed by an unknown key",
        )
    if isinstance(exc, MalformedLabel):
        return 422, "malformed-label", "Malformed label", f"not a container label: {exc}"
    return 422, "invalid-label", "Invalid label", str(exc)


def _lock_container(session: Session, container_id: str) -> Container | None:
    """Load a container for writing: row-locked on PostgreSQL (SQLite writes are serialized)."""
    return session.exec(
        select(Container).where(Container.id == container_id).with_for_update()
    ).first()


def _check_custody(
    session: Session, actor: Actor, scan: ScanCreate, container: Container, refuse: _Refuser
) -> Manifest | None:
    """Whether the scanning organization may act on the container now. Returns the manifest
    the scan belongs to, if any."""
    org = actor.organization_id
    action = scan.action

    def mismatch(detail: str) -> ScanRefused:
        return refuse(container, 403, "custody-mismatch", "Not the custodian", detail)

    if action is Action.inspect:
        if actor.is_regulator:
            origin = session.get(Organization, container.origin_organization_id)
            holder = session.get(Organization, container.holder_organization_id)
            jurisdictions = {o.jurisdiction for o in (origin, holder) if o is not None}
            if actor.jurisdiction not in jurisdictions:
                raise mismatch("the container is outside your jurisdiction")
        elif org not in (container.holder_organization_id, container.custodian_organization_id):
            raise mismatch("your organization neither holds nor has custody of this container")
        return None

    if action is Action.pickup:
        manifest = session.get(Manifest, scan.manifest_id) if scan.manifest_id else None
        if manifest is None or manifest.transporter_organization_id != org:
            raise refuse(
                container,
                404,
                "manifest-not-found",
                "Manifest not found",
                "no such manifest of your company",
            )
        if manifest.state != ManifestState.open:
            raise refuse(
                container,
                409,
                "manifest-not-open",
                "Manifest not open",
                f"the manifest is {manifest.state}; containers join a trip while open",
            )
        if manifest.origin_organization_id != container.holder_organization_id:
            raise mismatch("the container is not held by this manifest's origin")
        return manifest

    if action is Action.receive:
        manifest = (
            session.get(Manifest, container.current_manifest_id)
            if container.current_manifest_id
            else None
        )
        if manifest is None or manifest.destination_organization_id != org:
            raise mismatch("your organization is not this container's destination")
        if scan.manifest_id is not None and scan.manifest_id != manifest.id:
            raise refuse(
                container,
                409,
                "wrong-manifest",
                "Wrong manifest",
                "the container travels on another manifest",
            )
        return manifest

    # collect, store, dispose, report_incident: the organization holding the container.
    if org != container.holder_organization_id:
        raise mismatch("your organization does not hold this container")
    if action is Action.dispose and actor.organization_kind is not OrgKind.disposal:
        raise mismatch("only a disposal plant disposes of waste")
    return None


def _check_site(
    session: Session, actor: Actor, scan: ScanCreate, container: Container, refuse: _Refuser
) -> Site | None:
    if scan.site_id is None:
        return None
    site = session.get(Site, scan.site_id)
    if site is None or site.organization_id != actor.organization_id:
        raise refuse(
            container,
            404,
            "site-not-found",
            "Site not found",
            "the site is not one of your organization's",
        )
    return site


def _correct(
    session: Session,
    actor: Actor,
    scan: ScanCreate,
    container: Container,
    occurred_at: datetime,
    now: datetime,
    refuse: _Refuser,
) -> CustodyEvent:
    assert scan.corrects_event_id is not None and scan.correction_reason is not None
    target = session.get(CustodyEvent, scan.corrects_event_id)
    if target is None or target.container_id != container.id:
        raise refuse(
            container, 404, "event-not-found", "Event not found", "no such event on this container"
        )
    if not actor.is_admin and actor.organization_id != target.actor_organization_id:
        raise refuse(
            container,
            403,
            "not-your-event",
            "Not your event",
            "only the organization that recorded an event (or an admin) corrects it",
        )
    if target.action in (Action.correct, Action.register):
        raise refuse(
            container,
            409,
            "not-correctable",
            "Not correctable",
            f"a '{target.action}' event cannot be corrected",
        )
    events = list(
        session.exec(
            select(CustodyEvent)
            .where(CustodyEvent.container_id == container.id)
            .order_by(col(CustodyEvent.seq))
        )
    )
    already = [
        e
        for e in events
        if e.corrects_event_id == target.id
        and e.correction_reason == CorrectionReason.did_not_occur
    ]
    if already:
        raise refuse(
            container,
            409,
            "already-voided",
            "Already corrected",
            "the event is already marked as one that did not occur",
        )

    state = State(container.state)
    standing = (
        _standing_after_voiding(events, target.id)
        if (scan.correction_reason is CorrectionReason.did_not_occur)
        else None
    )
    to_state = state
    if standing is not None:
        if not standing:
            raise refuse(
                container,
                409,
                "not-correctable",
                "Not correctable",
                "nothing would be left of the chain",
            )
        to_state = replay(_steps(standing))
    custodian_after = container.custodian_organization_id
    if standing is not None and target.custodian_before != target.custodian_after:
        # Voiding the event that moved custody moves it back.
        custodian_after = target.custodian_before or custodian_after
    data = (
        scan.correction_data.model_dump(mode="json", exclude_none=True)
        if (scan.correction_data)
        else None
    )
    event = append_event(
        session,
        container,
        action=Action.correct,
        from_state=state,
        to_state=to_state,
        actor_user_id=actor.user_id,
        actor_organization_id=actor.organization_id,
        custodian_before=container.custodian_organization_id,
        custodian_after=custodian_after,
        corrects_event_id=target.id,
        correction_reason=scan.correction_reason,
        correction_data=data,
        occurred_at=occurred_at,
        client_time=scan.scanned_at,
        recorded_at=now,
        device_id=actor.device_id or scan.device_id,
        client_event_id=scan.client_event_id,
        note=scan.note,
    )
    if standing is not None:
        _rebuild_current(container, standing, event)
    session.add(container)
    session.flush()
    return event


def _standing_after_voiding(
    events: Sequence[CustodyEvent], voided_id: int | None
) -> list[CustodyEvent]:
    voided = {
        e.corrects_event_id
        for e in events
        if e.action == Action.correct and e.correction_reason == CorrectionReason.did_not_occur
    }
    voided.add(voided_id)
    return [e for e in events if e.action != Action.correct and e.id not in voided]


def _steps(events: Iterable[CustodyEvent]) -> list[ChainStep]:
    assert all(e.id is not None for e in events)
    return [
        ChainStep(event_id=e.id or 0, action=Action(e.action), to_state=State(e.to_state))
        for e in events
    ]


def _rebuild_current(
    container: Container, standing: Sequence[CustodyEvent], correction: CustodyEvent
) -> None:
    """After an event is voided, the current-state columns follow the events still standing."""
    last = standing[-1]
    if container.state != correction.to_state:
        container.state = correction.to_state
        container.state_since = last.occurred_at
    container.custodian_organization_id = correction.custodian_after
    holder = container.origin_organization_id
    manifest_id = None
    before_loss = None
    for e in standing:
        if e.action in STAGE_STARTS:
            container.stage_since = e.occurred_at
        if e.action in (Action.pickup, Action.receive) and e.actor_organization_id is not None:
            holder = e.actor_organization_id
        if e.action == Action.pickup:
            manifest_id = e.manifest_id
        if e.incident == Incident.lost:
            before_loss = e.from_state
    container.holder_organization_id = holder
    container.current_manifest_id = manifest_id
    container.state_before_loss = before_loss if container.state == State.lost else None


# ---------------------------------------------------------------------------------------------
# Reading


def chain_of(session: Session, container_id: str) -> list[CustodyEvent]:
    return list(
        session.exec(
            select(CustodyEvent)
            .where(CustodyEvent.container_id == container_id)
            .order_by(col(CustodyEvent.seq))
        )
    )


def verify_container_chain(container: Container, events: Sequence[CustodyEvent]) -> ChainVerdict:
    """Verify the stored chain, and that it ends where the container says its head is."""
    rows = [{**event_fields(e), "id": e.id, "hash": e.hash} for e in events]
    verdict = verify_chain(rows)
    if not verdict.verified:
        return verdict
    if container.last_seq != len(events) or (events and container.last_hash != events[-1].hash):
        return ChainVerdict(
            False,
            events[-1].id if events else None,
            "the chain does not end at the container's recorded head",
        )
    return verdict
