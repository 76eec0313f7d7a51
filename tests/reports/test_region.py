"""The region figures the regulators' dashboard draws: computed on the server, per local day,
scoped to the caller, and equal to each organization's compliance report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from service.anomalies.models import Anomaly
from tests.anomalies.helpers import Chain, chain
from tests.conftest import FakeClock

REPORTED = ("containers", "on_time", "weights")


def _region(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    r = client.get("/api/v1/reports/region", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _lives(ch: Chain, clock: FakeClock) -> datetime:
    """Four containers over two and a half days (clock starts 2026-11-02 16:00 in CN-15):
    A collected 5 kg, picked up 50 h later (storage late), received 4.9 kg, disposed;
    B collected 3 kg corrected to 2.5 kg, still on the road; C only labelled;
    D epidemic waste, 2 kg, disposed 18 h after receipt (late by the epidemic profile's 12 h,
    on time by the national 48 h)."""
    a, b, c, d = ch.register(), ch.register(), ch.register(), ch.register(epidemic=True)
    assert c
    ch.scan(ch.staff, a, "collect", clock.now, weight_kg=5.0)
    collected_b = ch.scan(ch.staff, b, "collect", clock.now, weight_kg=3.0).json()["event"]
    ch.correct_weight(b, collected_b, 2.5, clock.now)
    ch.scan(ch.staff, d, "collect", clock.now, weight_kg=2.0)
    m = ch.manifest()
    start = clock.now
    clock.advance(hours=1)
    for bag in (b, d):
        assert ch.scan(ch.driver, bag, "pickup", clock.now, manifest_id=m.id).status_code == 201
    clock.advance(hours=1)
    assert ch.scan(ch.operator, d, "receive", clock.now, weight_kg=2.0).status_code == 201
    clock.advance(hours=18)
    done = ch.scan(ch.operator, d, "dispose", clock.now, method="incineration")
    assert done.status_code == 201, done.text
    clock.advance(hours=30)
    assert ch.scan(ch.driver, a, "pickup", clock.now, manifest_id=m.id).status_code == 201
    clock.advance(hours=2)
    assert ch.scan(ch.operator, a, "receive", clock.now, weight_kg=4.9).status_code == 201
    clock.advance(hours=3)
    done = ch.scan(ch.operator, a, "dispose", clock.now, method="incineration")
    assert done.status_code == 201, done.text
    clock.advance(hours=1)
    return start


def test_region_series_stays_and_organizations(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    start = _lives(ch, clock)
    period = {"from": (start - timedelta(hours=1)).isoformat(), "to": clock.now.isoformat()}
    body = _region(client, ch.headers(ch.regulator), **period)

    assert body["jurisdiction"] == "CN-15"
    assert body["containers"] == 4
    # Local days in China: 2026-11-02 15:00 to 2026-11-05 00:00.
    assert body["days"] == ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    assert body["weights_per_day"] == {
        "collected": [9.5, 0.0, 0.0, 0.0],
        "received": [2.0, 0.0, 4.9, 0.0],
        "disposed": [0.0, 2.0, 4.9, 0.0],
    }
    stays = {s["stage"]: s for s in body["stages"]}
    assert stays["storage"]["edges_hours"] == [6, 12, 24, 48, 72, 96, 168]
    assert stays["storage"]["limit_hours"] == 48
    assert stays["storage"]["ended"] == [2, 0, 0, 0, 1, 0, 0, 0]  # 1 h, 1 h, 50 h
    assert stays["storage"]["ongoing"] == [0] * 8
    assert stays["transit"]["ended"] == [2, 0, 0, 0, 0, 0, 0, 0]  # 1 h, 2 h
    assert stays["transit"]["ongoing"] == [0, 0, 0, 0, 1, 0, 0, 0]  # B, 55 h on the road
    assert stays["disposal"]["ended"] == [1, 0, 1, 0, 0, 0, 0, 0]  # 3 h, 18 h

    orgs = {o["organization_id"]: o for o in body["organizations"]}
    assert set(orgs) == {str(ch.hospital.id), str(ch.transporter.id), str(ch.plant.id)}
    hospital, plant = orgs[str(ch.hospital.id)], orgs[str(ch.plant.id)]
    assert hospital["containers"] == 4
    assert hospital["weights"] == {"collected_kg": 9.5, "received_kg": 6.9, "disposed_kg": 6.9}
    storage = next(r for r in hospital["on_time"] if r["rule"] == "storage_overdue")
    assert (storage["total"], storage["late"]) == (3, 1)
    disposal = next(r for r in plant["on_time"] if r["rule"] == "disposal_overdue")
    assert (disposal["total"], disposal["late"], disposal["limit_hours"]) == (2, 1, 48)
    assert plant["containers"] == 2

    # Anomalies per local day of detection, by kind: every one of the region's, once.
    stored = session.exec(
        select(Anomaly).where(
            col(Anomaly.organization_id).in_([ch.hospital.id, ch.transporter.id, ch.plant.id])
        )
    ).all()
    assert stored, "the late storage raised an anomaly"
    assert sum(sum(v) for v in body["anomalies_per_day"].values()) == len(stored)
    assert body["anomalies_per_day"]["storage_overdue"][2] >= 1  # at A's pickup, 2026-11-04
    assert {s["site_id"] for s in body["sites"]} == {str(ch.ward.id), str(ch.plant_site.id)}
    open_total = sum(o["open_anomalies"] for o in body["organizations"])
    assert open_total == sum(1 for a in stored if a.status in ("open", "acknowledged"))


def test_each_organizations_figures_equal_its_compliance_report(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    start = _lives(ch, clock)
    for frm, to in (
        (start - timedelta(hours=1), clock.now),  # everything
        (start - timedelta(days=3), start - timedelta(days=1)),  # nothing registered
    ):
        period = {"from": frm.isoformat(), "to": to.isoformat()}
        region = _region(client, ch.headers(ch.regulator), **period)
        assert len(region["organizations"]) == 3
        for figures in region["organizations"]:
            report = client.get(
                "/api/v1/reports/compliance",
                params={**period, "organization_id": figures["organization_id"]},
                headers=ch.headers(ch.regulator),
            ).json()
            assert {k: figures[k] for k in REPORTED} == {k: report[k] for k in REPORTED}
            assert figures["profile"] == report["profile"]


def test_who_sees_which_region(client: TestClient, session: Session, clock: FakeClock) -> None:
    ch = chain(session, client)
    _lives(ch, clock)
    elsewhere = chain(session, client, jurisdiction="CN-37")
    elsewhere.register()
    clock.advance(minutes=1)  # the default period ends now, and excludes its end
    # A regulator sees their jurisdiction only.
    theirs = _region(client, ch.headers(elsewhere.regulator))
    assert theirs["jurisdiction"] == "CN-37"
    assert theirs["containers"] == 1
    assert str(ch.hospital.id) not in {o["organization_id"] for o in theirs["organizations"]}
    # Hospital staff see their own organization, and no one else's.
    own = _region(client, ch.headers(ch.staff))
    assert [o["organization_id"] for o in own["organizations"]] == [str(ch.hospital.id)]
    assert own["containers"] == 4
    refused = client.get(
        "/api/v1/reports/region",
        params={"organization_id": str(elsewhere.hospital.id)},
        headers=ch.headers(ch.staff),
    )
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    # An administrator sees every jurisdiction, or the one asked for.
    everything = _region(client, ch.headers(ch.admin))
    assert everything["jurisdiction"] is None and everything["containers"] == 5
    one = _region(client, ch.headers(ch.admin), jurisdiction="CN-37")
    assert one["containers"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, None),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, None),
        ({"from": "0001-01-01T00:00:00+14:00"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"organization_id": "not-a-uuid"}, "organization_id"),
    ],
)
def test_bad_periods_are_problems(
    client: TestClient,
    session: Session,
    clock: FakeClock,
    params: dict[str, str],
    field: str | None,
) -> None:
    ch = chain(session, client)
    r = client.get("/api/v1/reports/region", params=params, headers=ch.headers(ch.regulator))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["status"] == 422 and problem["title"]
    if field is not None:
        assert f"query.{field}" in {e["field"] for e in problem["errors"]}


@pytest.mark.parametrize(
    ("detected", "day"),
    [
        (datetime(2026, 11, 3, 15, 59, 59, 999999, tzinfo=UTC), "2026-11-03"),
        (datetime(2026, 11, 3, 16, 0, tzinfo=UTC), "2026-11-04"),  # midnight in China
        (datetime(2026, 11, 2, 16, 0, 0, 1, tzinfo=UTC), "2026-11-03"),
    ],
)
def test_an_anomaly_counts_on_its_local_day(
    client: TestClient, session: Session, clock: FakeClock, detected: datetime, day: str
) -> None:
    ch = chain(session, client)
    for n, kind in enumerate(("storage_overdue", "weight_discrepancy")):
        session.add(
            Anomaly(
                kind=kind,
                severity="warning",
                organization_id=ch.hospital.id,
                jurisdiction="CN-15",
                rule="r",
                threshold="t",
                dedupe_key=f"local-day-{n}",
                detected_at=detected + timedelta(days=n),
            )
        )
    session.flush()
    clock.advance(days=5)
    body = _region(
        client,
        ch.headers(ch.regulator),
        **{"from": "2026-11-01T16:00:00+00:00", "to": "2026-11-06T16:00:00+00:00"},
    )
    assert body["days"] == [f"2026-11-0{d}" for d in range(2, 8)]
    first = body["days"].index(day)
    assert body["anomalies_per_day"]["storage_overdue"] == [int(i == first) for i in range(6)]
    assert body["anomalies_per_day"]["weight_discrepancy"] == [
        int(i == first + 1) for i in range(6)
    ]
