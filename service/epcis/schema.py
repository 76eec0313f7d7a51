"""Validation against GS1's EPCIS 2.0 JSON schema (shipped in ``data/``), formats included.

Two validators read the same schema: ``fastjsonschema`` compiles it to Python code and says in
about a quarter of a millisecond whether an event is valid (``jsonschema`` takes ten: too slow
for a 10,000-event capture); ``jsonschema`` then lists what is wrong with an invalid one. The
compiled copy tries the cheap alternatives of each ``anyOf`` first (the same schema: an
``anyOf`` holds whichever alternative matches).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator, FormatChecker

_FORMATS = ("uri", "date-time")


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("service.epcis").joinpath("data/EPCIS-JSON-Schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


@cache
def _checker() -> FormatChecker:
    checker = FormatChecker(_FORMATS)
    missing = [f for f in _FORMATS if f not in checker.checkers]
    if missing:  # pragma: no cover - the validators are dependencies of this package
        raise RuntimeError(f"format checkers missing: {missing}")
    return checker


@cache
def _document_validator() -> Draft7Validator:
    return Draft7Validator(_schema(), format_checker=_checker())


@cache
def _event_validator() -> Draft7Validator:
    schema = {
        "$ref": "#/definitions/EPCIS-Document-Event",
        "definitions": _schema()["definitions"],
    }
    return Draft7Validator(schema, format_checker=_checker())


def _problems(validator: Draft7Validator, instance: Any) -> list[dict[str, str]]:
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [
        {
            "field": "/".join(str(p) for p in error.absolute_path) or "(document)",
            "message": error.message[:300],
            "type": str(error.validator),
        }
        for error in found[:20]
    ]


def document_problems(document: Any) -> list[dict[str, str]]:
    """What makes ``document`` (events included) invalid; empty if it is valid."""
    return _problems(_document_validator(), document)


def envelope_problems(document: Mapping[str, Any]) -> list[dict[str, str]]:
    """What makes the document itself invalid, its events aside (each is checked on its own)."""
    body = document.get("epcisBody")
    shell = dict(document)
    if isinstance(body, dict) and isinstance(body.get("eventList"), list):
        shell["epcisBody"] = {**body, "eventList": []}
    return _problems(_document_validator(), shell)


def _cheap_first(node: Any) -> None:
    if isinstance(node, dict):
        for value in node.values():
            _cheap_first(value)
        alternatives = node.get("anyOf")
        if isinstance(alternatives, list):
            alternatives.sort(key=lambda alt: 0 if isinstance(alt, dict) and "enum" in alt else 1)
    elif isinstance(node, list):
        for value in node:
            _cheap_first(value)


_EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent")


@cache
def _compiled(definition: str) -> Callable[[Any], Any]:
    definitions = copy.deepcopy(_schema()["definitions"])
    _cheap_first(definitions)
    return fastjsonschema.compile(
        {"$ref": f"#/definitions/{definition}", "definitions": definitions}
    )


def event_is_valid(event: Any) -> bool:
    """Whether ``event`` is a valid event of an EPCIS document (the fast check)."""
    kind = event.get("type") if isinstance(event, dict) else None
    definition = kind if kind in (*_EVENT_TYPES, "AssociationEvent") else "EPCIS-Document-Event"
    try:
        _compiled(str(definition))(event)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def event_problems(event: Any) -> list[dict[str, str]]:
    """What makes ``event`` invalid; empty if it is valid."""
    if event_is_valid(event):
        return []
    return _problems(_event_validator(), event) or [
        {"field": "(event)", "message": "not a valid EPCIS event", "type": "schema"}
    ]
