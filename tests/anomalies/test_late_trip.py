"""One late truck, one anomaly: ``transit_overdue`` for bags on a manifest is raised once about
the manifest, naming its late bags and how late, by the sweep and at receipt alike; a bag on no
manifest keeps its own."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.anomalies.models import Anomaly, Severity, WebhookDelivery
from service.anomalies.profile import SHIPPED
from service.anomalies.rules import Finding, Kind, late_trip
from service.anomalies.sweep import run_sweep
from service.custody.models import Container
from service.labels.signing import short_code
from service.manifests.models import Manifest, ManifestState
from tests.anomalies.helpers import Chain, chain
from tests.conftest import FakeClock


def _transit(session: Session) -> list[Anomaly]:
    return list(session.exec(select(Anomaly).where(Anomaly.kind == "transit_overdue")))


def _new_transit(session: Session, at: datetime) -> list[Anomaly]:
    report = run_sweep(session=session, now=at, profiles=SHIPPED)
    return [a for a in report.new if a.kind == "transit_overdue"]


def _on_trip(ch: Chain, bags: list[dict[str, Any]], at: datetime) -> Manifest:
    m = ch.manifest()
    for c in bags:
        ch.scan(ch.staff, c, "collect", at, weight_kg=5.0)
        ch.scan(ch.driver, c, "pickup", at, manifest_id=m.id)
    m.state, m.dispatched_at = ManifestState.in_transit, at
    ch.session.add(m)
    ch.session.flush()
    return m


def _receive(ch: Chain, c: dict[str, Any], at: datetime) -> list[dict[str, Any]]:
    response = ch.scan(ch.operator, c, "receive", at, weight_kg=5.0)
    assert response.status_code in (200, 201), response.text
    anomalies: list[dict[str, Any]] = response.json()["anomalies"]
    return [a for a in anomalies if a["kind"] == "transit_overdue"]


def test_the_sweep_raises_one_anomaly_per_late_trip_naming_its_bags(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    start = clock.now
    first, second = ch.register(), ch.register()
    m = _on_trip(ch, [first, second], start)
    # A third bag joins the trip three hours later: it is not late when the others are.
    later = ch.register()
    ch.scan(ch.staff, later, "collect", start, weight_kg=5.0)
    m.state = ManifestState.open
    session.add(m)
    clock.advance(hours=3)
    ch.scan(ch.driver, later, "pickup", clock.now, manifest_id=m.id)
    m.state = ManifestState.in_transit
    session.add(m)

    assert _new_transit(session, start + timedelta(hours=24)) == []  # exactly the limit
    [trip] = _new_transit(session, start + timedelta(hours=25, minutes=30))
    assert (trip.manifest_id, trip.container_id) == (m.id, None)
    assert trip.organization_id == ch.transporter.id and trip.jurisdiction == "CN-15"
    assert sorted(trip.facts["bags"]) == sorted(short_code(c["id"]) for c in (first, second))
    assert trip.facts["overdue_hours"] == 1.5
    assert (trip.facts["elapsed_hours"], trip.facts["limit_hours"]) == (25.5, 24.0)
    assert trip.facts["manifest_number"] == m.number
    assert trip.facts["since"] == start.isoformat()
    assert {b["container_id"] for b in trip.facts["containers"]} == {first["id"], second["id"]}
    assert trip.dedupe_key == f"manifest:{m.id}:transit_overdue:trip"

    # Re-running the sweep, and the third bag falling late too, add nothing: one per trip.
    assert _new_transit(session, start + timedelta(hours=26)) == []
    assert _new_transit(session, start + timedelta(hours=30)) == []
    assert [a.id for a in _transit(session)] == [trip.id]


def test_receipt_of_a_late_trip_raises_it_once_and_the_sweep_adds_nothing(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    start = clock.now
    bags = [ch.register(), ch.register(), ch.register()]
    m = _on_trip(ch, bags, start)
    clock.advance(hours=27)  # the truck arrives 3 h late, between two sweeps

    [raised] = _receive(ch, bags[0], clock.now)
    assert raised["facts"]["manifest_number"] == m.number
    # The bags still on the truck are as late as the one received first.
    assert sorted(raised["facts"]["bags"]) == sorted(short_code(c["id"]) for c in bags)
    assert raised["facts"]["overdue_hours"] == 3.0
    for c in bags[1:]:
        [again] = _receive(ch, c, clock.now + timedelta(minutes=5))
        assert again["id"] == raised["id"]
    assert _new_transit(session, clock.now + timedelta(hours=1)) == []
    [stored] = _transit(session)
    assert str(stored.id) == raised["id"] and stored.event_id is not None
    assert (stored.manifest_id, stored.container_id) == (m.id, None)


def test_a_trip_found_by_the_sweep_gets_no_per_bag_anomalies_at_receipt(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    bags = [ch.register(), ch.register()]
    m = _on_trip(ch, bags, clock.now)
    [trip] = _new_transit(session, clock.now + timedelta(hours=25))
    clock.advance(hours=28)
    for c in bags:
        assert [a["id"] for a in _receive(ch, c, clock.now)] == [str(trip.id)]
    assert [(a.manifest_id, a.container_id) for a in _transit(session)] == [(m.id, None)]


def test_a_trip_on_time_raises_nothing_at_receipt(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    bags = [ch.register(), ch.register()]
    _on_trip(ch, bags, clock.now)
    clock.advance(hours=23)
    for c in bags:
        assert _receive(ch, c, clock.now) == []
    assert _new_transit(session, clock.now + timedelta(hours=30)) == []
    assert _transit(session) == []


def test_two_late_trips_are_two_anomalies_and_a_bag_on_no_trip_keeps_its_own(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    one, two = _on_trip(ch, [ch.register()], clock.now), _on_trip(ch, [ch.register()], clock.now)
    loose = ch.register()
    _on_trip(ch, [loose], clock.now)
    # A bag in transit that no manifest carries (as an import of another system's events may
    # leave one): its lateness stays its own.
    container = session.get(Container, loose["id"])
    assert container is not None
    container.current_manifest_id = None
    session.add(container)
    session.flush()

    found = _new_transit(session, clock.now + timedelta(hours=25))
    subjects = sorted((str(a.manifest_id), str(a.container_id)) for a in found)
    assert subjects == sorted([(str(one.id), "None"), (str(two.id), "None"), ("None", loose["id"])])
    [own] = [a for a in found if a.container_id == loose["id"]]
    assert "bags" not in own.facts and own.facts["limit_hours"] == 24.0


def test_the_queue_and_the_webhook_name_the_manifest_and_its_bags(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    hook = client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example/hook", "jurisdiction": "CN-15"},
        headers=ch.headers(ch.admin),
    )
    assert hook.status_code == 201, hook.text
    bags = [ch.register(), ch.register()]
    m = _on_trip(ch, bags, clock.now)
    [trip] = _new_transit(session, clock.now + timedelta(hours=25))

    queue = client.get(
        "/api/v1/anomalies?kind=transit_overdue", headers=ch.headers(ch.regulator)
    ).json()["items"]
    assert [(a["manifest_id"], a["container_id"]) for a in queue] == [(str(m.id), None)]
    assert sorted(queue[0]["facts"]["bags"]) == sorted(short_code(c["id"]) for c in bags)
    # A bag's own list (its chain on the dashboard) shows its trip's lateness; a bag on a
    # trip that was on time shows none.
    on_time = ch.register()
    _on_trip(ch, [on_time], clock.now)
    for c, expected in ((bags[1], [str(trip.id)]), (on_time, [])):
        own = client.get(
            "/api/v1/anomalies",
            params={"container_id": c["id"], "kind": "transit_overdue"},
            headers=ch.headers(ch.regulator),
        ).json()["items"]
        assert [a["id"] for a in own] == expected

    deliveries = [d for d in session.exec(select(WebhookDelivery)) if d.anomaly_id == trip.id]
    [delivery] = deliveries
    sent = delivery.payload["anomaly"]
    assert (sent["kind"], sent["manifest_id"], sent["container_id"]) == (
        "transit_overdue",
        str(m.id),
        None,
    )
    assert sent["facts"]["manifest_number"] == m.number
    assert sorted(sent["facts"]["bags"]) == sorted(short_code(c["id"]) for c in bags)


def _late(
    cid: str, elapsed: float, limit: float, severity: Severity, since: str
) -> tuple[str, Finding]:
    return cid, Finding(
        kind=Kind.transit_overdue,
        severity=severity,
        rule=f"rule {limit:g}",
        threshold=f"> {limit:g} h",
        cause=since,
        facts={"since": since, "elapsed_hours": elapsed, "limit_hours": limit},
    )


def test_late_trip_takes_the_worst_bag_and_lists_the_longest_late_first() -> None:
    bags = [
        _late("aaaaaaaaaaaa", 25.0, 24.0, Severity.warning, "2026-03-01T08:00:00+00:00"),
        _late("bbbbbbbbbbbb", 14.0, 6.5, Severity.critical, "2026-03-01T19:00:00+00:00"),
        _late("cccccccccccc", 30.0, 24.0, Severity.info, "2026-03-01T03:00:00+00:00"),
    ]
    trip = late_trip(manifest_number="20261502000017", late_bags=bags)
    assert trip.kind is Kind.transit_overdue and trip.cause == "trip"
    assert trip.severity is Severity.critical
    assert trip.facts["bags"] == ["BBBB-BBBB", "CCCC-CCCC", "AAAA-AAAA"]
    assert trip.facts["overdue_hours"] == 7.5
    assert (trip.rule, trip.threshold) == ("rule 6.5", "> 6.5 h")
    assert trip.facts["since"] == "2026-03-01T03:00:00+00:00"
    assert trip.facts["manifest_number"] == "20261502000017"
    one = late_trip(manifest_number="", late_bags=bags[:1])
    assert one.facts["bags"] == ["AAAA-AAAA"] and one.severity is Severity.warning
    with pytest.raises(ValueError):
        late_trip(manifest_number="", late_bags=[])
