"""Transfer manifests through the HTTP API: creation, numbers, scope, signatures, custody,
discrepancies, the printed manifest."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.auth.roles import Role
from service.organizations.models import OrgKind
from tests.conftest import FakeClock
from tests.custody.helpers import scan
from tests.manifests.helpers import (
    collected,
    dispatched,
    member,
    new_manifest,
    pickup,
    receive,
    region,
    sign,
)


def _body(r, **override):  # type: ignore[no-untyped-def]
    body = {
        "origin_organization_id": str(r.hospital.org.id),
        "destination_organization_id": str(r.plant.org.id),
        "vehicle_plate": "蒙A·12345",
    }
    body.update({k: str(v) for k, v in override.items()})
    return body


def test_a_driver_opens_a_manifest_numbered_for_the_province(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    manifest = new_manifest(client, r)
    assert re.fullmatch(r"20261500\d{6}", manifest["number"])
    assert manifest["state"] == "open"
    assert manifest["transporter_organization_id"] == str(r.transporter.org.id)
    assert manifest["driver_user_id"] == str(r.transporter.user.id)
    assert manifest["origin"]["name"] == r.hospital.org.name
    assert manifest["containers"] == [] and manifest["signatures"] == []
    assert manifest["discrepancies"] is None
    second = new_manifest(client, r)
    assert int(second["number"][-6:]) > int(manifest["number"][-6:])


def test_letter_codes_and_other_countries_get_their_own_numbers(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    shandong = region(session, client, jurisdiction="CN-SD")
    assert re.fullmatch(r"20263700\d{6}", new_manifest(client, shandong)["number"])
    texas = region(session, client, jurisdiction="US-TX")
    assert re.fullmatch(r"US-TX-2026-\d{6}", new_manifest(client, texas)["number"])


def test_hospital_staff_must_name_the_transporter(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    missing = client.post("/api/v1/manifests", json=_body(r), headers=r.hospital.staff)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "body.transporter_organization_id"
    made = client.post(
        "/api/v1/manifests",
        json=_body(r, transporter_organization_id=r.transporter.org.id),
        headers=r.hospital.staff,
    )
    assert made.status_code == 201, made.text
    assert made.json()["driver_user_id"] is None


def test_parties_must_be_of_the_right_kind_and_include_the_caller(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    wrong_kind = client.post(
        "/api/v1/manifests",
        json=_body(r, destination_organization_id=r.hospital.org.id),
        headers=r.transporter.headers,
    )
    assert wrong_kind.status_code == 422
    assert "destination" in wrong_kind.json()["detail"]
    other_company = client.post(
        "/api/v1/manifests",
        json=_body(r, transporter_organization_id=r.other_transporter.org.id),
        headers=r.transporter.headers,
    )
    assert other_company.status_code == 403
    outsider = member(session, client, OrgKind.hospital, Role.hospital_staff)
    not_a_party = client.post(
        "/api/v1/manifests",
        json=_body(r, transporter_organization_id=r.transporter.org.id),
        headers=outsider.headers,
    )
    assert not_a_party.status_code == 403
    regulator = client.post(
        "/api/v1/manifests",
        json=_body(r, transporter_organization_id=r.transporter.org.id),
        headers=r.regulator.headers,
    )
    assert regulator.status_code == 403


def test_only_parties_and_the_regions_regulator_see_a_manifest(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    manifest = new_manifest(client, r)
    path = f"/api/v1/manifests/{manifest['id']}"
    for headers in (r.hospital.staff, r.transporter.headers, r.plant.headers, r.regulator.headers):
        assert client.get(path, headers=headers).status_code == 200
    far_regulator = member(session, client, OrgKind.regulator, Role.regulator, jurisdiction="CN-37")
    for headers in (r.other_transporter.headers, far_regulator.headers):
        assert client.get(path, headers=headers).status_code == 404
        assert client.get(path + ".pdf", headers=headers).status_code == 404
        listed = client.get("/api/v1/manifests", headers=headers).json()["items"]
        assert manifest["id"] not in [m["id"] for m in listed]
    assert sign(client, r.other_transporter.headers, manifest, "transporter").status_code == 404
    listed = client.get("/api/v1/manifests", headers=r.plant.headers).json()["items"]
    assert [m["id"] for m in listed] == [manifest["id"]]


def test_list_pages_with_a_cursor(client: TestClient, session: Session, clock: FakeClock) -> None:
    r = region(session, client)
    made = []
    for _ in range(5):
        made.append(new_manifest(client, r)["id"])
        clock.advance(seconds=1)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/manifests", params=params, headers=r.transporter.headers)
        assert page.status_code == 200
        seen += [m["id"] for m in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    bad = client.get("/api/v1/manifests?cursor=nonsense", headers=r.transporter.headers)
    assert bad.status_code == 422


def test_signatures_dispatch_then_receive_and_move_custody(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    [c] = collected(client, r, clock, [3.0])
    manifest = new_manifest(client, r)
    assert sign(client, r.hospital.staff, manifest, "origin").status_code == 409  # nothing on it
    assert pickup(client, r, manifest, c, clock.now).status_code == 201

    assert sign(client, r.transporter.headers, manifest, "origin").status_code == 403
    first = sign(client, r.hospital.staff, manifest, "origin")
    assert first.status_code == 200 and first.json()["state"] == "open"
    assert sign(client, r.hospital.staff, manifest, "origin").status_code == 409
    container = client.get(f"/api/v1/containers/{c['id']}", headers=r.hospital.staff).json()
    assert container["custodian_organization_id"] == str(r.hospital.org.id)

    clock.advance(minutes=2)
    dispatched = sign(client, r.transporter.headers, manifest, "transporter").json()
    assert dispatched["state"] == "in_transit"
    assert dispatched["dispatched_at"] is not None
    container = client.get(f"/api/v1/containers/{c['id']}", headers=r.transporter.headers).json()
    assert container["custodian_organization_id"] == str(r.transporter.org.id)

    # The destination signs only after it has scanned containers in.
    assert sign(client, r.plant.headers, manifest, "destination").status_code == 409
    clock.advance(minutes=10)
    assert receive(client, r, c, 3.0, clock.now).status_code == 201
    received = sign(client, r.plant.headers, manifest, "destination")
    assert received.status_code == 200, received.text
    body = received.json()
    assert body["state"] == "received"
    assert body["discrepancies"]["any"] is False
    assert [s["party"] for s in body["signatures"]] == ["origin", "transporter", "destination"]
    assert body["signatures"][2]["printed_name"] == "destination 签字人"
    [line] = body["containers"]
    assert (line["collection_weight_kg"], line["receipt_weight_kg"]) == (3.0, 3.0)
    container = client.get(f"/api/v1/containers/{c['id']}", headers=r.plant.headers).json()
    assert container["custodian_organization_id"] == str(r.plant.org.id)

    close = f"/api/v1/manifests/{manifest['id']}/close"
    assert client.post(close, headers=r.transporter.headers).status_code == 403
    closed = client.post(close, headers=r.plant.headers)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert client.post(close, headers=r.plant.headers).status_code == 409
    # Signatures are history: still all there after closing.
    again = client.get(f"/api/v1/manifests/{manifest['id']}", headers=r.regulator.headers).json()
    assert len(again["signatures"]) == 3


def test_no_pickup_on_a_manifest_once_dispatched(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    manifest, _ = dispatched(client, r, clock, [2.0])
    [late] = collected(client, r, clock, [1.0])
    assert pickup(client, r, manifest, late, clock.now).status_code == 409


def _received(client, r, clock, sent, got):  # type: ignore[no-untyped-def]
    manifest, containers = dispatched(client, r, clock, sent)
    clock.advance(minutes=5)
    for c, weight in zip(containers, got, strict=True):
        if weight is not None:
            assert receive(client, r, c, weight, clock.now).status_code == 201
    response = sign(client, r.plant.headers, manifest, "destination")
    assert response.status_code == 200, response.text
    return response.json(), containers


def test_a_container_not_received_is_a_count_discrepancy(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    body, containers = _received(client, r, clock, [2.0, 3.0], [2.0, None])
    found = body["discrepancies"]
    assert found["any"] is True
    assert found["missing"] == {"count": 1, "container_ids": [containers[1]["id"]]}
    assert found["weight"] == []
    # The missing container stays in the transporter's custody.
    c = client.get(f"/api/v1/containers/{containers[1]['id']}", headers=r.transporter.headers)
    assert c.json()["custodian_organization_id"] == str(r.transporter.org.id)
    # The regulator's queue has it, against the manifest.
    assert _anomaly_kinds(client, r, body["id"]) == {"count_discrepancy"}


def test_weight_beyond_tolerance_is_flagged(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    body, containers = _received(client, r, clock, [5.0, 5.0], [4.0, 5.0])
    found = body["discrepancies"]
    assert found["any"] is True
    assert found["missing"]["count"] == 0
    [flag] = found["weight"]
    assert flag["container_id"] == containers[0]["id"]
    assert flag["difference_kg"] == -1.0 and flag["difference_pct"] == -20.0
    assert found["total"]["flagged"] is False  # 9 of 10 kg: within 10 %
    queue = client.get(
        "/api/v1/anomalies", params={"kind": "weight_discrepancy"}, headers=r.regulator.headers
    ).json()["items"]
    assert {a["container_id"] for a in queue} == {containers[0]["id"]}


def test_weight_within_tolerance_or_under_the_floor_is_not_flagged(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    # 8 % off; and 15 % off but only 0.15 kg.
    body, _ = _received(client, r, clock, [5.0, 1.0], [4.6, 0.85])
    found = body["discrepancies"]
    assert found["weight"] == []
    assert found["any"] is False
    assert body["totals"]["receipt_weight_kg"] == 5.45
    assert _anomaly_kinds(client, r, body["id"]) == set()
    weight_flags = client.get(
        "/api/v1/anomalies", params={"kind": "weight_discrepancy"}, headers=r.regulator.headers
    ).json()["items"]
    assert weight_flags == []


def _anomaly_kinds(client: TestClient, r, manifest_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    items = client.get("/api/v1/anomalies", headers=r.regulator.headers).json()["items"]
    return {a["kind"] for a in items if a.get("manifest_id") == manifest_id}


def test_the_printed_manifest_names_the_trip(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    body, containers = _received(client, r, clock, [2.0, 3.0], [2.0, 1.0])
    response = client.get(f"/api/v1/manifests/{body['id']}.pdf", headers=r.regulator.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    document = pdfium.PdfDocument(response.content)
    text = "".join(page.get_textpage().get_text_range() for page in document)
    assert body["number"] in text
    assert "医疗废物转移联单" in text and "Transfer Manifest" in text
    for org in (r.hospital.org, r.transporter.org, r.plant.org):
        assert org.name in text
    assert r.plant.org.license_number in text
    for c in containers:
        assert c["short_code"] in text
    assert "destination 签字人" in text
    assert "重量差异" in text  # the 3 kg -> 1 kg container


def test_a_refused_pickup_names_a_manifest_of_another_company(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    [c] = collected(client, r, clock, [1.0])
    manifest = new_manifest(client, r)
    refused = scan(
        client,
        r.other_transporter.headers,
        c["qr_payload"],
        "pickup",
        clock.now,
        manifest_id=manifest["id"],
    )
    assert refused.status_code == 404
