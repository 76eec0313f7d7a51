"""The OpenAPI document says what the server really does: every operation is described, and
every error it documents is a problem body (application/problem+json), as the server sends."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.epcis.hashing import document_namespaces, event_hash
from service.errors import PROBLEM_JSON
from service.labels.signing import short_code
from service.tlog.verifier import (
    check_label,
    leaf_hash,
    open_checkpoint,
    parse_vkey,
    verify_bundle,
    verify_inclusion,
)
from tests.anomalies.helpers import chain
from tests.conftest import FakeClock


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, o) for p, item in spec["paths"].items() for m, o in item.items()]


def test_every_operation_is_described_and_documents_problems(spec: dict[str, Any]) -> None:
    operations = _operations(spec)
    assert len(operations) > 50
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for method, path, op in operations:
        assert op.get("description", "").strip(), (method, path)
        responses = op["responses"]
        errors = {s: r for s, r in responses.items() if s.startswith(("4", "5"))}
        for status, response in errors.items():
            assert list(response["content"]) == [PROBLEM_JSON], (method, path, status)
        if op.get("security"):
            assert {"401", "403"} <= set(errors), (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in errors, (method, path)
        if "{" in path:
            assert "404" in errors, (method, path)
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["examples"][0]["errors"][0]["field"]


def _check(spec: dict[str, Any], method: str, path: str, response: Any) -> None:
    """The answer's status is one the operation documents, and its body fits the schema."""
    documented = spec["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (method, path, response.status_code)
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    # The document's own components as the root, so that its $refs resolve.
    schema = {"$ref": "#/components/schemas/Problem", "components": spec["components"]}
    jsonschema.validate(response.json(), schema)


def test_the_problems_the_server_sends_are_the_documented_ones(
    spec: dict[str, Any], client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    staff = ch.headers(ch.staff)
    _check(spec, "get", "/api/v1/me", client.get("/api/v1/me"))
    _check(
        spec,
        "post",
        "/api/v1/scans",
        client.post("/api/v1/scans", json={"action": "collect"}, headers=staff),
    )
    _check(
        spec,
        "get",
        "/api/v1/containers/{container_id}",
        client.get("/api/v1/containers/NOSUCHCONTAINER1", headers=staff),
    )
    _check(
        spec,
        "post",
        "/api/v1/organizations",
        client.post("/api/v1/organizations", json={}, headers=staff),
    )
    bag = ch.register()
    ch.scan(ch.staff, bag, "collect", clock.now, weight_kg=1.0)
    again = client.post(
        "/api/v1/scans",
        json={
            "qr_payload": bag["qr_payload"],
            "action": "collect",
            "weight_kg": 1.0,
            "scanned_at": clock.now.isoformat(),
            "client_event_id": "openapi-check-2",
        },
        headers=staff,
    )
    assert again.status_code == 409
    _check(spec, "post", "/api/v1/scans", again)


def test_every_json_request_body_has_an_example_that_fits_its_schema(
    spec: dict[str, Any],
) -> None:
    checked = 0
    for method, path, op in _operations(spec):
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        name = body["schema"]["$ref"].rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][name]
        assert schema.get("examples"), (method, path, name)
        for example in schema["examples"]:
            jsonschema.validate(
                example,
                {"$ref": f"#/components/schemas/{name}", "components": spec["components"]},
            )
        checked += 1
    assert checked >= 15


JSON_TYPES = ("application/json", "application/geo+json", "application/ld+json")
# Answers that are files or pages: described, never given a binary example.
FILE_TYPES = ("image/png", "image/svg+xml", "application/pdf", "application/octet-stream")


def _answers(spec: dict[str, Any]) -> list[tuple[str, str, str, str, dict[str, Any]]]:
    """(method, path, status, media type, media type object) of every 2xx answer with a body."""
    return [
        (method, path, status, media, content)
        for method, path, op in _operations(spec)
        for status, response in op["responses"].items()
        if status.startswith("2")
        for media, content in response.get("content", {}).items()
    ]


def _examples(spec: dict[str, Any], content: dict[str, Any]) -> list[Any]:
    """The examples a reader of the document sees for an answer: the media type's own, and its
    schema's (a component's ``examples``)."""
    found = [content["example"]] if "example" in content else []
    ref = content.get("schema", {}).get("$ref")
    if ref is not None:
        found += spec["components"]["schemas"][ref.rsplit("/", 1)[1]].get("examples", [])
    return found


def test_every_json_answer_has_an_example_that_fits_its_schema(spec: dict[str, Any]) -> None:
    checked = set()
    for method, path, status, media, content in _answers(spec):
        if media not in JSON_TYPES:
            continue
        examples = _examples(spec, content)
        assert examples, (method, path, status, media)
        schema = {**content.get("schema", {}), "components": spec["components"]}
        for example in examples:
            # Formats too: a uuid, date-time or date that is not one fails.
            jsonschema.validate(
                example, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
        checked.add((method, path))
    assert len(checked) >= 50
    # The untyped answers too (EPCIS documents, evidence bundles, GeoJSON).
    assert ("get", "/api/v1/containers/{container_id}/evidence") in checked
    assert ("get", "/epcis/v2/events") in checked
    assert ("get", "/api/v1/manifests/{manifest_id}/track.geojson") in checked


def test_a_page_shows_its_items_example(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    pages = [name for name in schemas if name.startswith("Page_")]
    assert len(pages) >= 8
    for name in pages:
        item = name.removeprefix("Page_").removesuffix("_")
        (page,) = schemas[name]["examples"]
        assert page["items"] == schemas[item]["examples"][:1], name
        assert page["next_cursor"]


def test_other_answers_are_described_without_binary_examples(spec: dict[str, Any]) -> None:
    seen = set()
    for method, path, status, media, content in _answers(spec):
        if media in JSON_TYPES:
            continue
        response = spec["paths"][path][method]["responses"][status]
        assert response["description"] != "Successful Response", (method, path, media)
        if media in FILE_TYPES:
            assert "example" not in content and "examples" not in content, (method, path)
        else:
            assert isinstance(content.get("example", ""), str), (method, path, media)
        seen.add(media)
    assert set(FILE_TYPES) | {"text/plain", "text/csv", "text/html"} <= seen


def _walk(value: Any) -> list[dict[str, Any]]:
    """Every object inside ``value``, itself included."""
    if isinstance(value, dict):
        return [value, *(o for v in value.values() for o in _walk(v))]
    if isinstance(value, list):
        return [o for v in value for o in _walk(v)]
    return []


HEX64 = re.compile(r"[0-9a-f]{64}")
HASH_KEYS = {"hash", "prev_hash", "last_hash", "root_hash", "content_sha256", "printed_sha256"}


def _answer_example(spec: dict[str, Any], path: str, media: str = "application/json") -> Any:
    content = spec["paths"][path]["get"]["responses"]["200"]["content"][media]
    return _examples(spec, content)[0]


def test_the_examples_spell_values_as_the_server_does(spec: dict[str, Any]) -> None:
    """Short codes, container ids, hashes and manifest numbers of the server's shapes; the
    label, checkpoint, evidence bundle and EPCIS event ids verify offline, as real ones do."""
    examples = [e for *_, content in _answers(spec) for e in _examples(spec, content)]
    objects = [o for e in examples for o in _walk(e)]
    codes = [o for o in objects if "short_code" in o]
    assert len(codes) >= 5
    for o in codes:
        container_id = o.get("container_id", o.get("id"))
        assert re.fullmatch(r"[a-z2-7]{26}", container_id), o
        assert o["short_code"] == short_code(container_id), o
    hashes = [(k, v) for o in objects for k, v in o.items() if k in HASH_KEYS and v is not None]
    assert len(hashes) >= 20
    assert all(HEX64.fullmatch(v) for _, v in hashes), hashes
    numbers = [o["number"] for o in objects if "vehicle_plate" in o]
    assert numbers and all(re.fullmatch(r"2026150{2}\d{6}", n) for n in numbers), numbers

    keys = {
        k["key_id"]: k["public_key"] for k in _answer_example(spec, "/api/v1/labels/keys")["keys"]
    }
    labels = [o for o in objects if o.get("qr_payload")]
    assert labels
    for o in labels:
        check_label(o["qr_payload"], o.get("id", o["qr_payload"].split(".")[1]), keys)

    vkey = _answer_example(spec, "/api/v1/log/key", "text/plain").strip()
    for path in (
        "/api/v1/containers/{container_id}/evidence",
        "/api/v1/manifests/{manifest_id}/evidence",
    ):
        report = verify_bundle(_answer_example(spec, path), log_keys=[vkey], label_keys=keys)
        assert report.verified, report.first_failure
    checkpoint, _ = open_checkpoint(
        _answer_example(spec, "/api/v1/log/checkpoint", "text/plain"), [parse_vkey(vkey)]
    )
    chain = _answer_example(spec, "/api/v1/containers/{container_id}/events")["events"]
    proof = _answer_example(spec, "/api/v1/log/proof/inclusion")
    assert (proof["leaf_index"], proof["tree_size"]) == (chain[-1]["log_index"], checkpoint.size)
    verify_inclusion(
        proof["leaf_index"],
        proof["tree_size"],
        leaf_hash(bytes.fromhex(chain[-1]["hash"])),
        [bytes.fromhex(h) for h in proof["hashes"]],
        checkpoint.root,
    )
    for path in ("/epcis/v2/events", "/api/v1/containers/{container_id}/epcis"):
        document = _answer_example(spec, path, "application/ld+json")
        body = document["epcisBody"]
        events = body.get("eventList") or body["queryResults"]["resultsBody"]["eventList"]
        namespaces = document_namespaces(document["@context"])
        for event in events:
            rest = {k: v for k, v in event.items() if k != "eventID"}
            assert event["eventID"] == event_hash(rest, namespaces), event
