"""The app judges by its own deployment's profiles (``MEDWASTE_PROFILES_DIR``), read once when
it is made and handed to every rule: the scan, the organizations' check and the reports — not
the process's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.auth.roles import Role
from service.config import Settings
from tests.anomalies.helpers import chain, kinds
from tests.conftest import FakeClock
from tests.factories import login, make_user


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A deployment whose CN-15 stores waste 24 h at most (the national rule says 48 h)."""
    local = tmp_path / "profiles"
    local.mkdir()
    (local / "cn-strict.toml").write_text(
        'name = "cn-strict"\ntitle = "Strict"\nextends = "cn-national"\n'
        "[rules.storage_overdue]\nlimit_hours = 24\n",
        encoding="utf-8",
    )
    (local / "jurisdictions.toml").write_text(
        '[profiles]\n"CN-15" = "cn-strict"\n', encoding="utf-8"
    )
    return Settings(
        data_dir=tmp_path / "data",
        sweep_interval_seconds=0,
        log_checkpoint_seconds=0,
        profiles_dir=local,
    )


def test_the_scan_the_reports_and_the_organizations_use_the_deployments_profiles(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    late, on_time = ch.register(), ch.register()
    for c in (late, on_time):
        ch.scan(ch.staff, c, "collect", clock.now, weight_kg=2.0)
    m = ch.manifest()
    clock.advance(hours=20)
    assert kinds(ch.scan(ch.driver, on_time, "pickup", clock.now, manifest_id=m.id)) == []
    # 30 h in store: late by this deployment's 24 h, on time by the national 48 h.
    clock.advance(hours=10)
    assert kinds(ch.scan(ch.driver, late, "pickup", clock.now, manifest_id=m.id)) == [
        "storage_overdue"
    ]

    region = client.get("/api/v1/reports/region", headers=ch.headers(ch.regulator))
    assert region.status_code == 200, region.text
    storage = next(s for s in region.json()["stages"] if s["stage"] == "storage")
    assert storage["limit_hours"] == 24.0
    report = client.get(
        "/api/v1/reports/compliance",
        params={"organization_id": str(ch.hospital.id)},
        headers=ch.headers(ch.regulator),
    ).json()
    assert report["profile"] == "cn-strict"
    assert {r["rule"]: r["late"] for r in report["on_time"]}["storage_overdue"] == 1

    admin = login(client, make_user(session, Role.admin))
    made = client.post(
        "/api/v1/organizations",
        json={
            "name": "Plant with the strict rules",
            "kind": "disposal",
            "jurisdiction": "CN-37",
            "anomaly_profile": "cn-strict",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
