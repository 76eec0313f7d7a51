"""Custody events as EPCIS 2.0 ObjectEvents, and EPCIS events back as what a scan records.

Pure: plain values in, JSON-ready dicts out (and back). The table (also in docs/epcis.md):

| custody action | action | bizStep | disposition | carries |
|---|---|---|---|---|
| register | ADD | commissioning | active | ILMD: waste category, department, epidemic handling |
| collect | OBSERVE | collecting | disposed | weight |
| store | OBSERVE | storing | | |
| pickup | OBSERVE | departing | in_transit | weight?, manifest, parties, vehicle |
| receive | OBSERVE | receiving | disposed | weight, manifest, parties |
| dispose | DELETE | destroying | destroyed | disposal method |
| inspect | OBSERVE | inspecting | | weight? |
| report_incident | OBSERVE | inspecting (not for a loss) | damaged, unknown (lost) | incident |
| correct | the corrected event again with an ``errorDeclaration``, then the corrective event |

Everywhere: the container's EPC in ``epcList``; the scan's GPS point as the read point
(``geo:lat,lon``); the site as ``bizLocation`` (and as read point when there is no GPS point);
a weight as a ``sensorReport`` of type ``Mass`` in ``KGM``. On a trip, the manifest is a
``bizTransaction`` of type ``bol``; the parties are ``owning_party`` (origin, destination) and
``possessing_party`` (origin hands to the transporter at pickup, the transporter to the
destination at receipt).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from service.custody.machine import Action, CorrectionReason, DisposalMethod, Incident
from service.epcis.hashing import CBV, GS1_VOC, document_namespaces, event_hash

NAMESPACE = "https://medwaste.example/epcis/"
PREFIX = "mw"
EPCIS_CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CONTEXT: list[Any] = [EPCIS_CONTEXT_URL, {PREFIX: NAMESPACE}]
NAMESPACES = document_namespaces(CONTEXT)

# The local time offset of a jurisdiction's country (those with one offset all year).
_OFFSETS = {
    "CN": "+08:00",
    "HK": "+08:00",
    "MO": "+08:00",
    "TW": "+08:00",
    "SG": "+08:00",
    "MY": "+08:00",
    "PH": "+08:00",
    "IN": "+05:30",
    "JP": "+09:00",
    "KR": "+09:00",
    "TH": "+07:00",
    "VN": "+07:00",
}
UTC_OFFSET = "+00:00"


def offset_of(jurisdiction: str | None) -> str:
    """The ``eventTimeZoneOffset`` of events in ``jurisdiction`` (UTC where a country has
    several offsets or daylight saving time: the instant is exact either way)."""
    country = (jurisdiction or "").split("-", 1)[0]
    return _OFFSETS.get(country, UTC_OFFSET)


def _tz(offset: str) -> timezone:
    sign = -1 if offset[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))


def format_time(moment: datetime, offset: str = UTC_OFFSET) -> str:
    """``moment`` at millisecond precision in the given offset (``...T09:15:30.250+08:00``)."""
    rounded = moment.astimezone(UTC) + timedelta(microseconds=500)
    rounded = rounded.replace(microsecond=rounded.microsecond // 1000 * 1000)
    local = rounded.astimezone(_tz(offset))
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + offset


def mw(local: str) -> str:
    return f"{PREFIX}:{local}"


@dataclass(frozen=True)
class Trip:
    """The manifest a pickup or receipt belongs to, as names."""

    manifest: str
    vehicle_plate: str
    origin: str
    transporter: str
    destination: str


@dataclass(frozen=True)
class Facts:
    """What one custody event says, with its things already named (URIs)."""

    action: Action
    occurred_at: datetime
    offset: str
    epc: str
    site: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    weight_kg: float | None = None
    method: str | None = None
    incident: str | None = None
    trip: Trip | None = None
    category: str | None = None
    department: str | None = None
    epidemic: bool = False

    def corrected(self, data: Mapping[str, Any], site: str | None) -> Facts:
        """These facts as an ``incorrect_data`` correction says they should have been."""
        changes: dict[str, Any] = {}
        if data.get("weight_kg") is not None:
            changes["weight_kg"] = float(data["weight_kg"])
        if data.get("site_id") is not None:
            changes["site"] = site
        if data.get("latitude") is not None and data.get("longitude") is not None:
            changes["latitude"] = float(data["latitude"])
            changes["longitude"] = float(data["longitude"])
        if data.get("method") is not None:
            changes["method"] = str(data["method"])
        return replace(self, **changes)


_STEP = {
    Action.register: ("ADD", "commissioning", "active"),
    Action.collect: ("OBSERVE", "collecting", "disposed"),
    Action.store: ("OBSERVE", "storing", None),
    Action.pickup: ("OBSERVE", "departing", "in_transit"),
    Action.receive: ("OBSERVE", "receiving", "disposed"),
    Action.dispose: ("DELETE", "destroying", "destroyed"),
    Action.inspect: ("OBSERVE", "inspecting", None),
}
_INCIDENT_STEP = {
    Incident.damaged: ("inspecting", "damaged"),
    Incident.leaking: ("inspecting", "damaged"),
    Incident.lost: (None, "unknown"),
    Incident.found: ("inspecting", None),
}


def object_event(f: Facts) -> dict[str, Any]:
    """The EPCIS ObjectEvent of ``f`` (without ``eventID``; see :func:`identified`)."""
    if f.action is Action.report_incident:
        step, disposition = _INCIDENT_STEP[Incident(f.incident or Incident.damaged)]
        kind = "OBSERVE"
    else:
        kind, step, disposition = _STEP[f.action]
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": format_time(f.occurred_at, f.offset),
        "eventTimeZoneOffset": f.offset,
        "epcList": [f.epc],
        "action": kind,
    }
    if step:
        event["bizStep"] = step
    if disposition:
        event["disposition"] = disposition
    if f.latitude is not None and f.longitude is not None:
        event["readPoint"] = {"id": f"geo:{f.latitude!r},{f.longitude!r}"}
    elif f.site is not None:
        event["readPoint"] = {"id": f.site}
    if f.site is not None and f.action is not Action.pickup:
        event["bizLocation"] = {"id": f.site}
    if f.weight_kg is not None:
        event["sensorElementList"] = [
            {"sensorReport": [{"type": "Mass", "value": f.weight_kg, "uom": "KGM"}]}
        ]
    if f.trip is not None and f.action in (Action.pickup, Action.receive):
        t = f.trip
        event["bizTransactionList"] = [{"type": "bol", "bizTransaction": t.manifest}]
        holder_before, holder_after = (
            (t.origin, t.transporter)
            if f.action is Action.pickup
            else (t.transporter, t.destination)
        )
        event["sourceList"] = [
            {"type": "owning_party", "source": t.origin},
            {"type": "possessing_party", "source": holder_before},
        ]
        event["destinationList"] = [
            {"type": "owning_party", "destination": t.destination},
            {"type": "possessing_party", "destination": holder_after},
        ]
        if f.action is Action.pickup:
            event[mw("vehicle")] = t.vehicle_plate
    if f.action is Action.register:
        ilmd: dict[str, Any] = {mw("wasteCategory"): mw(f.category or "infectious")}
        if f.department:
            ilmd[mw("department")] = f.department
        if f.epidemic:
            ilmd[mw("handling")] = mw("epidemic")
        event["ilmd"] = ilmd
    if f.action is Action.dispose and f.method:
        event[mw("disposalMethod")] = mw(f.method)
    if f.action is Action.report_incident and f.incident:
        event[mw("incident")] = mw(f.incident)
    return event


def identified(event: Mapping[str, Any]) -> dict[str, Any]:
    """``event`` with its GS1 event hash as ``eventID`` (first, as the examples put it)."""
    return {"eventID": event_hash(event, NAMESPACES), **event}


def declared_erroneous(
    event: Mapping[str, Any],
    *,
    declared_at: datetime,
    reason: CorrectionReason,
    corrective_ids: list[str],
) -> dict[str, Any]:
    """The event again, with an error declaration (its id does not change)."""
    declaration: dict[str, Any] = {
        "declarationTime": format_time(declared_at),
        "reason": str(reason),
    }
    if corrective_ids:
        declaration["correctiveEventIDs"] = corrective_ids
    return {**event, "errorDeclaration": declaration}


def document(events: list[dict[str, Any]], *, created: datetime) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": format_time(created),
        "epcisBody": {"eventList": events},
    }


def query_document(events: list[dict[str, Any]], *, created: datetime) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": format_time(created),
        "epcisBody": {
            "queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}
        },
    }


# ---- back: what an EPCIS event asks to record -----------------------------------------------


class Unmappable(ValueError):
    """An EPCIS event that is no custody action of ours; the message says why."""


@dataclass(frozen=True)
class Incoming:
    """An EPCIS event read as a custody action, its things still named (URIs)."""

    action: Action
    epc: str
    occurred_at: datetime
    site: str | None
    latitude: float | None
    longitude: float | None
    weight_kg: float | None
    method: DisposalMethod | None
    incident: Incident | None
    manifest: str | None
    vehicle_plate: str | None
    origin: str | None
    destination: str | None
    category: str | None
    department: str | None
    epidemic: bool

    def same_but_correctable(self, other: Incoming) -> bool:
        """Whether ``other`` differs from this only in what a correction may change."""
        fixed = ("weight_kg", "site", "latitude", "longitude", "method")
        return replace(self, **{k: getattr(other, k) for k in fixed}) == other


_GEO = re.compile(r"^geo:(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)(?:[;?].*)?$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")


_HEADS = {
    "bizStep": (CBV + "BizStep-", "cbv:BizStep-", "urn:epcglobal:cbv:bizstep:"),
    "disposition": (CBV + "Disp-", "cbv:Disp-", "urn:epcglobal:cbv:disp:"),
    "sdt": (CBV + "SDT-", "cbv:SDT-", "urn:epcglobal:cbv:sdt:"),
    "btt": (CBV + "BTT-", "cbv:BTT-", "urn:epcglobal:cbv:btt:"),
    "er": (CBV + "ER-", "cbv:ER-", "urn:epcglobal:cbv:er:"),
    "gs1": (GS1_VOC, "gs1:"),
    "mw": (NAMESPACE, PREFIX + ":"),
}


def bare_term(value: Any, vocabulary: str) -> str | None:
    """A vocabulary value in any of its spellings (bare, full URI, CURIE, CBV 1.x URN) as its
    bare term."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    for head in _HEADS[vocabulary]:
        if text.startswith(head) and len(text) > len(head):
            return text[len(head) :]
    return text


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not _TIME.match(value):
        raise Unmappable(f"not an RFC 3339 time: {value!r}")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC)


def _own(event: Mapping[str, Any], local: str) -> Any:
    for key in (mw(local), NAMESPACE + local):
        if key in event:
            return event[key]
    return None


def _entries(event: Mapping[str, Any], name: str, key: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in event.get(name) or []:
        if isinstance(entry, dict) and isinstance(entry.get(key), str):
            out[bare_term(entry.get("type"), "sdt") or ""] = entry[key]
    return out


def read_event(event: Mapping[str, Any]) -> Incoming:
    """What ``event`` (an ObjectEvent of one container) asks to record; raises
    :class:`Unmappable` with the reason when it is nothing we record."""
    if event.get("type") != "ObjectEvent":
        raise Unmappable(f"only ObjectEvents map to custody actions, not {event.get('type')}")
    epcs = event.get("epcList") or []
    if len(epcs) != 1 or event.get("quantityList"):
        raise Unmappable("an event names exactly one container (epcList of one EPC)")
    kind = event.get("action")
    step = bare_term(event.get("bizStep"), "bizStep")
    incident = _own(event, "incident")
    action: Action
    if incident is not None:
        try:
            parsed_incident = Incident(bare_term(incident, "mw") or "")
        except ValueError:
            raise Unmappable(f"unknown incident {incident!r}") from None
        action = Action.report_incident
    else:
        parsed_incident = None
        by_step = {step_name: a for a, (_, step_name, _) in _STEP.items()}
        if step not in by_step:
            raise Unmappable(f"bizStep {event.get('bizStep')!r} is no custody action here")
        action = by_step[step]
    wanted = "OBSERVE" if action is Action.report_incident else _STEP[action][0]
    if kind != wanted:
        raise Unmappable(f"a {step} event has action {wanted}, not {kind}")

    latitude = longitude = None
    site = None
    read_point = (event.get("readPoint") or {}).get("id")
    if isinstance(read_point, str) and (geo := _GEO.match(read_point)):
        latitude, longitude = float(geo[1]), float(geo[2])
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise Unmappable(f"read point out of range: {read_point}")
    elif isinstance(read_point, str):
        site = read_point
    biz_location = (event.get("bizLocation") or {}).get("id")
    if isinstance(biz_location, str):
        site = biz_location

    weight = None
    for element in event.get("sensorElementList") or []:
        for report in element.get("sensorReport") or []:
            if bare_term(report.get("type"), "gs1") == "Mass":
                if report.get("uom") != "KGM" or not isinstance(report.get("value"), int | float):
                    raise Unmappable("a Mass report is a number in KGM")
                weight = float(report["value"])

    manifest = None
    for entry in event.get("bizTransactionList") or []:
        if isinstance(entry, dict) and bare_term(entry.get("type"), "btt") == "bol":
            manifest = entry.get("bizTransaction")
    sources = _entries(event, "sourceList", "source")
    destinations = _entries(event, "destinationList", "destination")

    method = None
    if action is Action.dispose:
        raw_method = _own(event, "disposalMethod")
        try:
            method = DisposalMethod(bare_term(raw_method, "mw") or "") if raw_method else None
        except ValueError:
            raise Unmappable(f"unknown disposal method {raw_method!r}") from None
    ilmd = event.get("ilmd") or {}
    category = department = None
    epidemic = False
    if action is Action.register:
        category = bare_term(_own(ilmd, "wasteCategory"), "mw")
        department = _own(ilmd, "department")
        epidemic = bare_term(_own(ilmd, "handling"), "mw") == "epidemic"
    vehicle = _own(event, "vehicle")
    return Incoming(
        action=action,
        epc=str(epcs[0]),
        occurred_at=parse_time(event.get("eventTime")),
        site=site,
        latitude=latitude,
        longitude=longitude,
        weight_kg=weight,
        method=method,
        incident=parsed_incident,
        manifest=manifest if isinstance(manifest, str) else None,
        vehicle_plate=vehicle if isinstance(vehicle, str) else None,
        origin=sources.get("owning_party"),
        destination=destinations.get("owning_party"),
        category=category,
        department=department if isinstance(department, str) else None,
        epidemic=epidemic,
    )
