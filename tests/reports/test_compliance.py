"""The compliance report: figures a regulator reads, scoped like everything else."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.anomalies.receipt import on_manifest_received
from service.manifests.discrepancies import WeighedLine, compute_discrepancies
from tests.anomalies.helpers import chain
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
    first = on_manifest_received(session, m, found, clock.now)
    again = on_manifest_received(session, m, found, clock.now)
    assert sorted(a.kind for a in first) == [
        "count_discrepancy",
        "weight_discrepancy",
        "weight_discrepancy",
    ]
    assert {a.id for a in again} == {a.id for a in first}
