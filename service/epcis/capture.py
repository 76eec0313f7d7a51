"""EPCIS capture: another system's events become custody scans, each on its own.

Every event of the document is checked against the EPCIS 2.0 schema, read as a custody action
(:func:`service.epcis.mapping.read_event`) and recorded through the same scan use case as a
phone's scan (``submit_scan``): the state machine, the custody checks, the refusal record and
the anomaly rules all apply. No signed label was read, so the scan carries the container's own
label payload, as when staff type a label's short code; its ``client_event_id`` starts with
``epcis:`` and its device is ``epcis-capture``, so the chain shows where it came from.

Each event runs in a savepoint of its own: a refused one leaves only its refusal (evidence), a
bad one leaves nothing, and no event undoes another. Capturing an event id already captured is
a duplicate and changes nothing. An event re-sent with an ``errorDeclaration`` becomes a
correction: ``did_not_occur`` voids the event, ``incorrect_data`` takes the corrected weight,
site, GPS point or disposal method from the corrective event named in
``correctiveEventIDs``, which must come in the same document.

A departing event on a trip not known here opens it (with its number), in the event's own
savepoint. A refused scan keeps its savepoint (the refusal is evidence), so a trip the refused
event opened is removed again before that savepoint is kept: a refusal leaves no empty trip.

Names are read once per document (:class:`service.epcis.identifiers.Resolver`): the
containers the document names are looked up in bulk, each site and party once; the ids
already captured are read in one query, and the captures a document makes are written
together at its end (in the same transaction as its events).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlmodel import Session, col, select

from schemas.custody import CATEGORIES, CorrectionData, EventPublic, ScanCreate
from schemas.manifests import ManifestCreate
from service.anomalies.profile import Profiles
from service.auth.actor import Actor
from service.auth.roles import Role
from service.custody.containers import register_container
from service.custody.errors import ScanRefusal
from service.custody.event_time import event_time_problem
from service.custody.ledger import chain_of
from service.custody.machine import Action, CorrectionReason
from service.custody.models import CustodyEvent
from service.epcis.export import records_of
from service.epcis.hashing import NotAnEvent, document_namespaces, event_hash, hash_hex
from service.epcis.identifiers import ContainerRef, Namer, Resolver, SiteRef, manifest_number
from service.epcis.mapping import Incoming, Unmappable, parse_time, read_event
from service.epcis.models import EpcisCapture
from service.epcis.schema import envelope_problems, event_problems
from service.errors import DomainError, InvalidInput, problem_body
from service.labels.keys import LabelSigner
from service.manifests.models import Manifest
from service.manifests.service import create_manifest
from service.scanning.service import submit_scan

DEVICE = "epcis-capture"


class Refused(DomainError):
    """An event this deployment does not take (nothing of it is recorded)."""

    def __init__(self, status: int, code: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title = status, code, title


@dataclass
class Context:
    session: Session
    actor: Actor
    names: Resolver
    signer: LabelSigner
    public_keys: Mapping[str, Ed25519PublicKey]
    now: datetime
    profiles: Profiles
    custody_on_receipt_scan: bool
    namespaces: dict[str, str] = field(default_factory=dict)
    # Events of this document by id, and answers given to corrective events already used.
    by_id: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    consumed: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Captures on record for this document's keys (read at once), and those it makes.
    looked_up: set[str] = field(default_factory=set)
    stored: dict[str, EpcisCapture] = field(default_factory=dict)
    made: dict[str, EpcisCapture] = field(default_factory=dict)
    # Trips by number, once found or opened by a kept event.
    trips: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def namer(self) -> Namer:
        return self.names.namer


# Keys per IN (...) list when the captures on record are read.
_CHUNK = 500


def capture_document(
    *,
    session: Session,
    actor: Actor,
    document: Any,
    namer: Namer,
    signer: LabelSigner,
    public_keys: Mapping[str, Ed25519PublicKey],
    now: datetime,
    profiles: Profiles,
    custody_on_receipt_scan: bool = False,
) -> list[dict[str, Any]]:
    """One answer per event, in order: ``created``, ``duplicate`` or ``rejected`` (with an RFC
    7807 problem). A document that is not an EPCISDocument at all raises InvalidInput."""
    if not isinstance(document, dict) or document.get("type") != "EPCISDocument":
        raise InvalidInput("the body is not an EPCISDocument")
    problems = envelope_problems(document)
    if problems:
        raise InvalidInput("the document does not follow the EPCIS 2.0 schema", errors=problems)
    events = document["epcisBody"]["eventList"]
    ctx = Context(
        session=session,
        actor=actor,
        names=Resolver(session, namer),
        signer=signer,
        public_keys=public_keys,
        now=now,
        profiles=profiles,
        custody_on_receipt_scan=custody_on_receipt_scan,
        namespaces=document_namespaces(document.get("@context")),
    )
    read = [_identify(ctx, event) for event in events]
    _look_up_captures(ctx, [r.key for r in read if r.key is not None])
    ctx.names.load_containers(
        epc
        for event in events
        if isinstance(event, dict) and isinstance(event.get("epcList"), list)
        for epc in event["epcList"]
        if isinstance(epc, str)
    )
    answers = [_one(ctx, event, r) for event, r in zip(events, read, strict=True)]
    session.add_all(ctx.made.values())
    session.flush()
    return answers


@dataclass(frozen=True)
class _Read:
    """An event as first read: its id (given, or else its hash), its hash (``None`` when it
    has none) and the key its capture is kept under."""

    event_id: str | None
    computed: str | None
    key: str | None


def _identify(ctx: Context, event: Any) -> _Read:
    if not isinstance(event, dict):
        return _Read(None, None, None)
    try:
        computed: str | None = event_hash(event, ctx.namespaces)
    except NotAnEvent:
        computed = None
    given = event.get("eventID")
    if computed is not None and computed not in ctx.by_id:
        ctx.by_id[computed] = event
    event_id = given if isinstance(given, str) else computed
    declared = isinstance(event.get("errorDeclaration"), dict)
    return _Read(event_id, computed, _key(event_id, declared) if event_id else None)


def _look_up_captures(ctx: Context, keys: list[str]) -> None:
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        ctx.looked_up.update(chunk)
        for row in ctx.session.exec(
            select(EpcisCapture).where(col(EpcisCapture.capture_key).in_(chunk))
        ):
            ctx.stored[row.capture_key] = row


def _captured(ctx: Context, key: str) -> EpcisCapture | None:
    """The capture of ``key`` on record or made by this document, if any."""
    if key in ctx.made:
        return ctx.made[key]
    if key in ctx.looked_up:
        return ctx.stored.get(key)
    return ctx.session.get(EpcisCapture, key)


def _key(event_id: str, declared: bool) -> str:
    digest = hash_hex(event_id)
    key = f"h:{digest}" if digest else "u:" + hashlib.sha256(event_id.encode()).hexdigest()
    return key + (":error" if declared else "")


def _rejected(event_id: str | None, problem: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventID": event_id,
        "status": "rejected",
        "events": [],
        "error": problem,
        "anomalies": problem.get("anomalies", []),
    }


def _one(ctx: Context, event: Any, read: _Read) -> dict[str, Any]:
    event_id = read.event_id
    problems = event_problems(event)
    if problems or read.computed is None or event_id is None or read.key is None:
        fields = ", ".join(p["field"] for p in problems[:5]) or "(event)"
        return _rejected(
            event_id,
            problem_body(
                422,
                "invalid-event",
                "Invalid EPCIS event",
                f"the event does not follow the EPCIS 2.0 schema: {fields}",
                errors=problems,
            ),
        )
    computed, key = read.computed, read.key
    if hash_hex(event_id) is not None and event_id != computed:
        return _rejected(
            event_id,
            problem_body(
                422,
                "event-id-mismatch",
                "eventID is not the event's hash",
                f"the event's content hashes to {computed}",
            ),
        )
    stored = _captured(ctx, key)
    if stored is not None:
        if stored.organization_id != ctx.actor.organization_id:
            return _rejected(
                event_id,
                problem_body(
                    409,
                    "captured-elsewhere",
                    "Captured by another organization",
                    "this event id was captured by another organization",
                ),
            )
        return {**stored.body, "status": "duplicate"}
    if event_id in ctx.consumed:
        answer = ctx.consumed[event_id]
        _remember(ctx, key, event_id, answer)
        return answer

    outcome = _Outcome()
    savepoint = ctx.session.begin_nested()
    try:
        if isinstance(event.get("errorDeclaration"), dict):
            answer = _declaration(ctx, event, event_id)
        else:
            answer = _record(ctx, read_event(event), event_id, outcome)
    except Unmappable as exc:
        savepoint.rollback()
        return _rejected(
            event_id, problem_body(422, "not-a-custody-event", "Not a custody event", str(exc))
        )
    except ValidationError as exc:
        savepoint.rollback()
        detail = "; ".join(e.get("msg", "") for e in exc.errors(include_url=False))[:500]
        return _rejected(event_id, problem_body(422, "invalid-input", "Invalid input", detail))
    except DomainError as exc:
        if exc.keep_changes:
            savepoint.commit()
        else:
            savepoint.rollback()
        return _rejected(event_id, exc.problem())
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    _kept(ctx, outcome)
    _remember(ctx, key, event_id, answer)
    return answer


@dataclass
class _Outcome:
    """What an event made that later events of the document may name (kept only if the
    event is)."""

    container: ContainerRef | None = None
    trip: tuple[str, uuid.UUID] | None = None


def _kept(ctx: Context, outcome: _Outcome) -> None:
    if outcome.container is not None:
        ctx.names.registered(outcome.container)
    if outcome.trip is not None:
        number, trip_id = outcome.trip
        ctx.trips[number] = trip_id


def _remember(ctx: Context, key: str, event_id: str, answer: dict[str, Any]) -> None:
    """Keep the answer under the event's key (written with the others at the document's end:
    the same transaction as the event, so both are kept or neither)."""
    ctx.made[key] = EpcisCapture(
        capture_key=key,
        event_id=event_id[:500],
        organization_id=ctx.actor.organization_id,
        user_id=ctx.actor.user_id,
        body=answer,
        captured_at=ctx.now,
    )


def _created(event_id: str, events: list[dict[str, Any]], anomalies: list[Any]) -> dict[str, Any]:
    return {
        "eventID": event_id,
        "status": "created",
        "events": events,
        "error": None,
        "anomalies": anomalies,
    }


def _client_event_id(event_id: str) -> str:
    """A scan key of its own for each attempt: a refused EPCIS event may be sent again (its id
    is its content) once what it lacked is there, and must then be tried anew."""
    return f"epcis:{_key(event_id, False)[2:34]}:{secrets.token_hex(6)}"


# ---- an ordinary event ----------------------------------------------------------------------


def _record(ctx: Context, incoming: Incoming, event_id: str, outcome: _Outcome) -> dict[str, Any]:
    if incoming.action is Action.register:
        return _register(ctx, incoming, event_id, outcome)
    name = ctx.names.container_name(incoming.epc)
    container = ctx.names.container(name) if name is not None else None
    if container is None:
        raise Refused(404, "unknown-epc", "Unknown EPC", f"no container is known as {incoming.epc}")
    if not container.qr_payload:
        raise Refused(409, "no-label", "No label", "the container has no label on record")
    opened: Manifest | None = None
    manifest_id = None
    if incoming.manifest is not None:
        manifest_id, opened = _trip(ctx, incoming)
    scan = ScanCreate(
        qr_payload=container.qr_payload,
        action=incoming.action,
        client_event_id=_client_event_id(event_id),
        scanned_at=incoming.occurred_at,
        manifest_id=manifest_id,
        weight_kg=incoming.weight_kg,
        latitude=incoming.latitude,
        longitude=incoming.longitude,
        site_id=_site_id(ctx, incoming.site),
        method=incoming.method,
        incident=incoming.incident,
        device_id=DEVICE,
    )
    try:
        answer = submit_scan(
            session=ctx.session,
            actor=ctx.actor,
            scan=scan,
            public_keys=ctx.public_keys,
            now=ctx.now,
            profiles=ctx.profiles,
            custody_on_receipt_scan=ctx.custody_on_receipt_scan,
        )
    except ScanRefusal:
        # The refusal is kept as evidence; the trip this event opened for it is not (no scan,
        # no signature and no refusal refers to it: it only ever existed in this savepoint).
        if opened is not None:
            ctx.session.delete(opened)
            ctx.session.flush()
        raise
    if opened is not None:
        outcome.trip = (opened.number, opened.id)
    return _created(event_id, [answer.body["event"]], answer.body.get("anomalies", []))


def _site(ctx: Context, uri: str | None) -> SiteRef | None:
    if uri is None:
        return None
    site = ctx.names.site(uri)
    if site is None:
        raise Refused(422, "unknown-location", "Unknown location", f"no site is known as {uri}")
    return site


def _site_id(ctx: Context, uri: str | None) -> uuid.UUID | None:
    site = _site(ctx, uri)
    return site.id if site is not None else None


def _trip(ctx: Context, incoming: Incoming) -> tuple[uuid.UUID, Manifest | None]:
    """The trip a pickup or receipt names, and the trip itself when this event opens it: a
    pickup on a trip not known here opens it, with the number it has (a trip recorded
    elsewhere keeps its number)."""
    assert incoming.manifest is not None
    number = manifest_number(ctx.namer, incoming.manifest)
    if number is None:
        raise Refused(
            422, "unknown-manifest", "Unknown manifest", f"not a manifest name: {incoming.manifest}"
        )
    known = (
        ctx.trips.get(number)
        or ctx.session.exec(select(Manifest.id).where(Manifest.number == number)).first()
    )
    if known is not None:
        ctx.trips[number] = known
        return known, None
    if incoming.action is not Action.pickup:
        raise Refused(404, "manifest-not-found", "Manifest not found", f"no manifest {number}")
    origin = ctx.names.party(incoming.origin) if incoming.origin else None
    destination = ctx.names.party(incoming.destination) if incoming.destination else None
    if origin is None or destination is None or not incoming.vehicle_plate:
        raise Refused(
            422,
            "trip-incomplete",
            "Trip incomplete",
            f"manifest {number} is not known here: a departing event opens it when it names "
            "the owning parties (source and destination) and the vehicle (mw:vehicle)",
        )
    opened = create_manifest(
        session=ctx.session,
        actor=ctx.actor,
        request=ManifestCreate(
            origin_organization_id=origin,
            destination_organization_id=destination,
            vehicle_plate=incoming.vehicle_plate,
        ),
        now=ctx.now,
        number=number,
    )
    return opened.id, opened


# ---- commissioning ---------------------------------------------------------------------------


def _register(ctx: Context, incoming: Incoming, event_id: str, outcome: _Outcome) -> dict[str, Any]:
    """A container commissioned elsewhere, registered here under its own id (as
    ``POST /api/v1/containers`` would, with a label signed by this deployment's key)."""
    actor = ctx.actor
    if actor.role is not Role.hospital_staff or actor.organization_id is None:
        raise Refused(
            403, "role-not-allowed", "Scan refused", "only hospital staff register containers"
        )
    name = ctx.names.container_name(incoming.epc)
    if name is None or (name.truncated and ctx.names.container(name) is not None):
        raise Refused(
            422, "unknown-epc", "Unknown EPC", f"{incoming.epc} is not a container name of ours"
        )
    if name.organization_id is not None and name.organization_id != actor.organization_id:
        raise Refused(
            403,
            "not-your-prefix",
            "Not your company prefix",
            "the EPC carries another company prefix",
        )
    if ctx.names.container_by_id(name.reference) is not None:
        raise Refused(409, "already-registered", "Already registered", f"{incoming.epc} exists")
    if (
        not name.reference.isascii()
        or not name.reference.isalnum()
        or not 8 <= len(name.reference) <= 32
    ):
        raise Refused(
            422,
            "unusable-epc",
            "Unusable EPC",
            "a container id is 8 to 32 ASCII letters and digits",
        )
    if incoming.category not in CATEGORIES:
        raise Refused(
            422, "missing-field", "Scan refused", "commissioning names the waste category (ILMD)"
        )
    site = _site(ctx, incoming.site)
    if site is None or site.organization_id != actor.organization_id:
        raise Refused(
            404, "site-not-found", "Site not found", "commissioning happens at one of your sites"
        )
    # A clock ahead of the server's registers at the server's time (the event keeps the
    # reported one as its client time): a registration in the future would refuse every
    # true scan of the container as dated before it.
    at = min(incoming.occurred_at, ctx.now)
    time_problem = event_time_problem(scanned_at=at, registered_at=at, now=ctx.now)
    if time_problem is not None:
        raise Refused(422, "event-time-out-of-range", "Scan refused", time_problem)
    container, event = register_container(
        session=ctx.session,
        actor=actor,
        signer=ctx.signer,
        container_id=name.reference,
        category=incoming.category,
        site_id=site.id,
        department=incoming.department,
        epidemic=incoming.epidemic,
        batch_id=uuid.uuid4(),
        occurred_at=at,
        recorded_at=ctx.now,
        client_time=incoming.occurred_at,
        client_event_id=_client_event_id(event_id),
        device_id=actor.device_id or DEVICE,
    )
    ctx.session.flush()
    outcome.container = ContainerRef(container.id, actor.organization_id, container.qr_payload)
    return _created(event_id, [EventPublic.model_validate(event).model_dump(mode="json")], [])


# ---- error declarations ----------------------------------------------------------------------


def _declaration(ctx: Context, event: Mapping[str, Any], event_id: str) -> dict[str, Any]:
    declaration = event["errorDeclaration"]
    incoming = read_event(event)
    name = ctx.names.container_name(incoming.epc)
    container = ctx.names.container(name) if name is not None else None
    if container is None or not container.qr_payload:
        raise Refused(404, "unknown-epc", "Unknown EPC", f"no container is known as {incoming.epc}")
    target = _declared_event(ctx, container, event_id)
    reason_text = str(declaration.get("reason") or "")
    reason = next((r for r in CorrectionReason if reason_text.endswith(r.value)), None)
    if reason is None:
        raise Refused(
            422, "unknown-reason", "Unknown reason", "the reason is did_not_occur or incorrect_data"
        )
    data = None
    corrective_id = None
    if reason is CorrectionReason.incorrect_data:
        corrective_ids = declaration.get("correctiveEventIDs") or []
        # the corrective event's id is its hash (ctx.by_id holds this document's events so)
        corrective_id = next((i for i in corrective_ids if i in ctx.by_id), None)
        if corrective_id is None:
            raise Refused(
                422,
                "corrective-event-missing",
                "Corrective event missing",
                "an incorrect_data declaration comes with its corrective event in the document",
            )
        data = _correction_data(ctx, incoming, read_event(ctx.by_id[corrective_id]))
    scan = ScanCreate(
        qr_payload=container.qr_payload,
        action=Action.correct,
        client_event_id=_client_event_id(event_id),
        scanned_at=parse_time(declaration.get("declarationTime")),
        corrects_event_id=target.id,
        correction_reason=reason,
        correction_data=data,
        device_id=DEVICE,
    )
    answer = submit_scan(
        session=ctx.session,
        actor=ctx.actor,
        scan=scan,
        public_keys=ctx.public_keys,
        now=ctx.now,
        profiles=ctx.profiles,
        custody_on_receipt_scan=ctx.custody_on_receipt_scan,
    )
    result = _created(event_id, [answer.body["event"]], answer.body.get("anomalies", []))
    if corrective_id is not None:
        ctx.consumed[corrective_id] = {**result, "eventID": corrective_id}
    return result


def _declared_event(ctx: Context, container: ContainerRef, event_id: str) -> CustodyEvent:
    """The custody event an error declaration is about: the one whose EPCIS id it carries (for
    a corrective event declared erroneous in turn, the event it corrected)."""
    chain = chain_of(ctx.session, container.id)
    by_id = {e.id: e for e in chain}
    for record in records_of(ctx.session, ctx.namer, chain):
        if record.event["eventID"] == event_id and "errorDeclaration" not in record.event:
            found = by_id[record.custody_event_id]
            if found.action == Action.correct and found.corrects_event_id is not None:
                return by_id[found.corrects_event_id]
            return found
    raise Refused(
        404, "event-not-found", "Event not found", "the event declared erroneous is not known here"
    )


def _correction_data(ctx: Context, before: Incoming, after: Incoming) -> CorrectionData:
    if not before.same_but_correctable(after):
        raise Refused(
            422,
            "not-correctable",
            "Not correctable",
            "a corrective event may change only the weight, site, GPS point or disposal method",
        )
    changes: dict[str, Any] = {}
    if after.weight_kg != before.weight_kg and after.weight_kg is not None:
        changes["weight_kg"] = after.weight_kg
    if after.site != before.site and after.site is not None:
        changes["site_id"] = _site_id(ctx, after.site)
    if (after.latitude, after.longitude) != (before.latitude, before.longitude):
        changes["latitude"], changes["longitude"] = after.latitude, after.longitude
    if after.method != before.method and after.method is not None:
        changes["method"] = after.method
    if not changes:
        raise Refused(
            422, "nothing-corrected", "Nothing corrected", "the corrective event changes nothing"
        )
    return CorrectionData.model_validate(changes)
