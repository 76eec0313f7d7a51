"""The demo region: Inner Mongolia (CN-15), with Hohhot and Baotou hospitals.

It is loaded through the public API in-process, exactly as phones and admins would make it,
along a story clock covering the last three days, so that containers sit at several stages of
their lives and the anomaly rules have something real to find.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

with warnings.catch_warnings():
    # Starlette nudges towards a newer HTTP client; this in-process client is all we need.
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import select

from service.anomalies.profile import Profiles
from service.anomalies.sweep import run_sweep
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

# Addresses on 示范路 ("demo road") and phones ending 0000xxx: made up, like the rest.
ORGANIZATIONS: dict[str, dict[str, Any]] = {
    "regulator": {
        "name": "内蒙古自治区生态环境厅 Inner Mongolia Department of Ecology and Environment",
        "address": "呼和浩特市赛罕区示范路1号",
        "phone": "0471-0000100",
        "kind": "regulator",
        "jurisdiction": "CN-15",
    },
    "hohhot": {
        "name": "呼和浩特市第一医院 Hohhot First Hospital",
        "address": "呼和浩特市新城区示范路20号",
        "phone": "0471-0000120",
        "kind": "hospital",
        "jurisdiction": "CN-15",
    },
    "baotou": {
        "name": "包头市中心医院 Baotou Central Hospital",
        "address": "包头市东河区示范路61号",
        "phone": "0472-0000161",
        "kind": "hospital",
        "jurisdiction": "CN-15",
    },
    "transporter": {
        "name": "内蒙古绿源医废运输有限公司 Green Source Medical Waste Transport Co.",
        "address": "呼和浩特市新城区示范路8号",
        "phone": "0471-0000108",
        "kind": "transporter",
        "jurisdiction": "CN-15",
        "license_number": "NMG-YF-T-2024-017",
        "license_expires": "2029-06-30",
        "licensed_categories": ALL_CATEGORIES,
    },
    "plant": {
        "name": "呼和浩特市医疗废物集中处置中心 Hohhot Medical Waste Disposal Centre",
        "address": "呼和浩特市土默特左旗示范路99号",
        "phone": "0471-0000199",
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
    """The public API, driven in-process along a story clock: every request happens at
    ``now``, so registrations, scans and signatures carry consistent times."""

    client: TestClient
    headers: dict[str, dict[str, str]]
    passwords: dict[str, tuple[str, str]]
    now: datetime

    def at(self, when: datetime) -> None:
        """Move the story to ``when`` (tokens are re-issued there)."""
        self.now = when
        for user, (username, password) in self.passwords.items():
            self.headers[user] = _login(self.client, username, password)

    def call(self, user: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers=self.headers.get(user), **kwargs)
        if response.status_code >= 400:
            raise DemoError(f"{method} {path} as {user}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def scan(self, user: str, container: dict[str, Any], action: str, **extra: Any) -> Any:
        body = {
            "qr_payload": container["qr_payload"],
            "action": action,
            "client_event_id": f"demo-{uuid.uuid4()}",
            "scanned_at": self.now.isoformat(),
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
    now = datetime.now(UTC)
    start = now - timedelta(days=3, hours=1)
    app = app_factory(settings, engine=engine)
    with TestClient(app) as client:
        api = _Api(client, {}, {"admin": (f"admin{suffix}", DEMO_USERS[0][1])}, start)
        app.state.clock = lambda: api.now
        api.at(start)
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
            api.passwords[username] = (username + suffix, password)
        _lives(api, orgs, sites, now=now)
    # What silence reveals by now: the bags left too long in Baotou's store.
    with session_scope(engine, write=True) as session:
        run_sweep(session=session, now=now, profiles=Profiles.from_settings(settings))
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
    """Containers at several stages, told in time order: disposed, in transit, overdue in
    the hospital store, just collected, just labelled."""
    h, b, p = sites["hohhot"], sites["baotou"], sites["plant"]

    def ago(**delta: float) -> datetime:
        return now - timedelta(**delta)

    # Baotou: an epidemic ward's bags collected three days ago, still in the store (> 48 h).
    api.at(ago(days=3))
    overdue = _register(
        api, "baotou", b, 2, "infectious", "感染科 Infectious diseases", epidemic=True
    )
    for c in overdue:
        api.scan("baotou", c, "collect", weight_kg=6.0, site_id=b["id"])
    api.at(ago(days=2, hours=23, minutes=40))
    for c in overdue:
        api.scan("baotou", c, "store", site_id=b["id"])

    # Hohhot: a trip finished two days ago (collected, picked up, received, disposed).
    api.at(ago(days=2, hours=7))
    finished = _register(api, "hohhot", h, 3, "infectious", "内科 Internal medicine")
    finished += _register(api, "hohhot", h, 1, "sharps", "急诊 Emergency")
    api.at(ago(days=2, hours=6))
    for c, kg in zip(finished, [4.2, 3.8, 5.1, 1.6], strict=True):
        api.scan(
            "hohhot",
            c,
            "collect",
            weight_kg=kg,
            site_id=h["id"],
            latitude=h["latitude"],
            longitude=h["longitude"],
        )
    api.at(ago(days=2, hours=5))
    for c in finished:
        api.scan("hohhot", c, "store", site_id=h["id"])
    api.at(ago(days=2, hours=2))
    trip = _trip(api, orgs, "hohhot", "蒙A·D1234")
    for c in finished:
        api.scan(
            "driver",
            c,
            "pickup",
            manifest_id=trip["id"],
            latitude=h["latitude"],
            longitude=h["longitude"],
        )
    _sign(api, trip, "hohhot", "origin", "王丽 Wang Li")
    _sign(api, trip, "driver", "transporter", "张伟 Zhang Wei")
    # At the plant one bag weighs noticeably less than at the ward: a weight discrepancy.
    api.at(ago(days=2))
    for c, kg in zip(finished, [4.1, 3.8, 3.9, 1.6], strict=True):
        api.scan(
            "plant",
            c,
            "receive",
            weight_kg=kg,
            site_id=p["id"],
            latitude=p["latitude"],
            longitude=p["longitude"],
        )
    _sign(api, trip, "plant", "destination", "刘强 Liu Qiang")
    api.at(ago(days=1, hours=20))
    for c in finished:
        api.scan("plant", c, "dispose", method="incineration", site_id=p["id"])

    # Hohhot: pathology waste on the road now.
    api.at(ago(hours=6))
    moving = _register(api, "hohhot", h, 2, "pathological", "病理科 Pathology")
    api.at(ago(hours=5))
    for c in moving:
        api.scan("hohhot", c, "collect", weight_kg=2.4, site_id=h["id"])
    api.at(ago(hours=1))
    trip2 = _trip(api, orgs, "hohhot", "蒙A·D5678")
    for c in moving:
        api.scan("driver", c, "pickup", manifest_id=trip2["id"])
    _sign(api, trip2, "hohhot", "origin", "王丽 Wang Li")
    _sign(api, trip2, "driver", "transporter", "张伟 Zhang Wei")

    # Baotou: pharmacy bags, one just collected, one label not yet used.
    api.at(ago(hours=3))
    fresh = _register(api, "baotou", b, 2, "pharmaceutical", "药剂科 Pharmacy")
    api.at(ago(hours=2))
    api.scan("baotou", fresh[0], "collect", weight_kg=1.2, site_id=b["id"])


def _trip(api: _Api, orgs: dict[str, Any], origin: str, plate: str) -> dict[str, Any]:
    manifest: dict[str, Any] = api.call(
        "driver",
        "POST",
        "/api/v1/manifests",
        json={
            "origin_organization_id": orgs[origin]["id"],
            "destination_organization_id": orgs["plant"]["id"],
            "vehicle_plate": plate,
            "driver_name": "张伟 Zhang Wei",
            "driver_licence_number": "150102198001010000",
            "transport_permit_number": "蒙交运管许可呼字150100000017号",
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
