"""One container's whole life through the public API, exactly as the phones make it: from the
administrator's setup to the disposal plant, with the manifest signed by all three parties."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.auth.roles import Role
from tests.conftest import FakeClock
from tests.factories import login, make_user

PASSWORD = "a-long-demo-passphrase-9"


class Phone:
    """A user's phone: logs in, resolves labels, syncs scans."""

    def __init__(self, client: TestClient, username: str, device_id: str) -> None:
        self.client, self.username, self.device_id = client, username, device_id
        self.login()

    def login(self) -> None:
        response = self.client.post(
            "/api/v1/auth/token", data={"username": self.username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any], status: int = 200) -> Any:
        response = self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == status, response.text
        return response.json()

    def resolve(self, qr: str) -> Any:
        return self.get("/mobile/v1/resolve", qr=qr)

    def scan(self, qr: str, action: str, at: str, **extra: Any) -> dict[str, Any]:
        """Resolve the label, check the action is offered, then sync the scan."""
        offered = self.resolve(qr)
        assert offered["validity"] == "valid"
        assert action in offered["actions"], offered
        scan = {
            "qr_payload": qr,
            "action": action,
            "client_event_id": f"{self.device_id}:{uuid.uuid4()}",
            "scanned_at": at,
            **extra,
        }
        [result] = self.post("/mobile/v1/sync", {"device_id": self.device_id, "scans": [scan]})[
            "results"
        ]
        assert result["status"] == "created", result
        event: dict[str, Any] = result["event"]
        return event


def test_a_container_from_ward_to_incinerator(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    admin = login(client, make_user(session, Role.admin))

    def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    tag = uuid.uuid4().hex[:6]
    hospital = create(
        "/api/v1/organizations",
        {"name": f"呼和浩特市第一医院 {tag}", "kind": "hospital", "jurisdiction": "CN-15"},
    )
    licensed = {
        "jurisdiction": "CN-15",
        "license_expires": "2030-12-31",
        "licensed_categories": ["infectious", "sharps"],
    }
    carrier = create(
        "/api/v1/organizations",
        {"name": f"草原医废运输 {tag}", "kind": "transporter", "license_number": "T-1", **licensed},
    )
    plant = create(
        "/api/v1/organizations",
        {
            "name": f"呼市医废处置中心 {tag}",
            "kind": "disposal",
            "license_number": "D-1",
            **licensed,
        },
    )
    ward = create(
        f"/api/v1/organizations/{hospital['id']}/sites",
        {"name": "暂存间 Temporary store", "latitude": 40.84, "longitude": 111.75},
    )
    plant_site = create(
        f"/api/v1/organizations/{plant['id']}/sites",
        {"name": "Plant gate", "latitude": 40.70, "longitude": 111.60, "radius_m": 500},
    )
    users = {}
    for role, org in (
        ("hospital_staff", hospital),
        ("driver", carrier),
        ("disposal_operator", plant),
    ):
        users[role] = create(
            "/api/v1/users",
            {
                "username": f"{role}-{tag}",
                "password": PASSWORD,
                "role": role,
                "organization_id": org["id"],
            },
        )
    nurse = Phone(client, f"hospital_staff-{tag}", "nurse-phone")
    driver = Phone(client, f"driver-{tag}", "driver-phone")
    operator = Phone(client, f"disposal_operator-{tag}", "plant-phone")

    # The ward: labels, collection (weighed), the hospital's store.
    [container] = nurse.post(
        "/api/v1/containers",
        {"count": 1, "category": "infectious", "site_id": ward["id"], "department": "感染科"},
        status=201,
    )["containers"]
    qr = container["qr_payload"]
    nurse.scan(qr, "collect", clock.now.isoformat(), weight_kg=4.2, site_id=ward["id"])
    clock.advance(minutes=5)
    nurse.scan(qr, "store", clock.now.isoformat(), site_id=ward["id"])

    # The driver opens the trip and picks the container up.
    clock.advance(minutes=5)
    driver.login()
    manifest = driver.post(
        "/api/v1/manifests",
        {
            "origin_organization_id": hospital["id"],
            "destination_organization_id": plant["id"],
            "vehicle_plate": "蒙A·D1234",
        },
        status=201,
    )
    offered = driver.resolve(qr)
    assert [m["id"] for m in offered["open_manifests"]] == [manifest["id"]]
    driver.scan(
        qr, "pickup", clock.now.isoformat(), manifest_id=manifest["id"], latitude=40.84,
        longitude=111.75,
    )  # fmt: skip
    nurse.login()
    nurse.post(
        f"/api/v1/manifests/{manifest['id']}/sign", {"party": "origin", "printed_name": "王护士"}
    )
    on_the_road = driver.post(
        f"/api/v1/manifests/{manifest['id']}/sign",
        {"party": "transporter", "printed_name": "李师傅"},
    )
    assert on_the_road["state"] == "in_transit"

    # The plant weighs it in, signs, and incinerates it.
    clock.advance(minutes=10)
    operator.login()
    operator.scan(qr, "receive", clock.now.isoformat(), weight_kg=4.1, site_id=plant_site["id"])
    received = operator.post(
        f"/api/v1/manifests/{manifest['id']}/sign",
        {"party": "destination", "printed_name": "张工"},
    )
    assert received["state"] == "received"
    clock.advance(minutes=5)
    operator.scan(qr, "dispose", clock.now.isoformat(), method="incineration")

    # The chain verifies and tells the whole story; custody ended at the plant.
    chain = operator.get(f"/api/v1/containers/{container['id']}/events")
    assert chain["verified"] is True
    assert [e["action"] for e in chain["events"]] == [
        "register",
        "collect",
        "store",
        "pickup",
        "receive",
        "dispose",
    ]
    assert [e["device_id"] for e in chain["events"][1:]] == [
        "nurse-phone",
        "nurse-phone",
        "driver-phone",
        "plant-phone",
        "plant-phone",
    ]
    final = operator.get(f"/api/v1/containers/{container['id']}")
    assert final["state"] == "disposed"
    assert final["custodian_organization_id"] == plant["id"]

    # The manifest: one container, weighed at both ends, signed thrice, nothing amiss.
    closed = operator.post(f"/api/v1/manifests/{manifest['id']}/close", {})
    assert closed["state"] == "closed"
    nurse.login()
    seen = nurse.get(f"/api/v1/manifests/{manifest['id']}")
    assert [c["container_id"] for c in seen["containers"]] == [container["id"]]
    assert seen["containers"][0]["collection_weight_kg"] == 4.2
    assert seen["containers"][0]["receipt_weight_kg"] == 4.1
    assert [(s["party"], s["printed_name"]) for s in seen["signatures"]] == [
        ("origin", "王护士"),
        ("transporter", "李师傅"),
        ("destination", "张工"),
    ]
    assert seen["discrepancies"]["any"] is False
    assert seen["discrepancies"]["missing"]["count"] == 0
    assert seen["discrepancies"]["weight"] == []
