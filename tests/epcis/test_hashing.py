"""The GS1 event hash: every id and pre-hash string of the anchors, the relations between
variants of one event, the value rules one by one, and the reference generator."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from service.epcis.digital_link import canonical_gs1_uri, check_digit
from service.epcis.hashing import (
    NotAnEvent,
    canonical_number,
    canonical_time,
    document_namespaces,
    event_hash,
    hash_hex,
    prehash_string,
)
from tests.epcis.anchors import document, require_anchors, vectors

CASES = [
    pytest.param(entry, i, id=f"{entry['file'].split('/')[-1]}#{i}")
    for entry in vectors()
    for i in range(len(entry["expected_hashes"]))
] or [pytest.param(None, 0, id="anchors-absent")]


@pytest.mark.parametrize(("entry", "index"), CASES)
def test_every_anchor_event_gets_its_prehash_and_id(
    entry: dict[str, Any] | None, index: int
) -> None:
    require_anchors()
    assert entry is not None
    doc = document(entry)
    event = doc["epcisBody"]["eventList"][index]
    namespaces = document_namespaces(doc["@context"])
    prehash = prehash_string(event, namespaces)
    assert prehash == entry["prehashes"][index]
    assert event_hash(event, namespaces) == entry["expected_hashes"][index]
    # The id is SHA-256 of the pre-hash, as the anchors state.
    digest = hashlib.sha256(entry["prehashes"][index].encode()).hexdigest()
    assert entry["expected_hashes"][index] == f"ni:///sha-256;{digest}?ver=CBV2.0"


def test_hash_relations_of_the_invariance_document() -> None:
    require_anchors()
    entry = next(e for e in vectors() if e["file"].endswith("medwaste-hash-invariance.jsonld"))
    doc = document(entry)
    namespaces = document_namespaces(doc["@context"])
    ids = [event_hash(e, namespaces) for e in doc["epcisBody"]["eventList"]]
    assert len(entry["hash_relations"]) == len(ids) == 13
    for relation in entry["hash_relations"]:
        same = ids[relation["index"]] == ids[0]
        assert same is (relation["hash_vs_base"] == "same"), relation["change"]


def test_the_correction_document_reuses_the_original_event_id() -> None:
    require_anchors()
    by_file = {e["file"].split("/")[-1]: e for e in vectors()}
    chain = document(by_file["medwaste-custody-chain.jsonld"])
    correction = document(by_file["medwaste-correction.jsonld"])
    original = chain["epcisBody"]["eventList"][4]
    declared = correction["epcisBody"]["eventList"][0]
    ns = document_namespaces(chain["@context"])
    # The re-sent original carries an errorDeclaration, which is not part of the hash.
    assert "errorDeclaration" in declared
    assert event_hash(declared, ns) == event_hash(original, ns) == original["eventID"]
    corrective = correction["epcisBody"]["eventList"][1]
    assert declared["errorDeclaration"]["correctiveEventIDs"] == [event_hash(corrective, ns)]


BASE: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventTime": "2026-11-27T09:15:30.250+08:00",
    "eventTimeZoneOffset": "+08:00",
    "epcList": ["https://id.gs1.org/8004/4012345abc"],
    "action": "OBSERVE",
    "bizStep": "departing",
    "disposition": "in_transit",
    "readPoint": {"id": "geo:41.1,111.2"},
    "bizTransactionList": [
        {"type": "bol", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:20261501000042"}
    ],
    "sourceList": [{"type": "owning_party", "source": "https://id.gs1.org/417/4012345000009"}],
    "destinationList": [
        {"type": "owning_party", "destination": "https://id.gs1.org/417/4098765000003"}
    ],
}


def _variant(**changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def test_typed_entries_put_type_before_value_and_destinations_before_sources() -> None:
    prehash = prehash_string(BASE)
    assert prehash.endswith(
        "bizTransactionList"
        "type=https://ref.gs1.org/cbv/BTT-bolbizTransaction=urn:epcglobal:cbv:bt:4012345000009:20261501000042"
        "destinationList"
        "type=https://ref.gs1.org/cbv/SDT-owning_partydestination=https://id.gs1.org/417/4098765000003"
        "sourceList"
        "type=https://ref.gs1.org/cbv/SDT-owning_partysource=https://id.gs1.org/417/4012345000009"
    )
    # The same entries written value first hash the same.
    flipped = _variant(
        sourceList=[{"source": "https://id.gs1.org/417/4012345000009", "type": "owning_party"}]
    )
    assert event_hash(flipped) == event_hash(BASE)


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({"eventID": "urn:uuid:00000000-0000-4000-8000-000000000000"}, True),
        ({"recordTime": "2030-01-01T00:00:00Z"}, True),
        ({"errorDeclaration": {"declarationTime": "2026-11-28T00:00:00Z"}}, True),
        ({"comment": "a note on the event"}, True),
        ({"eventTime": "2026-11-27T01:15:30.25Z"}, True),
        ({"eventTime": "2026-11-27T09:15:30.2504+08:00"}, True),
        ({"eventTime": "2026-11-27T09:15:30.2505+08:00"}, False),
        ({"bizStep": "https://ref.gs1.org/cbv/BizStep-departing"}, True),
        ({"bizStep": "urn:epcglobal:cbv:bizstep:departing"}, True),
        ({"bizStep": "cbv:BizStep-departing"}, True),
        ({"bizStep": "receiving"}, False),
        ({"disposition": None}, False),
        ({"epcList": ["https://id.gs1.org/8004/4012345abd"]}, False),
        ({"readPoint": {"id": "geo:41.1,111.3"}}, False),
        ({"eventTimeZoneOffset": "+00:00"}, False),
        ({"destinationList": None}, False),
    ],
)
def test_what_changes_an_id_and_what_does_not(change: dict[str, Any], same: bool) -> None:
    assert (event_hash(_variant(**change)) == event_hash(BASE)) is same


def test_weights_lists_and_key_order_do_not_change_the_id() -> None:
    weighed = _variant(
        sensorElementList=[{"sensorReport": [{"type": "Mass", "value": 4.35, "uom": "KGM"}]}]
    )
    assert "sensorReporttype=https://gs1.org/voc/Massvalue=4.35uom=KGM" in prehash_string(weighed)
    as_text = _variant(
        sensorElementList=[{"sensorReport": [{"uom": "KGM", "value": 4.350, "type": "gs1:Mass"}]}]
    )
    assert event_hash(as_text) == event_hash(weighed)
    heavier = _variant(
        sensorElementList=[{"sensorReport": [{"type": "Mass", "value": 4.36, "uom": "KGM"}]}]
    )
    assert event_hash(heavier) != event_hash(weighed)
    two = _variant(epcList=["https://id.gs1.org/8004/4012345b", "https://id.gs1.org/8004/4012345a"])
    swapped = _variant(
        epcList=["https://id.gs1.org/8004/4012345a", "https://id.gs1.org/8004/4012345b"]
    )
    assert event_hash(two) == event_hash(swapped)
    reordered = dict(reversed(list(BASE.items())))
    assert event_hash(reordered) == event_hash(BASE)


def test_extensions_use_the_document_namespaces() -> None:
    event = _variant(**{"mw:vehicle": "蒙A·D1234", "mw:method": "mw:incineration"})
    namespaces = document_namespaces(
        [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"mw": "https://ns.example/mw/"},
        ]
    )
    prehash = prehash_string(event, namespaces)
    assert prehash.endswith(
        "{https://ns.example/mw/}method=https://ns.example/mw/incineration"
        "{https://ns.example/mw/}vehicle=蒙A·D1234"
    )
    other = document_namespaces([{"mw": "https://ns.example/other/"}])
    assert event_hash(event, other) != event_hash(event, namespaces)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4.350", "4.35"),
        ("1.0", "1"),
        ("007", "7"),
        ("1e3", "1000"),
        ("-0.50", "-0.5"),
        ("12345678901234567890", "12345678901234567168"),
        ("nan", "nan"),
        ("4012345MW1", "4012345MW1"),
        ("+08:00", "+08:00"),
    ],
)
def test_numbers_are_written_without_trailing_zeros(text: str, expected: str) -> None:
    assert canonical_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T09:15:30+08:00", "2026-11-27T01:15:30.000Z"),
        ("2026-11-27T01:15:30.25Z", "2026-11-27T01:15:30.250Z"),
        ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),
        ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
        ("2026-12-31T23:59:59.9996-01:00", "2027-01-01T01:00:00.000Z"),
        ("2026-11-27T09:15:30.250+0530", "2026-11-27T03:45:30.250Z"),
        ("not a time", "not a time"),
    ],
)
def test_times_are_utc_milliseconds(text: str, expected: str) -> None:
    assert canonical_time(text) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("urn:epc:id:sgtin:4012345.011111.9876", "https://id.gs1.org/01/04012345111118/21/9876"),
        ("urn:epc:id:sscc:4012345.0000000011", "https://id.gs1.org/00/040123450000000115"),
        ("urn:epc:id:sgln:4012345.00005.0", "https://id.gs1.org/414/4012345000054"),
        ("urn:epc:id:giai:4012345.ABC345", "https://id.gs1.org/8004/4012345ABC345"),
        ("urn:epc:id:pgln:4000001.00000", "https://id.gs1.org/417/4000001000005"),
        (
            "https://example.com/gtin/9780345418913/cpv/344/lot/1223/ser/765tz?x=1",
            "https://id.gs1.org/01/09780345418913/21/765tz",
        ),
        ("https://id.gs1.org/8004/4012345mwabc", "https://id.gs1.org/8004/4012345mwabc"),
        ("https://medwaste.example.org/id/container/abcdefghijklmnopqrstuvwxyz", None),
        ("https://medwaste.example.org/id/manifest/20261501000042", None),
        ("http://id.gs1.org/99/9780345418913", None),
        ("geo:41.1,111.2", None),
        ("urn:epc:id:sgtin:4012345.011111", None),
    ],
)
def test_gs1_identifiers_become_canonical_digital_links(uri: str, expected: str | None) -> None:
    assert canonical_gs1_uri(uri) == expected


def test_check_digits() -> None:
    assert check_digit("401234500000") == "9"  # GLN 4012345000009
    assert check_digit("409876500001") == "0"  # GLN 4098765000010
    assert check_digit("0401234511111") == "8"  # GTIN 04012345111118


def test_a_value_that_is_not_an_event_is_refused() -> None:
    with pytest.raises(NotAnEvent):
        prehash_string({"type": "ObjectEvent"})
    with pytest.raises(NotAnEvent):
        prehash_string({"eventTime": "2026-11-27T09:15:30Z"})


def test_hash_ids_are_recognised() -> None:
    hex_digest = "ab" * 32
    assert hash_hex(f"ni:///sha-256;{hex_digest}?ver=CBV2.0") == hex_digest
    assert hash_hex("urn:uuid:6f0c1d52-0000-4000-8000-000000000001") is None
    assert hash_hex(f"ni:///sha-256;{hex_digest.upper()}?ver=CBV2.0") is None
