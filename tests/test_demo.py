"""The demo region `make run` loads: browsable with the documented users."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from service.db import make_engine
from service.demo import DEMO_USERS, load_demo
from service.migrate import upgrade


def test_demo_region_is_browsable_with_the_documented_users(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    settings = Settings(data_dir=tmp_path, sweep_interval_seconds=0)
    users = load_demo(engine=engine, settings=settings)
    assert users is not None
    assert [(u, p) for u, p, _ in users] == [(u, p) for u, p, _, _ in DEMO_USERS]
    # A second start does not load it twice.
    assert load_demo(engine=engine, settings=settings) is None

    with TestClient(create_app(settings, engine=engine)) as client:

        def headers(username: str) -> dict[str, str]:
            password = next(p for u, p, _, _ in DEMO_USERS if u == username)
            token = client.post(
                "/api/v1/auth/token", data={"username": username, "password": password}
            ).json()["access_token"]
            return {"Authorization": f"Bearer {token}"}

        regulator = headers("regulator")
        containers = client.get("/api/v1/containers", headers=regulator).json()["items"]
        states = Counter(c["state"] for c in containers)
        assert states == {
            "disposed": 4,
            "hospital_storage": 2,
            "in_transit": 2,
            "collected": 1,
            "labelled": 1,
        }
        for c in containers:
            chain = client.get(f"/api/v1/containers/{c['id']}/events", headers=regulator).json()
            assert chain["verified"], c["id"]
        kinds = {
            a["kind"] for a in client.get("/api/v1/anomalies", headers=regulator).json()["items"]
        }
        assert {"storage_overdue", "weight_discrepancy"} <= kinds
        # Each hospital sees only its own containers.
        hohhot = client.get("/api/v1/containers", headers=headers("hohhot")).json()["items"]
        baotou = client.get("/api/v1/containers", headers=headers("baotou")).json()["items"]
        assert len(hohhot) == 6 and len(baotou) == 4
        assert not {c["id"] for c in hohhot} & {c["id"] for c in baotou}
    engine.dispose()
