"""The compliance report: figures a regulator reads, scoped like everything else."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.anomalies.profile import SHIPPED
from service.anomalies.receipt import on_manifest_received
from service.manifests.discrepancies import WeighedLine, compute_discrepancies
from tests.anomalies.helpers import Chain, chain
from tests.conftest import FakeClock


def test_report_figures_scoping_and_csv(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    start = clock.now
    c = ch.register()
    ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
    m = ch.manifest()
    clock.advance(hours=50)
    ch.scan(ch.driver, c, "pickup", clock.now, manifest_id=m.id)
    clock.advance(hours=2)
    ch.scan(ch.operator, c, "receive", clock.now, weight_kg=4.9)
    clock.advance(hours=3)
    ch.scan(ch.operator, c, "dispose", clock.now, method="incineration")
    params = {
        "organization_id": str(ch.hospital.id),
        "from": (start.isoformat()),
        "to": clock.now.isoformat(),
    }
    r = client.get("/api/v1/reports/compliance", params=params, headers=ch.headers(ch.regulator))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["containers_by_state"] == {"disposed": 1}
    storage = next(o for o in body["on_time"] if o["rule"] == "storage_overdue")
    assert (storage["total"], storage["late"], storage["rate"]) == (1, 1, 0.0)
    assert body["dwell"]["transit"]["median_hours"] == 2.0
    assert body["weights"] == {"collected_kg": 5.0, "received_kg": 4.9, "disposed_kg": 4.9}
    assert body["open_anomalies_by_kind"] == {"storage_overdue": 1}
    csv = client.get(
        "/api/v1/reports/compliance",
        params={**params, "format": "csv"},
        headers=ch.headers(ch.regulator),
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert "on_time,storage_overdue,late,1" in csv.text
    # Without a period: the last 30 days up to now.
    default = client.get(
        "/api/v1/reports/compliance",
        params={"organization_id": str(ch.hospital.id)},
        headers=ch.headers(ch.regulator),
    )
    assert default.status_code == 200, default.text
    assert default.json()["weights"] == body["weights"]
    other = chain(session, client, jurisdiction="CN-37")
    assert (
        client.get(
            "/api/v1/reports/compliance", params=params, headers=ch.headers(other.staff)
        ).status_code
        == 404
    )


def test_manifest_discrepancies_raise_count_and_weight_once(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    found = compute_discrepancies(
        [
            WeighedLine(
                container_id=c["id"],
                collection_weight_kg=5.0,
                received=True,
                receipt_weight_kg=4.0,
            ),
            WeighedLine(
                container_id="gone-1",
                collection_weight_kg=2.0,
                received=False,
                receipt_weight_kg=None,
            ),
        ],
        unexpected=[],
    )
    m = ch.manifest(discrepancies=found.model_dump(mode="json"))
    first = on_manifest_received(session, m, found, clock.now, profiles=SHIPPED)
    again = on_manifest_received(session, m, found, clock.now, profiles=SHIPPED)
    assert sorted(a.kind for a in first) == [
        "count_discrepancy",
        "weight_discrepancy",
        "weight_discrepancy",
    ]
    assert {a.id for a in again} == {a.id for a in first}


def _report(client: TestClient, ch: Chain, org_id: object, start: datetime, end: datetime) -> Any:
    r = client.get(
        "/api/v1/reports/compliance",
        params={"organization_id": str(org_id), "from": start.isoformat(), "to": end.isoformat()},
        headers=ch.headers(ch.regulator),
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_the_report_judges_by_the_organizations_own_profile(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    # The detector times this plant's disposals by its own profile (us-rcra: 2,160 h); so
    # must the report, or the two disagree about the same container.
    ch = chain(session, client, anomaly_profile="us-rcra")
    start = clock.now
    c = ch.register()
    ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
    m = ch.manifest()
    ch.scan(ch.driver, c, "pickup", clock.now, manifest_id=m.id)
    ch.scan(ch.operator, c, "receive", clock.now, weight_kg=5.0)
    clock.advance(hours=60)  # beyond cn-national's 48 h, well within us-rcra's 2,160 h
    ch.scan(ch.operator, c, "dispose", clock.now, method="incineration")
    plant = _report(client, ch, ch.plant.id, start, clock.now)
    assert plant["profile"] == "us-rcra"
    disposal = next(o for o in plant["on_time"] if o["rule"] == "disposal_overdue")
    assert disposal["limit_hours"] == 2160
    assert (disposal["total"], disposal["late"]) == (1, 0)
    hospital = _report(client, ch, ch.hospital.id, start, clock.now)
    assert hospital["profile"] == "cn-national"
    disposal = next(o for o in hospital["on_time"] if o["rule"] == "disposal_overdue")
    assert (disposal["limit_hours"], disposal["late"]) == (48, 1)


def test_the_report_counts_what_corrections_left_standing(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    start = clock.now
    c = ch.register()
    collect = ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0).json()["event"]
    # The scale was wrong: the bag weighed 4.2 kg.
    ch.correct_weight(c, collect, 4.2, clock.now)
    m = ch.manifest()
    clock.advance(hours=1)
    ch.scan(ch.driver, c, "pickup", clock.now, manifest_id=m.id)
    clock.advance(hours=1)
    receipt = ch.scan(ch.operator, c, "receive", clock.now, weight_kg=4.0).json()["event"]
    # The receipt was scanned on the wrong bag: it did not occur.
    voided = ch.scan(
        ch.operator,
        c,
        "correct",
        clock.now,
        corrects_event_id=receipt["id"],
        correction_reason="did_not_occur",
    )
    assert voided.status_code == 201, voided.text
    body = _report(client, ch, ch.hospital.id, start, clock.now + timedelta(minutes=1))
    assert body["weights"] == {"collected_kg": 4.2, "received_kg": 0.0, "disposed_kg": 0.0}
    # The transit stage is still open (its receipt did not occur): no dwell time measured.
    assert body["dwell"]["transit"]["count"] == 0
    assert body["dwell"]["storage"]["count"] == 1


def test_a_stay_is_late_only_beyond_the_limit_and_while_it_goes_on(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    """cn-national times storage at 48 h: exactly 48 h is on time, a second more is late, and
    a storage still going on past 48 h is late already."""
    ch = chain(session, client)
    start = clock.now
    exact, over, waiting = ch.register(), ch.register(), ch.register()
    for bag in (exact, over, waiting):
        assert ch.scan(ch.staff, bag, "collect", start, weight_kg=1.0).status_code == 201
    m = ch.manifest()
    clock.advance(hours=48)
    assert ch.scan(ch.driver, exact, "pickup", clock.now, manifest_id=m.id).status_code == 201
    clock.advance(seconds=1)
    assert ch.scan(ch.driver, over, "pickup", clock.now, manifest_id=m.id).status_code == 201
    storage = {}
    for end in (clock.now, clock.now + timedelta(hours=1)):
        body = _report(client, ch, ch.hospital.id, start, end)
        storage[end] = next(o for o in body["on_time"] if o["rule"] == "storage_overdue")
        assert (storage[end]["total"], storage[end]["late"]) == (3, 2)
        assert body["dwell"]["storage"]["count"] == 2
    # Before the limit, the waiting bag was on time; the period's end is not the judge, now is.
    clock.now = start + timedelta(hours=47)
    early = _report(client, ch, ch.hospital.id, start, start + timedelta(hours=50))
    storage_early = next(o for o in early["on_time"] if o["rule"] == "storage_overdue")
    assert (storage_early["total"], storage_early["late"]) == (3, 1)
