"""Capture of departing events on trips this deployment does not know yet, and the GS1 keys an
administrator gives organizations and sites."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from service.auth.roles import Role
from service.config import Settings
from service.custody.machine import Action
from service.custody.models import CustodyEvent, ScanRejection
from service.epcis.identifiers import Namer
from service.epcis.mapping import CONTEXT, Facts, Trip, identified, object_event
from service.manifests.models import Manifest
from service.organizations.models import Organization, Site
from tests.conftest import FakeClock
from tests.epcis.world import Region, build_region, new_keys
from tests.factories import login, make_user


def _container(client: TestClient, region: Region, clock: FakeClock, *, stored: bool) -> str:
    """A container of the region's hospital: stored (ready for a pickup) or only labelled."""
    h = region.hospital
    assert h.site is not None
    # Registered four hours ago, so that the scans and the departure below (dated one to three
    # hours ago) come after it, as every event must.
    clock.now -= timedelta(hours=4)
    made = client.post(
        "/api/v1/containers",
        json={"count": 1, "category": "infectious", "site_id": str(h.site.id)},
        headers=h.headers,
    )
    clock.now += timedelta(hours=4)
    assert made.status_code == 201, made.text
    container = made.json()["containers"][0]
    if stored:
        for action, hours in (("collect", 3), ("store", 2)):
            body: dict[str, Any] = {
                "qr_payload": container["qr_payload"],
                "action": action,
                "client_event_id": f"{action}-{container['id']}",
                "scanned_at": (clock.now - timedelta(hours=hours)).isoformat(),
                "site_id": str(h.site.id),
            }
            if action == "collect":
                body["weight_kg"] = 2.5
            scanned = client.post("/api/v1/scans", json=body, headers=h.headers)
            assert scanned.status_code == 201, scanned.text
    return str(container["id"])


def _departing(namer: Namer, region: Region, container_id: str, number: str, at: datetime) -> Any:
    origin = region.hospital.org
    trip = Trip(
        manifest=namer.manifest(number, origin),
        vehicle_plate="蒙A·D1234",
        origin=namer.party(origin),
        transporter=namer.party(region.transporter.org),
        destination=namer.party(region.plant.org),
    )
    facts = Facts(
        Action.pickup,
        at,
        "+08:00",
        namer.container(container_id, origin),
        latitude=40.8426,
        longitude=111.749,
        trip=trip,
    )
    return identified(object_event(facts))


def _capture(client: TestClient, region: Region, events: list[Any]) -> list[dict[str, Any]]:
    document = {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-02T08:00:00Z",
        "epcisBody": {"eventList": events},
    }
    response = client.post("/epcis/v2/capture", json=document, headers=region.transporter.headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _trips(session: Session, number: str) -> list[Manifest]:
    return list(session.exec(select(Manifest).where(Manifest.number == number)))


@pytest.mark.parametrize("gs1", [True, False], ids=["gs1-keys", "http-names"])
def test_a_refused_departure_leaves_its_refusal_and_no_trip(
    client: TestClient, session: Session, clock: FakeClock, settings: Settings, gs1: bool
) -> None:
    region = build_region(session, client, new_keys(gs1))
    namer = Namer(settings.public_base_url)
    labelled = _container(client, region, clock, stored=False)  # not ready: refused
    at = clock.now - timedelta(hours=1)
    number = f"EXT-{'G' if gs1 else 'H'}-0001"

    [refused] = _capture(client, region, [_departing(namer, region, labelled, number, at)])

    assert refused["status"] == "rejected"
    assert refused["error"]["status"] == 409
    assert refused["error"]["type"].endswith("/invalid-transition")
    assert _trips(session, number) == []  # the trip it opened went with it
    # the refusal itself is evidence, kept
    [rejection] = session.exec(
        select(ScanRejection).where(ScanRejection.container_id == labelled)
    ).all()
    assert rejection.problem_type == "invalid-transition"
    assert rejection.action == Action.pickup

    # the same trip, opened by a departure that is taken, serves the next ones of the document
    first = _container(client, region, clock, stored=True)
    second = _container(client, region, clock, stored=True)
    results = _capture(
        client,
        region,
        [
            _departing(namer, region, labelled, number, at + timedelta(seconds=1)),
            _departing(namer, region, first, number, at + timedelta(seconds=2)),
            _departing(namer, region, second, number, at + timedelta(seconds=3)),
        ],
    )
    assert [r["status"] for r in results] == ["rejected", "created", "created"]
    [trip] = _trips(session, number)
    assert trip.origin_organization_id == region.hospital.org.id
    assert trip.transporter_organization_id == region.transporter.org.id
    assert trip.destination_organization_id == region.plant.org.id
    assert trip.vehicle_plate == "蒙A·D1234"
    pickups = session.exec(
        select(CustodyEvent).where(
            col(CustodyEvent.container_id).in_([first, second]),
            CustodyEvent.action == Action.pickup,
        )
    ).all()
    assert sorted(p.container_id for p in pickups) == sorted([first, second])
    assert {p.manifest_id for p in pickups} == {trip.id}
    assert len(session.exec(select(ScanRejection).where(
        ScanRejection.container_id == labelled)).all()) == 2  # fmt: skip


def test_a_departure_on_an_unknown_trip_that_does_not_name_it_fully_opens_nothing(
    client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    region = build_region(session, client, new_keys(False))
    namer = Namer(settings.public_base_url)
    stored = _container(client, region, clock, stored=True)
    event = _departing(namer, region, stored, "EXT-NOVEHICLE", clock.now - timedelta(hours=1))
    del event["mw:vehicle"]
    del event["eventID"]

    [result] = _capture(client, region, [event])

    assert result["status"] == "rejected"
    assert result["error"]["type"].endswith("/trip-incomplete")
    assert _trips(session, "EXT-NOVEHICLE") == []
    assert (
        session.exec(
            select(CustodyEvent).where(
                CustodyEvent.container_id == stored, CustodyEvent.action == Action.pickup
            )
        ).all()
        == []
    )


# GLNs worked by hand (GS1 mod-10: weights 3, 1, 3, ... from the right of the 12 digits).
ORG_GLN = "6901234000009"
SITE_GLN = "6901234000115"


@pytest.mark.parametrize(
    ("gln", "status"),
    [(ORG_GLN, 201), ("6901234000000", 422), ("6901234000003", 422), (None, 201)],
    ids=["right-check-digit", "check-digit-0", "check-digit-3", "none"],
)
def test_glns_are_checked_before_anything_is_written(
    client: TestClient, session: Session, gln: str | None, status: int
) -> None:
    admin = login(client, make_user(session, Role.admin))
    name = f"GLN test {gln}"
    body: dict[str, Any] = {"name": name, "kind": "hospital", "jurisdiction": "CN-15"}
    if gln is not None:
        body["gln"] = gln
    made = client.post("/api/v1/organizations", json=body, headers=admin)
    assert made.status_code == status, made.text
    orgs = session.exec(select(Organization).where(Organization.name == name)).all()
    assert len(orgs) == (1 if status == 201 else 0)
    if status == 422:
        assert made.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in made.json()["errors"]] == ["body.gln"]
        return
    assert made.json()["gln"] == gln
    # a site's GLN: the same check
    org_id = uuid.UUID(made.json()["id"])
    site = {"name": "ward", "latitude": 40.8, "longitude": 111.7}
    bad = client.post(
        f"/api/v1/organizations/{org_id}/sites",
        json={**site, "gln": SITE_GLN[:-1] + "9"},
        headers=admin,
    )
    assert bad.status_code == 422, bad.text
    good = client.post(
        f"/api/v1/organizations/{org_id}/sites", json={**site, "gln": SITE_GLN}, headers=admin
    )
    assert good.status_code == 201, good.text
    assert good.json()["gln"] == SITE_GLN
    sites = session.exec(select(Site).where(col(Site.organization_id) == org_id)).all()
    assert [s.gln for s in sites] == [SITE_GLN]
