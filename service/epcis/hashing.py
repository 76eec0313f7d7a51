"""The GS1 EPCIS event hash (CBV 2.0 "EPCIS Event Hash ID"): ``ni:///sha-256;<hex>?ver=CBV2.0``.

An event's id is the SHA-256 of its *pre-hash string*: its fields in one canonical order, each
as ``key=value`` with nothing between them, so that two serialisations of one event (key
order, time zone, ``4.350`` or ``4.35``, a bare CBV term or its full URI, an EPC URN or a
Digital Link) get one id, and any change of what the event says gets another. What is *not*
part of the event's content is left out: ``eventID``, ``recordTime``, ``errorDeclaration``
and comments.

The canonical order, as the reference generator (PyPI ``epcis-event-hash-generator``) applies
it and our test vectors pin down:

1. ``eventType``, then the standard fields in the order of the EPCIS data model: eventTime,
   eventTimeZoneOffset, certificationInfo, parentID, epcList, inputEPCList, childEPCs, the
   quantity lists, outputEPCList, action, transformationID, bizStep, disposition,
   persistentDisposition, readPoint, bizLocation, sensorElementList. The members of a list are
   sorted (as whole strings); a structured member's own fields keep their order, with its
   extension fields last.
2. Then every other field, each rendered the same way, *sorted as whole strings*: the
   bizTransactionList, destinationList and sourceList (so destinations come before sources),
   ilmd and the user extensions (``{namespace}localName=value``).

Values: surrounding white space trimmed; times in UTC with milliseconds (the 4th decimal
rounds the 3rd half up) and ``Z``; numbers without trailing zeros (any numeric-looking text is
read as a double, so ``007`` becomes ``7``); CBV terms, bare (``receiving``), as CURIEs or as
CBV 1.x URNs, as their ``https://ref.gs1.org/cbv/...`` URIs; GS1 identifiers as constrained
canonical Digital Link URIs (see :mod:`service.epcis.digital_link`); in a typed entry
(business transaction, source, destination) ``type=`` comes *before* the value.

Where the reference generator and the algorithm's text disagree we follow the text and say so:
a boolean is ``true``/``false`` (the generator writes Python's ``True``), an entry without a
type is hashed without one (the generator fails on it), CURIEs with the standard prefixes
(``gs1:``, ``cbv:``) expand even when a document does not declare them, and a time exactly
half-way between two milliseconds rounds up (the generator rounds half to even).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Any

from service.epcis.digital_link import canonical_gs1_uri

HASH_PREFIX = "ni:///sha-256;"
HASH_SUFFIX = "?ver=CBV2.0"
CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"

# Prefixes of the standard EPCIS context: CURIEs with them expand in every document.
STANDARD_PREFIXES = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": CBV,
    "gs1": GS1_VOC,
    "cbvmda": "urn:epcglobal:cbv:mda:",
}
_CBV_URNS = {
    "urn:epcglobal:cbv:bizstep:": CBV + "BizStep-",
    "urn:epcglobal:cbv:disp:": CBV + "Disp-",
    "urn:epcglobal:cbv:btt:": CBV + "BTT-",
    "urn:epcglobal:cbv:sdt:": CBV + "SDT-",
    "urn:epcglobal:cbv:er:": CBV + "ER-",
}
# Never part of an event's content.
EXCLUDED = frozenset({"type", "eventID", "recordTime", "errorDeclaration", "@context"})
_COMMENTS = frozenset({"comment", "rdfs:comment"})
_EVENT_TYPES = frozenset(
    {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent"}
    | {"AssociationEvent"}
)


class NotAnEvent(ValueError):
    """The value given is not an EPCIS event (no ``type`` or ``eventTime``)."""


@cache
def _context() -> dict[str, Any]:
    text = resources.files("service.epcis").joinpath("data/epcis-context-2.0.0.jsonld")
    context: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))["@context"]
    return context


def _terms(definition: Any) -> dict[str, str]:
    """A vocabulary-typed field's bare terms and their full URIs, from the EPCIS context."""
    scoped = definition.get("@context", {}) if isinstance(definition, dict) else {}
    if isinstance(scoped, list):
        scoped = next((c for c in scoped if isinstance(c, dict) and "active" in c), {})
    out: dict[str, str] = {}
    for term, curie in scoped.items():
        if isinstance(curie, str) and ":" in curie and not term.startswith("@"):
            prefix, local = curie.split(":", 1)
            if prefix in STANDARD_PREFIXES:
                out[term] = STANDARD_PREFIXES[prefix] + local
    return out


@cache
def vocabularies() -> dict[str, dict[str, str]]:
    """Bare terms per vocabulary-typed field: ``bizStep``, ``disposition``, ``sourceDestType``,
    ``bizTransactionType``, ``measurementType``, ``sensorAlert``, ``component``,
    ``errorReason``."""
    ctx = _context()
    sensor = ctx["sensorElementList"]["@context"]["sensorReport"]["@context"]
    return {
        "bizStep": _terms(ctx["bizStep"]),
        "disposition": _terms(ctx["disposition"]),
        "sourceDestType": _terms(ctx["sourceList"]["@context"]["type"]),
        "bizTransactionType": _terms(ctx["bizTransactionList"]["@context"]["type"]),
        "measurementType": _terms(sensor["type"]),
        "sensorAlert": _terms(sensor["exception"]),
        "component": _terms(sensor["component"]),
        "errorReason": _terms(ctx["errorDeclaration"]["@context"]["reason"]),
    }


def document_namespaces(context: Any) -> dict[str, str]:
    """The CURIE prefixes a document's ``@context`` declares (over the standard ones)."""
    found = dict(STANDARD_PREFIXES)
    entries = context if isinstance(context, list) else [context]
    for entry in entries:
        if isinstance(entry, dict):
            for prefix, iri in entry.items():
                if isinstance(iri, str) and not prefix.startswith("@"):
                    found[prefix] = iri
    return found


# ---- values ---------------------------------------------------------------------------------

_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})$"
)


def canonical_time(text: str) -> str:
    """A timestamp in UTC with millisecond precision (``2026-11-27T01:15:30.250Z``). Text that
    is not an ISO 8601 date-time is returned unchanged."""
    match = _TIME.match(text.strip())
    if match is None:
        return text.strip()
    year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
    fraction = (match[7] or "") + "0000"
    millis = int(fraction[:3]) + (1 if fraction[3] >= "5" else 0)
    zone = match[8]
    if zone in ("Z", "z"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return text.strip()
    moment = moment.astimezone(UTC) + timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def canonical_number(text: str) -> str:
    """Numeric-looking text as the shortest decimal of its double, without trailing zeros
    (``4.350`` -> ``4.35``, ``1.0`` -> ``1``, ``007`` -> ``7``). Other text is unchanged."""
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    if number == int(number):
        return str(int(number))
    return repr(number)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


class _Canon:
    """Canonicalisation of one document's values (its CURIE prefixes matter)."""

    def __init__(self, namespaces: Mapping[str, str]) -> None:
        self.namespaces = namespaces

    def key(self, key: str) -> str:
        prefix, sep, local = key.partition(":")
        if sep and prefix in self.namespaces:
            return "{" + self.namespaces[prefix] + "}" + local
        return key

    def value(self, raw: Any, vocabulary: str | None = None) -> str:
        text = _scalar_text(raw)
        if vocabulary is not None:
            full = vocabularies()[vocabulary].get(text.strip())
            if full is not None:
                return full
        prefix, sep, local = text.partition(":")
        if sep and prefix in self.namespaces and not local.startswith("//"):
            text = self.namespaces[prefix] + local
        text = text.strip()
        for urn, web in _CBV_URNS.items():
            if text.startswith(urn):
                text = web + text[len(urn) :]
                break
        text = canonical_number(text)
        return canonical_gs1_uri(text) or text

    def field(self, name: str, raw: Any, vocabulary: str | None = None) -> str:
        text = self.value(raw, vocabulary)
        return f"{name}={text}" if text else ""

    def time(self, name: str, raw: Any) -> str:
        text = canonical_time(_scalar_text(raw))
        return f"{name}={text}" if text else ""

    # -- anything not in the data model: extensions, ILMD, unknown fields ---------------------

    def generic(self, key: str, raw: Any) -> list[str]:
        name = self.key(key)
        items = raw if isinstance(raw, list) else [raw]
        out: list[str] = []
        for item in items:
            if isinstance(item, dict):
                out.append(name + "".join(self.extras(item, known=())))
            else:
                text = self.value(item)
                out.append(f"{name}={text}" if text else name)
        return out

    def extras(self, obj: Mapping[str, Any], known: Iterable[str]) -> list[str]:
        """The fields of ``obj`` outside ``known``, rendered and sorted."""
        skip = set(known) | _COMMENTS
        return sorted(s for k, v in obj.items() if k not in skip for s in self.generic(k, v))


# ---- the event's structure ------------------------------------------------------------------

_QUANTITY = ("epcClass", "quantity", "uom")
_METADATA_TIMES = ("time", "startTime", "endTime")
_METADATA = (
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
)
_REPORT = (
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
)
_REPORT_VOCAB = {"type": "measurementType", "exception": "sensorAlert", "component": "component"}


def _as_list(raw: Any) -> list[Any]:
    return raw if isinstance(raw, list) else [raw]


def _simple(c: _Canon, name: str, raw: Any, vocabulary: str | None = None) -> str:
    return "".join(sorted(c.field(name, v, vocabulary) for v in _as_list(raw)))


def _epcs(c: _Canon, name: str, raw: Any) -> str:
    inner = "".join(sorted(c.field("epc", v) for v in _as_list(raw)))
    return name + inner if inner else ""


def _quantities(c: _Canon, name: str, raw: Any) -> str:
    elements = []
    for element in _as_list(raw):
        if not isinstance(element, dict):
            continue
        parts = [c.field(k, element[k]) for k in _QUANTITY if k in element]
        elements.append("quantityElement" + "".join(parts) + "".join(c.extras(element, _QUANTITY)))
    return name + "".join(sorted(elements)) if elements else ""


def _persistent(c: _Canon, name: str, raw: Any) -> str:
    if not isinstance(raw, dict):
        return ""
    inner = _simple(c, "set", raw.get("set", []), "disposition") + _simple(
        c, "unset", raw.get("unset", []), "disposition"
    )
    return name + inner if inner else ""


def _location(c: _Canon, name: str, raw: Any) -> str:
    if not isinstance(raw, dict):
        return ""
    inner = (c.field("id", raw["id"]) if "id" in raw else "") + "".join(c.extras(raw, ("id",)))
    return name + inner if inner else ""


def _sensor_element(c: _Canon, element: Mapping[str, Any]) -> str:
    out = "sensorElement"
    metadata = element.get("sensorMetadata")
    if isinstance(metadata, dict):
        parts = [
            c.time(k, metadata[k]) if k in _METADATA_TIMES else c.field(k, metadata[k])
            for k in _METADATA
            if k in metadata
        ]
        out += "sensorMetadata" + "".join(parts) + "".join(c.extras(metadata, _METADATA))
    reports = []
    for report in _as_list(element.get("sensorReport", [])):
        if not isinstance(report, dict):
            continue
        parts = [
            c.time(k, report[k]) if k == "time" else c.field(k, report[k], _REPORT_VOCAB.get(k))
            for k in _REPORT
            if k in report
        ]
        reports.append("sensorReport" + "".join(parts) + "".join(c.extras(report, _REPORT)))
    out += "".join(sorted(reports))
    return out + "".join(c.extras(element, ("sensorMetadata", "sensorReport")))


def _sensors(c: _Canon, name: str, raw: Any) -> str:
    elements = sorted(_sensor_element(c, e) for e in _as_list(raw) if isinstance(e, dict))
    return name + "".join(elements) if elements else ""


def _typed_list(item_key: str, vocabulary: str) -> Any:
    def render(c: _Canon, name: str, raw: Any) -> str:
        entries = []
        for entry in _as_list(raw):
            if not isinstance(entry, dict) or item_key not in entry:
                continue
            kind = c.field("type", entry["type"], vocabulary) if "type" in entry else ""
            entries.append(kind + c.field(item_key, entry[item_key]))
        return name + "".join(sorted(entries)) if entries else ""

    return render


def _ilmd(c: _Canon, name: str, raw: Any) -> str:
    if not isinstance(raw, dict):
        return "".join(c.generic(name, raw))
    return name + "".join(c.extras(raw, ()))


_ORDERED: tuple[tuple[str, Any], ...] = (
    ("eventTime", lambda c, n, v: c.time(n, v)),
    ("eventTimeZoneOffset", lambda c, n, v: c.field(n, v)),
    ("certificationInfo", _simple),
    ("parentID", _simple),
    ("epcList", _epcs),
    ("inputEPCList", _epcs),
    ("childEPCs", _epcs),
    ("quantityList", _quantities),
    ("childQuantityList", _quantities),
    ("inputQuantityList", _quantities),
    ("outputEPCList", _epcs),
    ("outputQuantityList", _quantities),
    ("action", _simple),
    ("transformationID", _simple),
    ("bizStep", lambda c, n, v: _simple(c, n, v, "bizStep")),
    ("disposition", lambda c, n, v: _simple(c, n, v, "disposition")),
    ("persistentDisposition", _persistent),
    ("readPoint", _location),
    ("bizLocation", _location),
    ("sensorElementList", _sensors),
)
_UNORDERED = {
    "bizTransactionList": _typed_list("bizTransaction", "bizTransactionType"),
    "sourceList": _typed_list("source", "sourceDestType"),
    "destinationList": _typed_list("destination", "sourceDestType"),
    "ilmd": _ilmd,
}
_ORDERED_NAMES = frozenset(name for name, _ in _ORDERED)


def prehash_string(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> str:
    """The canonical pre-hash string of one event. ``namespaces``: the CURIE prefixes of the
    document the event came in (:func:`document_namespaces`); the standard ones by default."""
    kind = event.get("type")
    if not isinstance(kind, str) or "eventTime" not in event:
        raise NotAnEvent("an EPCIS event has a type and an eventTime")
    c = _Canon(namespaces if namespaces is not None else STANDARD_PREFIXES)
    ordered = [render(c, name, event[name]) for name, render in _ORDERED if name in event]
    rest: list[str] = []
    for key, raw in event.items():
        if key in _ORDERED_NAMES or key in EXCLUDED or key in _COMMENTS:
            continue
        render = _UNORDERED.get(key)
        if render is not None:
            rendered = render(c, key, raw)
            if rendered:
                rest.append(rendered)
        else:
            rest.extend(c.generic(key, raw))
    return "eventType=" + kind + "".join(ordered) + "".join(sorted(rest))


def hash_of_prehash(prehash: str) -> str:
    return HASH_PREFIX + hashlib.sha256(prehash.encode("utf-8")).hexdigest() + HASH_SUFFIX


def event_hash(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> str:
    """The event's id: ``ni:///sha-256;<64 hex>?ver=CBV2.0``."""
    return hash_of_prehash(prehash_string(event, namespaces))


_HASH_ID = re.compile(r"^ni:///sha-256;([0-9a-f]{64})\?ver=CBV2\.0$")


def hash_hex(event_id: str) -> str | None:
    """The hex digest of an id in our hash format, or ``None`` for any other kind of id."""
    match = _HASH_ID.match(event_id)
    return match[1] if match else None


def is_event_type(kind: object) -> bool:
    return kind in _EVENT_TYPES
