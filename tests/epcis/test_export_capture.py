"""EPCIS export, query and capture through the real API, on both databases."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from service.config import Settings
from service.custody.models import Container, CustodyEvent
from service.epcis.export import records_of
from service.epcis.hashing import document_namespaces, event_hash
from service.epcis.identifiers import Namer
from service.epcis.schema import document_problems
from tests.conftest import Database, FakeClock
from tests.epcis.reference import reference_ids
from tests.epcis.world import Keys, Region, build_region, live, new_keys, second_deployment

LIFE = ["commissioning", "collecting", "storing", "departing", "receiving", "destroying"]


def _export(client: TestClient, region: Region, container_id: str) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/containers/{container_id}/epcis", headers=region.hospital.headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    doc: dict[str, Any] = response.json()
    return doc


def _check_document(doc: dict[str, Any]) -> list[dict[str, Any]]:
    assert document_problems(doc) == []
    events: list[dict[str, Any]] = doc["epcisBody"]["eventList"]
    ns = document_namespaces(doc["@context"])
    assert [e["eventID"] for e in events] == [event_hash(e, ns) for e in events]
    assert reference_ids(copy.deepcopy(doc)) == [e["eventID"] for e in events]
    return events


@pytest.mark.parametrize("gs1", [True, False], ids=["gs1-keys", "http-names"])
@pytest.mark.parametrize("kind", ["clean", "incorrect_data", "did_not_occur", "refused"])
def test_exported_lives_validate_and_match_the_reference_generator(
    client: TestClient, session: Session, clock: FakeClock, settings: Settings, gs1: bool, kind: str
) -> None:
    region = build_region(session, client, new_keys(gs1))
    start = clock.now - timedelta(days=2)
    container_id = live(
        client,
        region,
        start,
        weights=(4.35, 3.1),  # a weight discrepancy
        correct=kind if kind in ("incorrect_data", "did_not_occur") else None,
        refuse_on_the_way=kind == "refused",
        clock=clock,
    )
    events = _check_document(_export(client, region, container_id))
    steps = [e.get("bizStep") for e in events]
    epc = events[0]["epcList"][0]
    if gs1:
        assert epc == "https://id.gs1.org/8004/" + ("6901234" + container_id)[:30]
        assert events[1]["bizLocation"]["id"].startswith("https://id.gs1.org/414/6901234")
    else:
        assert epc == f"{settings.public_base_url}/id/container/{container_id}"
    assert all(e["epcList"] == [epc] for e in events)
    assert events[1]["sensorElementList"][0]["sensorReport"] == [
        {"type": "Mass", "value": 4.35, "uom": "KGM"}
    ]
    departing = events[3]
    assert departing["disposition"] == "in_transit"
    assert departing["readPoint"] == {"id": "geo:40.8426,111.749"}
    assert departing["bizTransactionList"][0]["type"] == "bol"
    assert {s["type"] for s in departing["sourceList"]} == {"owning_party", "possessing_party"}
    assert events[0]["ilmd"]["mw:wasteCategory"] == "mw:sharps"
    if kind in ("clean", "refused"):
        assert steps == LIFE  # a refused scan is evidence, not a custody event
    elif kind == "incorrect_data":
        assert steps == [*LIFE[:5], "receiving", "receiving", "destroying"]
        original, declared, corrective = events[4], events[5], events[6]
        assert declared["eventID"] == original["eventID"]
        assert "errorDeclaration" not in original
        assert declared["errorDeclaration"]["reason"] == "incorrect_data"
        assert declared["errorDeclaration"]["correctiveEventIDs"] == [corrective["eventID"]]
        assert corrective["sensorElementList"][0]["sensorReport"][0]["value"] == 4.31
        assert corrective["eventTime"] == original["eventTime"]
    else:
        assert steps == [*LIFE[:5], "storing", "destroying"]
        declared = events[5]
        assert declared["eventID"] == events[2]["eventID"]
        assert declared["errorDeclaration"]["reason"] == "did_not_occur"
        assert "correctiveEventIDs" not in declared["errorDeclaration"]


def _documents_by_party(
    session: Session, namer: Namer, region: Region, container_id: str
) -> list[tuple[dict[str, str], list[dict[str, Any]]]]:
    """The container's exported events, cut into runs of one organization each (each
    organization's system sends what it did)."""
    chain = list(
        session.exec(
            select(CustodyEvent)
            .where(CustodyEvent.container_id == container_id)
            .order_by(col(CustodyEvent.seq))
        )
    )
    actors = {e.id: e.actor_organization_id for e in chain}
    runs: list[tuple[Any, list[dict[str, Any]]]] = []
    for record in records_of(session, namer, chain):
        org = actors[record.custody_event_id]
        if runs and runs[-1][0] == org:
            runs[-1][1].append(record.event)
        else:
            runs.append((org, [record.event]))
    return [(org, events) for org, events in runs]


@pytest.mark.parametrize("gs1", [True, False], ids=["gs1-keys", "http-names"])
@pytest.mark.parametrize("kind", ["clean", "incorrect_data", "did_not_occur"])
def test_a_life_exported_and_captured_elsewhere_gives_the_same_states_and_ids(
    client: TestClient,
    session: Session,
    clock: FakeClock,
    settings: Settings,
    fresh_database: Database,
    tmp_path: Path,
    gs1: bool,
    kind: str,
) -> None:
    keys: Keys = new_keys(gs1)
    region = build_region(session, client, keys)
    start = clock.now - timedelta(days=2)
    container_id = live(
        client, region, start, clock=clock, correct=None if kind == "clean" else kind
    )
    exported = _export(client, region, container_id)
    namer = Namer(settings.public_base_url)
    runs = _documents_by_party(session, namer, region, container_id)
    state_a = session.get(Container, container_id)
    assert state_a is not None

    other_base = "https://other.example.org" if gs1 else settings.public_base_url
    with second_deployment(fresh_database, tmp_path, clock, other_base) as (b_client, b_session):
        region_b = build_region(b_session, b_client, keys)
        b_session.commit()
        # the same organization's user in the second deployment sends what it did
        same = {
            region.hospital.org.id: region_b.hospital,
            region.transporter.org.id: region_b.transporter,
            region.plant.org.id: region_b.plant,
        }
        for org_id, events in runs:
            headers = same[org_id].headers
            body = {**exported, "epcisBody": {"eventList": events}}
            response = b_client.post("/epcis/v2/capture", json=body, headers=headers)
            assert response.status_code == 200, response.text
            answer = response.json()
            assert answer["rejected"] == 0, answer
            assert {r["status"] for r in answer["results"]} == {"created"}
            # the same document again changes nothing
            again = b_client.post("/epcis/v2/capture", json=body, headers=headers)
            assert again.json()["duplicates"] == len(events)
        b_session.expire_all()
        [copy_b] = b_session.exec(select(Container)).all()
        assert copy_b.state == state_a.state == "disposed"
        assert copy_b.last_seq == state_a.last_seq
        exported_b = _export(b_client, region_b, copy_b.id)
        assert [e["eventID"] for e in exported_b["epcisBody"]["eventList"]] == [
            e["eventID"] for e in exported["epcisBody"]["eventList"]
        ]
        assert exported_b["epcisBody"]["eventList"] == exported["epcisBody"]["eventList"]


def test_bad_events_are_refused_one_by_one_and_the_good_one_is_taken(
    client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    region = build_region(session, client, new_keys(True))
    other = build_region(session, client, new_keys(False))
    start = clock.now - timedelta(days=2)
    done = live(client, region, start, clock=clock)  # disposed already
    others = live(client, other, start, clock=clock)
    fresh = _export(client, region, done)["epcisBody"]["eventList"]
    h = region.hospital
    assert h.site is not None
    made = client.post(
        "/api/v1/containers",
        json={"count": 1, "category": "infectious", "site_id": str(h.site.id)},
        headers=h.headers,
    ).json()["containers"][0]
    life = _export(client, region, made["id"])["epcisBody"]["eventList"]
    collect = {k: v for k, v in fresh[1].items() if k != "eventID"}
    collect["epcList"] = life[0]["epcList"]
    collect["eventTime"] = clock.now.isoformat()  # not before the container was registered
    invalid = {**collect, "eventTime": "yesterday"}
    unknown = {**collect, "epcList": ["https://id.gs1.org/8004/6901234zzzzzzzzzzzzzzzzzzzzzzz"]}
    out_of_order = {k: v for k, v in fresh[5].items() if k != "eventID"}
    out_of_order["epcList"] = life[0]["epcList"]
    out_of_order["eventTime"] = clock.now.isoformat()
    assert other.hospital.site is not None
    their_new = client.post(
        "/api/v1/containers",
        json={"count": 1, "category": "infectious", "site_id": str(other.hospital.site.id)},
        headers=other.hospital.headers,
    ).json()["containers"][0]
    assert others
    foreign = {k: v for k, v in collect.items() if k not in ("bizLocation", "readPoint")}
    foreign["epcList"] = _export(client, other, their_new["id"])["epcisBody"]["eventList"][0][
        "epcList"
    ]
    wrong_id = {**collect, "eventID": "ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0"}
    not_custody = {**collect, "bizStep": "retail_selling"}
    before = session.exec(select(CustodyEvent)).all()
    doc = {
        "@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"mw": "https://medwaste.example/epcis/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-02T08:00:00Z",
        "epcisBody": {
            "eventList": [invalid, unknown, out_of_order, foreign, wrong_id, not_custody, collect]
        },
    }
    response = client.post("/epcis/v2/capture", json=doc, headers=h.headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 6 + ["created"]
    problems = [r["error"] for r in results[:6]]
    assert problems[0]["status"] == 422 and problems[0]["errors"][0]["field"] == "eventTime"
    assert problems[1]["type"].endswith("/unknown-epc") and problems[1]["status"] == 404
    assert problems[2]["status"] in (403, 409)  # a hospital may not dispose of waste
    assert problems[3]["type"].endswith("/custody-mismatch") and problems[3]["status"] == 403
    assert problems[4]["type"].endswith("/event-id-mismatch")
    assert problems[5]["type"].endswith("/not-a-custody-event")
    assert all(set(p) >= {"type", "title", "status", "detail"} for p in problems)
    after = session.exec(select(CustodyEvent)).all()
    assert len(after) == len(before) + 1  # only the good event was written
    container = session.get(Container, made["id"])
    assert container is not None and container.state == "collected"
    # resent: the good one is a duplicate, nothing new is written
    again = client.post("/epcis/v2/capture", json=doc, headers=h.headers).json()
    assert again["duplicates"] == 1 and again["created"] == 0
    assert len(session.exec(select(CustodyEvent)).all()) == len(after)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"type": "EPCISDocument"},
        {"type": "ObjectEvent"},
        "text",
        {
            "type": "EPCISDocument",
            "@context": [],
            "schemaVersion": "2.0",
            "creationDate": "x",
            "epcisBody": {"eventList": []},
        },
    ],
)
def test_a_body_that_is_no_epcis_document_gets_422(
    client: TestClient, session: Session, body: Any
) -> None:
    region = build_region(session, client, new_keys(False))
    response = client.post("/epcis/v2/capture", json=body, headers=region.hospital.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_query_filters_pages_and_scope(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    region = build_region(session, client, new_keys(True))
    other = build_region(session, client, new_keys(False))
    start = clock.now - timedelta(days=2)
    first = live(client, region, start, clock=clock, correct="incorrect_data")
    live(client, other, start, clock=clock)

    def query(party: Any, **params: Any) -> Any:
        response = client.get("/epcis/v2/events", params=params, headers=party.headers)
        assert response.status_code == 200, response.text
        doc = response.json()
        assert document_problems(doc) == []
        assert doc["type"] == "EPCISQueryDocument"
        return response, doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]

    epc = _export(client, region, first)["epcisBody"]["eventList"][0]["epcList"][0]
    _, mine = query(region.hospital, MATCH_anyEPC=epc)
    assert [e.get("bizStep") for e in mine] == [*LIFE[:5], "receiving", "receiving", "destroying"]
    _, received = query(region.hospital, EQ_bizStep="receiving", MATCH_anyEPC=epc)
    assert len(received) == 3 and {e["bizStep"] for e in received} == {"receiving"}
    # the other hospital's containers are not seen
    _, theirs = query(other.hospital, MATCH_anyEPC=epc)
    assert theirs == []
    # time window: only the collection (start) and nothing before
    _, window = query(
        region.hospital,
        MATCH_anyEPC=epc,
        GE_eventTime=start.isoformat(),
        LT_eventTime=(start + timedelta(minutes=1)).isoformat(),
    )
    assert [e["bizStep"] for e in window] == ["collecting"]
    _, none = query(region.hospital, eventType="AggregationEvent")
    assert none == []
    # pages of 3 give the same events as one page
    seen: list[str] = []
    token = None
    for _ in range(10):
        params: dict[str, Any] = {"MATCH_anyEPC": epc, "perPage": 3}
        if token:
            params["nextPageToken"] = token
        response, page = query(region.hospital, **params)
        assert len(page) <= 3
        seen += [e["eventID"] + str("errorDeclaration" in e) for e in page]
        token = response.headers.get("GS1-Next-Page-Token")
        if token is None:
            break
    assert seen == [e["eventID"] + str("errorDeclaration" in e) for e in mine]
    bad = client.get(
        "/epcis/v2/events", params={"GE_eventTime": "soon"}, headers=region.hospital.headers
    )
    assert bad.status_code == 422


def test_commissioning_obeys_the_event_time_rule(
    client: TestClient,
    session: Session,
    clock: FakeClock,
    settings: Settings,
    fresh_database: Database,
    tmp_path: Path,
) -> None:
    """A commissioning dated beyond what an offline queue holds is refused and registers
    nothing; one dated ahead of the server's clock registers at the server's time and keeps
    the reported time as the event's client time."""
    keys = new_keys(True)
    region = build_region(session, client, keys)
    container_id = live(client, region, clock.now - timedelta(days=2), clock=clock)
    namer = Namer(settings.public_base_url)
    [(_, hospital_events), *_] = _documents_by_party(session, namer, region, container_id)
    commissioning = {k: v for k, v in hospital_events[0].items() if k != "eventID"}
    assert commissioning["bizStep"] == "commissioning"
    exported = _export(client, region, container_id)

    def capture(b_client: TestClient, headers: dict[str, str], when: str) -> dict[str, Any]:
        event = {**commissioning, "eventTime": when}
        body = {**exported, "epcisBody": {"eventList": [event]}}
        response = b_client.post("/epcis/v2/capture", json=body, headers=headers)
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        return dict(result)

    with second_deployment(fresh_database, tmp_path, clock, "https://other.example.org") as (
        b_client,
        b_session,
    ):
        region_b = build_region(b_session, b_client, keys)
        b_session.commit()
        headers = region_b.hospital.headers
        for age in (timedelta(days=31), timedelta(days=400)):
            old = capture(b_client, headers, (clock.now - age).isoformat())
            assert old["status"] == "rejected"
            assert old["error"]["status"] == 422
            assert old["error"]["type"].endswith("/event-time-out-of-range")
            assert "30 days" in old["error"]["detail"]
            assert b_session.exec(select(Container)).all() == []

        ahead = clock.now + timedelta(hours=3)
        made = capture(b_client, headers, ahead.isoformat())
        assert made["status"] == "created", made
        b_session.expire_all()
        [copy_b] = b_session.exec(select(Container)).all()
        assert copy_b.created_at == clock.now
        [register] = b_session.exec(select(CustodyEvent)).all()
        assert register.occurred_at == clock.now
        assert register.client_time == ahead
