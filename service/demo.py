"""The demo region: Inner Mongolia (CN-15), with Hohhot and Baotou hospitals.

It is loaded through the public API in-process, exactly as phones and admins would make it,
with scan times in the past so that containers sit at several stages of their lives (and the
anomaly rules have something to find).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import select

from service.auth.roles import Role
from service.auth.service import create_user
from service.config import Settings
from service.db import session_scope
from service.organizations.models import Organization

# (username, password, role, organization key): documented in the README.
DEMO_USERS: list[tuple[str, str, Role, str | None]] = [
    ("admin", "Demo#Root-2026", Role.admin, None),
    ("regulator", "Demo#Audit-2026", Role.regulator, "regulator"),
    ("hohhot", "Demo#Ward-2026", Role.hospital_staff, "hohhot"),
    ("baotou", "Demo#Clinic-2026", Role.hospital_staff, "baotou"),
    ("driver", "Demo#Truck-2026", Role.driver, "transporter"),
    ("storage", "Demo#Depot-2026", Role.storage_operator, "plant"),
    ("plant", "Demo#Kiln-2026", Role.disposal_operator, "plant"),
]

ALL_CATEGORIES = ["infectious", "sharps", "pathological", "pharmaceutical", "chemical"]

ORGANIZATIONS: dict[str, dict[str, Any]] = {
    "regulator": {
        "name": "内蒙古自治区生态环境厅 Inner Mongolia Department of Ecology and Environment",
        "kind": "regulator",
        "jurisdiction": "CN-15",
    },
    "hohhot": {
        "name": "呼和浩特市第一医院 Hohhot First Hospital",
        "kind": "hospital",
        "jurisdiction": "CN-15",
    },
    "baotou": {
        "name": "包头市中心医院 Baotou Central Hospital",
        "kind": "hospital",
        "jurisdiction": "CN-15",
    },
    "transporter": {
        "name": "内蒙古绿源医废运输有限公司 Green Source Medical Waste Transport Co.",
        "kind": "transporter",
        "jurisdiction": "CN-15",
        "license_number": "NMG-YF-T-2024-017",
        "license_expires": "2029-06-30",
        "licensed_categories": ALL_CATEGORIES,
    },
    "plant": {
        "name": "呼和浩特市医疗废物集中处置中心 Hohhot Medical Waste Disposal Centre",
        "kind": "disposal",
        "jurisdiction": "CN-15",
        "license_number": "NMG-WF-D-2023-004",
        "license_expires": "2028-12-31",
        "licensed_categories": ALL_CATEGORIES,
    },
}

SITES: dict[str, dict[str, Any]] = {
    "hohhot": {
        "name": "医废暂存间 Temporary waste store",
        "latitude": 40.8186,
        "longitude": 111.6708,
    },
    "baotou": {
        "name": "医废暂存间 Temporary waste store",
        "latitude": 40.6562,
        "longitude": 109.8403,
    },
    "transporter": {"name": "车队 Vehicle depot", "latitude": 40.8420, "longitude": 111.7513},
    "plant": {"name": "焚烧车间 Incineration plant", "latitude": 40.7470, "longitude": 111.5530},
}


class DemoError(RuntimeError):
    pass


@dataclass
class _Api:
    client: TestClient
    headers: dict[str, dict[str, str]]

    def call(self, user: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers=self.headers.get(user), **kwargs)
        if response.status_code >= 400:
            raise DemoError(f"{method} {path} as {user}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def scan(
        self, user: str, container: dict[str, Any], action: str, at: datetime, **extra: Any
    ) -> Any:
        body = {
            "qr_payload": container["qr_payload"],
            "action": action,
            "client_event_id": f"demo-{uuid.uuid4()}",
            "scanned_at": at.isoformat(),
            "device_id": f"demo-phone-{user}",
            **extra,
        }
        return self.call(user, "POST", "/api/v1/scans", json=body)


def load_demo(
    *,
    engine: Engine,
    settings: Settings,
    force: bool = False,
    app_factory: Callable[..., Any] | None = None,
) -> list[tuple[str, str, str]] | None:
    """Load the demo region; None if the database already holds organizations (and not
    ``force``). Returns the demo users as (username, password, role)."""
    with session_scope(engine) as session:
        existing = session.exec(select(func.count()).select_from(Organization)).one()
    if existing and not force:
        return None

    suffix = "" if not existing else f"-{uuid.uuid4().hex[:4]}"
    with session_scope(engine, write=True) as session:
        create_user(
            session=session,
            username=f"admin{suffix}",
            password=DEMO_USERS[0][1],
            role=Role.admin,
            organization_id=None,
        )

    if app_factory is None:
        from service.app import create_app

        app_factory = create_app
    with TestClient(app_factory(settings, engine=engine)) as client:
        api = _Api(client, {})
        api.headers["admin"] = _login(client, f"admin{suffix}", DEMO_USERS[0][1])
        orgs = {
            key: api.call("admin", "POST", "/api/v1/organizations", json=body)
            for key, body in ORGANIZATIONS.items()
        }
        sites = {
            key: api.call(
                "admin", "POST", f"/api/v1/organizations/{orgs[key]['id']}/sites", json=body
            )
            for key, body in SITES.items()
        }
        for username, password, role, org_key in DEMO_USERS[1:]:
            api.call(
                "admin",
                "POST",
                "/api/v1/users",
                json={
                    "username": username + suffix,
                    "password": password,
                    "role": role,
                    "organization_id": orgs[org_key]["id"] if org_key else None,
                },
            )
            api.headers[username] = _login(client, username + suffix, password)
        _lives(api, orgs, sites, now=datetime.now(UTC))
    return [(u + suffix, p, r.value) for u, p, r, _ in DEMO_USERS]


def _login(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    if response.status_code != 200:
        raise DemoError(f"login {username}: {response.text}")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _register(
    api: _Api,
    user: str,
    site: dict[str, Any],
    count: int,
    category: str,
    department: str,
    epidemic: bool = False,
) -> list[dict[str, Any]]:
    made = api.call(
        user,
        "POST",
        "/api/v1/containers",
        json={
            "count": count,
            "category": category,
            "site_id": site["id"],
            "department": department,
            "epidemic": epidemic,
        },
    )
    containers: list[dict[str, Any]] = made["containers"]
    return containers


def _lives(api: _Api, orgs: dict[str, Any], sites: dict[str, Any], now: datetime) -> None:
    """Containers at several stages: disposed, in transit, overdue in store, just labelled."""
    h, b = sites["hohhot"], sites["baotou"]

    def ago(**delta: float) -> datetime:
        return now - timedelta(**delta)

    # Hohhot: a finished trip two days ago (collected, picked up, received, disposed).
    finished = _register(api, "hohhot", h, 3, "infectious", "内科 Internal medicine")
    finished += _register(api, "hohhot", h, 1, "sharps", "急诊 Emergency")
    for i, c in enumerate(finished):
        api.scan(
            "hohhot",
            c,
            "collect",
            ago(days=2, hours=6),
            weight_kg=[4.2, 3.8, 5.1, 1.6][i],
            site_id=h["id"],
            latitude=h["latitude"],
            longitude=h["longitude"],
        )
        api.scan("hohhot", c, "store", ago(days=2, hours=5), site_id=h["id"])
    trip = _trip(api, orgs, "hohhot", "蒙A·D1234")
    for c in finished:
        api.scan(
            "driver",
            c,
            "pickup",
            ago(days=2, hours=2),
            manifest_id=trip["id"],
            latitude=h["latitude"],
            longitude=h["longitude"],
        )
    _sign(api, trip, "hohhot", "origin", "王丽 Wang Li")
    _sign(api, trip, "driver", "transporter", "张伟 Zhang Wei")
    p = sites["plant"]
    # One bag weighs noticeably less at the plant than at the ward: a weight discrepancy.
    for c, kg in zip(finished, [4.1, 3.8, 3.9, 1.6], strict=True):
        api.scan(
            "plant",
            c,
            "receive",
            ago(days=2),
            weight_kg=kg,
            site_id=p["id"],
            latitude=p["latitude"],
            longitude=p["longitude"],
        )
    _sign(api, trip, "plant", "destination", "刘强 Liu Qiang")
    for c in finished:
        api.scan(
            "plant", c, "dispose", ago(days=1, hours=20), method="incineration", site_id=p["id"]
        )

    # Hohhot: on the road now.
    moving = _register(api, "hohhot", h, 2, "pathological", "病理科 Pathology")
    for c in moving:
        api.scan("hohhot", c, "collect", ago(hours=5), weight_kg=2.4, site_id=h["id"])
    trip2 = _trip(api, orgs, "hohhot", "蒙A·D5678")
    for c in moving:
        api.scan("driver", c, "pickup", ago(hours=1), manifest_id=trip2["id"])
    _sign(api, trip2, "hohhot", "origin", "王丽 Wang Li")
    _sign(api, trip2, "driver", "transporter", "张伟 Zhang Wei")

    # Baotou: waste collected three days ago still in the hospital store (overdue: > 48 h),
    # an epidemic ward's bags, and fresh labels not yet used.
    overdue = _register(
        api, "baotou", b, 2, "infectious", "感染科 Infectious diseases", epidemic=True
    )
    for c in overdue:
        api.scan("baotou", c, "collect", ago(days=3), weight_kg=6.0, site_id=b["id"])
        api.scan("baotou", c, "store", ago(days=3) + timedelta(minutes=20), site_id=b["id"])
    fresh = _register(api, "baotou", b, 2, "pharmaceutical", "药剂科 Pharmacy")
    api.scan("baotou", fresh[0], "collect", ago(hours=2), weight_kg=1.2, site_id=b["id"])


def _trip(api: _Api, orgs: dict[str, Any], origin: str, plate: str) -> dict[str, Any]:
    manifest: dict[str, Any] = api.call(
        "driver",
        "POST",
        "/api/v1/manifests",
        json={
            "origin_organization_id": orgs[origin]["id"],
            "destination_organization_id": orgs["plant"]["id"],
            "vehicle_plate": plate,
        },
    )
    return manifest


def _sign(api: _Api, manifest: dict[str, Any], user: str, party: str, name: str) -> None:
    api.call(
        user,
        "POST",
        f"/api/v1/manifests/{manifest['id']}/sign",
        json={"party": party, "printed_name": name},
    )
