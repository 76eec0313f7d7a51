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
from sqlmodel import Session, select

from schemas.custody import CATEGORIES, CorrectionData, EventPublic, ScanCreate
from schemas.manifests import ManifestCreate
from service.auth.actor import Actor
from service.auth.roles import Role
from service.custody.ledger import append_event, chain_of
from service.custody.machine import Action, CorrectionReason, State
from service.custody.models import Container, CustodyEvent
from service.epcis.export import records_of
from service.epcis.hashing import NotAnEvent, document_namespaces, event_hash, hash_hex
from service.epcis.identifiers import (
    Namer,
    find_container,
    find_party,
    find_site,
    manifest_number,
    read_container_name,
)
from service.epcis.mapping import Incoming, Unmappable, parse_time, read_event
from service.epcis.models import EpcisCapture
from service.epcis.schema import envelope_problems, event_problems
from service.errors import DomainError, InvalidInput, problem_body
from service.labels.keys import LabelSigner
from service.labels.signing import short_code
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
    namer: Namer
    signer: LabelSigner
    public_keys: Mapping[str, Ed25519PublicKey]
    now: datetime
    custody_on_receipt_scan: bool
    namespaces: dict[str, str] = field(default_factory=dict)
    # Events of this document by id, and answers given to corrective events already used.
    by_id: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    consumed: dict[str, dict[str, Any]] = field(default_factory=dict)


def capture_document(
    *,
    session: Session,
    actor: Actor,
    document: Any,
    namer: Namer,
    signer: LabelSigner,
    public_keys: Mapping[str, Ed25519PublicKey],
    now: datetime,
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
        namer=namer,
        signer=signer,
        public_keys=public_keys,
        now=now,
        custody_on_receipt_scan=custody_on_receipt_scan,
        namespaces=document_namespaces(document.get("@context")),
    )
    ids: list[str | None] = []
    for event in events:
        try:
            computed = event_hash(event, ctx.namespaces) if isinstance(event, dict) else None
        except NotAnEvent:
            computed = None
        given = event.get("eventID") if isinstance(event, dict) else None
        event_id = given if isinstance(given, str) else computed
        ids.append(event_id)
        if event_id is not None and computed is not None and computed not in ctx.by_id:
            ctx.by_id[computed] = event
    return [_one(ctx, event, event_id) for event, event_id in zip(events, ids, strict=True)]


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


def _one(ctx: Context, event: Any, event_id: str | None) -> dict[str, Any]:
    problems = event_problems(event)
    if problems:
        fields = ", ".join(p["field"] for p in problems[:5])
        return _rejected(
            event_id if isinstance(event_id, str) else None,
            problem_body(
                422,
                "invalid-event",
                "Invalid EPCIS event",
                f"the event does not follow the EPCIS 2.0 schema: {fields}",
                errors=problems,
            ),
        )
    assert event_id is not None
    computed = event_hash(event, ctx.namespaces)
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
    declared = isinstance(event.get("errorDeclaration"), dict)
    key = _key(event_id, declared)
    stored = ctx.session.get(EpcisCapture, key)
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

    savepoint = ctx.session.begin_nested()
    try:
        if declared:
            answer = _declaration(ctx, event, event_id)
        else:
            answer = _record(ctx, read_event(event), event_id)
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
    _remember(ctx, key, event_id, answer)
    savepoint.commit()
    return answer


def _remember(ctx: Context, key: str, event_id: str, answer: dict[str, Any]) -> None:
    ctx.session.add(
        EpcisCapture(
            capture_key=key,
            event_id=event_id[:500],
            organization_id=ctx.actor.organization_id,
            user_id=ctx.actor.user_id,
            body=answer,
            captured_at=ctx.now,
        )
    )
    ctx.session.flush()


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


def _record(ctx: Context, incoming: Incoming, event_id: str) -> dict[str, Any]:
    if incoming.action is Action.register:
        return _register(ctx, incoming, event_id)
    name = read_container_name(ctx.session, ctx.namer, incoming.epc)
    container = find_container(ctx.session, name) if name is not None else None
    if container is None:
        raise Refused(404, "unknown-epc", "Unknown EPC", f"no container is known as {incoming.epc}")
    scan = _scan_for(ctx, incoming, container, event_id)
    answer = submit_scan(
        session=ctx.session,
        actor=ctx.actor,
        scan=scan,
        public_keys=ctx.public_keys,
        now=ctx.now,
        custody_on_receipt_scan=ctx.custody_on_receipt_scan,
    )
    return _created(event_id, [answer.body["event"]], answer.body.get("anomalies", []))


def _site_id(ctx: Context, uri: str | None) -> uuid.UUID | None:
    if uri is None:
        return None
    site = find_site(ctx.session, ctx.namer, uri)
    if site is None:
        raise Refused(422, "unknown-location", "Unknown location", f"no site is known as {uri}")
    return site.id


def _scan_for(ctx: Context, incoming: Incoming, container: Container, event_id: str) -> ScanCreate:
    if not container.qr_payload:
        raise Refused(409, "no-label", "No label", "the container has no label on record")
    manifest_id = None
    if incoming.manifest is not None:
        manifest_id = _manifest(ctx, incoming, container).id
    return ScanCreate(
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


def _manifest(ctx: Context, incoming: Incoming, container: Container) -> Manifest:
    """The trip a pickup or receipt names; a pickup on a trip not known here opens it, with
    the number it has (a trip recorded elsewhere keeps its number)."""
    assert incoming.manifest is not None
    number = manifest_number(ctx.namer, incoming.manifest)
    if number is None:
        raise Refused(
            422, "unknown-manifest", "Unknown manifest", f"not a manifest name: {incoming.manifest}"
        )
    manifest = ctx.session.exec(select(Manifest).where(Manifest.number == number)).first()
    if manifest is not None:
        return manifest
    if incoming.action is not Action.pickup:
        raise Refused(404, "manifest-not-found", "Manifest not found", f"no manifest {number}")
    origin = find_party(ctx.session, ctx.namer, incoming.origin) if incoming.origin else None
    destination = (
        find_party(ctx.session, ctx.namer, incoming.destination) if incoming.destination else None
    )
    if origin is None or destination is None or not incoming.vehicle_plate:
        raise Refused(
            422,
            "trip-incomplete",
            "Trip incomplete",
            f"manifest {number} is not known here: a departing event opens it when it names "
            "the owning parties (source and destination) and the vehicle (mw:vehicle)",
        )
    return create_manifest(
        session=ctx.session,
        actor=ctx.actor,
        request=ManifestCreate(
            origin_organization_id=origin.id,
            destination_organization_id=destination.id,
            vehicle_plate=incoming.vehicle_plate,
        ),
        now=ctx.now,
        number=number,
    )


# ---- commissioning ---------------------------------------------------------------------------


def _register(ctx: Context, incoming: Incoming, event_id: str) -> dict[str, Any]:
    """A container commissioned elsewhere, registered here under its own id (as
    ``POST /api/v1/containers`` would, with a label signed by this deployment's key)."""
    actor = ctx.actor
    if actor.role is not Role.hospital_staff or actor.organization_id is None:
        raise Refused(
            403, "role-not-allowed", "Scan refused", "only hospital staff register containers"
        )
    name = read_container_name(ctx.session, ctx.namer, incoming.epc)
    if name is None or (name.truncated and find_container(ctx.session, name) is not None):
        raise Refused(
            422, "unknown-epc", "Unknown EPC", f"{incoming.epc} is not a container name of ours"
        )
    if name.organization is not None and name.organization.id != actor.organization_id:
        raise Refused(
            403,
            "not-your-prefix",
            "Not your company prefix",
            "the EPC carries another company prefix",
        )
    if ctx.session.get(Container, name.reference) is not None:
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
    site_id = _site_id(ctx, incoming.site)
    site_org = None
    if site_id is not None:
        site = find_site(ctx.session, ctx.namer, incoming.site or "")
        site_org = site.organization_id if site else None
    if site_id is None or site_org != actor.organization_id:
        raise Refused(
            404, "site-not-found", "Site not found", "commissioning happens at one of your sites"
        )
    at = incoming.occurred_at
    container = Container(
        id=name.reference,
        category=incoming.category,
        origin_organization_id=actor.organization_id,
        origin_site_id=site_id,
        department=incoming.department,
        epidemic=incoming.epidemic,
        state=State.labelled,
        custodian_organization_id=actor.organization_id,
        holder_organization_id=actor.organization_id,
        batch_id=uuid.uuid4(),
        label_key_id=ctx.signer.key_id,
        qr_payload=ctx.signer.sign(name.reference),
        short_code=short_code(name.reference),
        created_at=at,
        state_since=at,
        stage_since=at,
    )
    ctx.session.add(container)
    event = append_event(
        ctx.session,
        container,
        action=Action.register,
        from_state=None,
        to_state=State.labelled,
        actor_user_id=actor.user_id,
        actor_organization_id=actor.organization_id,
        custodian_before=None,
        custodian_after=actor.organization_id,
        site_id=site_id,
        occurred_at=at,
        client_time=at,
        recorded_at=ctx.now,
        device_id=actor.device_id or DEVICE,
        client_event_id=_client_event_id(event_id),
        note=None,
    )
    ctx.session.flush()
    return _created(event_id, [EventPublic.model_validate(event).model_dump(mode="json")], [])


# ---- error declarations ----------------------------------------------------------------------


def _declaration(ctx: Context, event: Mapping[str, Any], event_id: str) -> dict[str, Any]:
    declaration = event["errorDeclaration"]
    incoming = read_event(event)
    name = read_container_name(ctx.session, ctx.namer, incoming.epc)
    container = find_container(ctx.session, name) if name is not None else None
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
        corrective = next((ctx.by_id[i] for i in corrective_ids if i in ctx.by_id), None)
        if corrective is None:
            raise Refused(
                422,
                "corrective-event-missing",
                "Corrective event missing",
                "an incorrect_data declaration comes with its corrective event in the document",
            )
        corrective_id = event_hash(corrective, ctx.namespaces)
        data = _correction_data(ctx, incoming, read_event(corrective))
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
        custody_on_receipt_scan=ctx.custody_on_receipt_scan,
    )
    result = _created(event_id, [answer.body["event"]], answer.body.get("anomalies", []))
    if corrective_id is not None:
        ctx.consumed[corrective_id] = {**result, "eventID": corrective_id}
    return result


def _declared_event(ctx: Context, container: Container, event_id: str) -> CustodyEvent:
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
