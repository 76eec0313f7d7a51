"""The per-container hash chain (SPEC §6).

Each event's ``hash`` is SHA-256 over the RFC 8785 (JSON Canonicalization Scheme) serialization
of its content, ``prev_hash`` included, so changing any stored field, or removing or reordering
an event, breaks every hash from that point on.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785

GENESIS = "0" * 64
HASH_VERSION = 1

# The fields an event's hash covers, in no particular order (JCS sorts keys).
HASHED_FIELDS = (
    "container_id",
    "seq",
    "action",
    "from_state",
    "to_state",
    "actor_user_id",
    "actor_organization_id",
    "custodian_before",
    "custodian_after",
    "site_id",
    "latitude",
    "longitude",
    "weight_kg",
    "manifest_id",
    "method",
    "incident",
    "corrects_event_id",
    "correction_reason",
    "correction_data",
    "occurred_at",
    "client_time",
    "recorded_at",
    "device_id",
    "client_event_id",
    "note",
    "prev_hash",
)
# Hashed only when set, so that the chains recorded before these fields existed keep their
# hashes (an evidence bundle's content carries them only then, too).
OPTIONAL_HASHED_FIELDS = ("accuracy_m",)


def canonical_value(value: Any) -> Any:
    """Map a stored value onto JSON: timestamps as RFC 3339 UTC with microseconds, ids as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a hashed event")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, Mapping):
        return {str(k): canonical_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_value(v) for v in value]
    return str(value)  # UUIDs and enums


def canonical_content(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object an event's hash covers (evidence bundles carry it as is)."""
    content = {name: canonical_value(fields.get(name)) for name in HASHED_FIELDS}
    for name in OPTIONAL_HASHED_FIELDS:
        if fields.get(name) is not None:
            content[name] = canonical_value(fields[name])
    content["v"] = HASH_VERSION
    return content


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    return jcs(canonical_content(fields))


# RFC 8785 for an event's content, a flat object of text, integers, floats and nulls, as
# ``rfc8785.dumps`` writes it (tests/custody/test_chain.py compares the two over generated
# contents) at a fraction of its cost: every scan hashes one. What is not plain here (a float
# written with an exponent, a boolean, a nested object, text that UTF-8 cannot hold) is written
# by rfc8785 itself.
_ESCAPED = re.compile(r'[\x00-\x1f\\"]')
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
for _code in range(0x20):
    _ESCAPES.setdefault(chr(_code), f"\\u{_code:04x}")
_INT_LIMIT = 2**53 - 1


def _jcs_str(text: str) -> str:
    if _ESCAPED.search(text) is not None:
        text = _ESCAPED.sub(lambda m: _ESCAPES[m.group(0)], text)
    return f'"{text}"'


def _jcs_value(value: Any) -> str:
    kind = type(value)
    if value is None:
        return "null"
    if isinstance(value, str):  # an enum's text too
        return _jcs_str(str.__str__(value))
    if kind is int and -_INT_LIMIT <= value <= _INT_LIMIT:
        return str(value)
    if kind is float and math.isfinite(value):
        if value == 0:
            return "0"
        text = repr(value)
        if "e" not in text:  # ECMAScript's form, as rfc8785 gives it: no ".0" for integers
            return text[:-2] if text.endswith(".0") else text
    return rfc8785.dumps(value).decode("utf-8")


def _utf16_order(key: str) -> bytes:
    return key.encode("utf-16be")


# The keys of an object in RFC 8785's order, each written with its colon, per set of keys (an
# event's content has one of very few); a handful are remembered.
_LAYOUTS: dict[tuple[Any, ...], list[tuple[str, str]]] = {}


def jcs(content: Mapping[str, Any]) -> bytes:
    """``rfc8785.dumps(content)`` for an object of string keys."""
    keys = tuple(content)
    layout = _LAYOUTS.get(keys)
    if layout is None:
        if not all(type(key) is str for key in keys):
            return rfc8785.dumps(dict(content))
        layout = [(key, f"{_jcs_str(key)}:") for key in sorted(keys, key=_utf16_order)]
        if len(_LAYOUTS) < 16:
            _LAYOUTS[keys] = layout
    body = ",".join([f"{written}{_jcs_value(content[key])}" for key, written in layout])
    try:
        return f"{{{body}}}".encode()
    except UnicodeEncodeError:  # lone surrogates: rfc8785 refuses them in its own words
        return rfc8785.dumps(dict(content))


def event_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


@dataclass(frozen=True)
class ChainVerdict:
    verified: bool
    first_bad_event_id: int | None = None
    reason: str | None = None


def verify_chain(events: Iterable[Mapping[str, Any]]) -> ChainVerdict:
    """Check a container's events in ``seq`` order; name the first that does not fit.

    Each mapping holds the hashed fields plus ``id`` and ``hash``.
    """
    expected_prev = GENESIS
    expected_seq = 1
    for event in events:
        event_id = event["id"]
        if event["seq"] != expected_seq:
            return ChainVerdict(False, event_id, f"expected event number {expected_seq}")
        if event["prev_hash"] != expected_prev:
            return ChainVerdict(False, event_id, "prev_hash does not match the previous event")
        if event_hash(event) != event["hash"]:
            return ChainVerdict(False, event_id, "content does not match its hash")
        expected_prev = event["hash"]
        expected_seq += 1
    return ChainVerdict(True)
