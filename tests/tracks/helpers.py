"""Synthetic tracks and a trip driven through the real API, for the track tests."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from service.anomalies.models import Anomaly
from service.anomalies.profile import SHIPPED
from service.anomalies.sweep import run_sweep
from service.anomalies.track_rules import Fix
from service.geo import EARTH_RADIUS_KM, haversine_km
from tests.anomalies.helpers import HOHHOT, PLANT, Chain, chain
from tests.conftest import FakeClock

HOSPITAL = HOHHOT
MIDDLE = ((HOSPITAL[0] + PLANT[0]) / 2, (HOSPITAL[1] + PLANT[1]) / 2)


def east(point: tuple[float, float], km: float) -> tuple[float, float]:
    lat, lon = point
    return (lat, lon + math.degrees(km / (EARTH_RADIUS_KM * math.cos(math.radians(lat)))))


def north(point: tuple[float, float], km: float) -> tuple[float, float]:
    return (point[0] + math.degrees(km / EARTH_RADIUS_KM), point[1])


def aside(point: tuple[float, float], km: float) -> tuple[float, float]:
    """``km`` to the side of the corridor hospital → plant, square to it."""
    dn = haversine_km(*HOSPITAL, PLANT[0], HOSPITAL[1]) * (-1 if PLANT[0] < HOSPITAL[0] else 1)
    de = haversine_km(*HOSPITAL, HOSPITAL[0], PLANT[1]) * (-1 if PLANT[1] < HOSPITAL[1] else 1)
    length = math.hypot(dn, de)
    return north(east(point, -dn / length * km), de / length * km)


def drive(
    a: tuple[float, float], b: tuple[float, float], start: datetime, minutes: float,
    accuracy: float = 10.0,
) -> list[Fix]:  # fmt: skip
    """A fix every 30 s on the straight line from ``a`` to ``b`` (``a`` included, not ``b``)."""
    n = max(1, round(minutes * 2))
    return [
        Fix(
            start + timedelta(seconds=30 * i),
            a[0] + (b[0] - a[0]) * i / n,
            a[1] + (b[1] - a[1]) * i / n,
            accuracy,
        )
        for i in range(n)
    ]


def stand(
    place: tuple[float, float], start: datetime, minutes: float, accuracy: float = 10.0
) -> list[Fix]:
    """A fix every 30 s at ``place``, wobbling by a few metres."""
    return [
        Fix(start + timedelta(seconds=30 * i), *east(place, 0.005 * (i % 3)), accuracy)
        for i in range(round(minutes * 2) + 1)
    ]


def body(fix: Fix, manifest_id: str) -> dict[str, Any]:
    return {
        "manifest_id": manifest_id,
        "recorded_at": fix.at.isoformat(),
        "latitude": fix.latitude,
        "longitude": fix.longitude,
        "accuracy_m": fix.accuracy_m,
    }


@dataclass
class Trip:
    ch: Chain
    clock: FakeClock
    manifest_id: str
    containers: list[dict[str, Any]]
    device: str = "phone-1"

    @property
    def client(self) -> TestClient:
        return self.ch.client

    def post(self, fixes: list[Fix], *, as_user: Any = None) -> Any:
        return self.client.post(
            "/mobile/v1/tracks",
            json={"device_id": self.device, "points": [body(f, self.manifest_id) for f in fixes]},
            headers=self.ch.headers(as_user or self.ch.driver),
        )

    def receive(self) -> None:
        for c in self.containers:
            r = self.ch.scan(self.ch.operator, c, "receive", self.clock.now, weight_kg=5.0)
            assert r.status_code == 201, r.text
        sign(self.ch, self.ch.operator, self.manifest_id, "destination")

    def anomalies(self) -> list[Anomaly]:
        return list(
            self.ch.session.exec(
                select(Anomaly)
                .where(col(Anomaly.manifest_id) == uuid.UUID(self.manifest_id))
                .order_by(col(Anomaly.kind))
            )
        )

    def drive_through(self, fixes: list[Fix], *, step_minutes: int = 10) -> None:
        """Play ``fixes`` as the phone would send them: a batch every ``step_minutes`` of
        what it recorded since the last, with the sweep running at each step."""
        end = fixes[-1].at + timedelta(seconds=30)
        sent = 0
        while self.clock.now < end:
            self.clock.now = min(end, self.clock.now + timedelta(minutes=step_minutes))
            batch = [f for f in fixes[sent:] if f.at <= self.clock.now]
            sent += len(batch)
            if batch:
                r = self.post(batch)
                assert r.status_code == 200, r.text
                assert {x["status"] for x in r.json()["results"]} == {"created"}, r.text
            run_sweep(session=self.ch.session, now=self.clock.now, profiles=SHIPPED)


def sign(ch: Chain, user: Any, manifest_id: str, party: str) -> None:
    r = ch.client.post(
        f"/api/v1/manifests/{manifest_id}/sign",
        json={"party": party, "printed_name": user.username},
        headers=ch.headers(user),
    )
    assert r.status_code == 200, r.text


def open_trip(
    session: Session, client: TestClient, clock: FakeClock, *, containers: int = 2
) -> Trip:
    """Two containers collected at the ward, picked up on a manifest, dispatched."""
    ch = chain(session, client)
    items = [ch.register() for _ in range(containers)]
    for c in items:
        assert ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0).status_code == 201
    r = client.post(
        "/api/v1/manifests",
        json={
            "origin_organization_id": str(ch.hospital.id),
            "destination_organization_id": str(ch.plant.id),
            "vehicle_plate": "蒙A12345",
        },
        headers=ch.headers(ch.driver),
    )
    assert r.status_code == 201, r.text
    manifest_id = r.json()["id"]
    clock.advance(minutes=5)
    for c in items:
        r = ch.scan(ch.driver, c, "pickup", clock.now, manifest_id=manifest_id)
        assert r.status_code == 201, r.text
    sign(ch, ch.staff, manifest_id, "origin")
    sign(ch, ch.driver, manifest_id, "transporter")
    return Trip(ch=ch, clock=clock, manifest_id=manifest_id, containers=items)
