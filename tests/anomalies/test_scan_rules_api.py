"""Scans through the API: what each one raises, and a clean life that raises nothing."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from service.anomalies.models import Anomaly
from service.anomalies.profile import SHIPPED
from service.anomalies.sweep import run_sweep
from service.custody.models import Container
from tests.anomalies.helpers import HOHHOT, PLANT, Chain, chain, kinds
from tests.conftest import FakeClock


def _mine(ch: Chain):  # type: ignore[no-untyped-def]
    """Anomalies about this test's chain only (other tests may have committed their own)."""
    orgs = [ch.hospital.id, ch.transporter.id, ch.plant.id]
    own_containers = select(Container.id).where(
        col(Container.origin_organization_id) == ch.hospital.id
    )
    return or_(
        col(Anomaly.organization_id).in_(orgs), col(Anomaly.container_id).in_(own_containers)
    )


def _count(session: Session, ch: Chain) -> int:
    return session.exec(select(func.count()).select_from(Anomaly).where(_mine(ch))).one()


def test_a_clean_whole_life_raises_nothing(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    assert (
        kinds(ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0, site_id=ch.ward.id)) == []
    )
    clock.advance(hours=1)
    assert kinds(ch.scan(ch.staff, c, "store", clock.now)) == []
    m = ch.manifest()
    clock.advance(hours=20)
    assert (
        kinds(
            ch.scan(
                ch.driver,
                c,
                "pickup",
                clock.now,
                manifest_id=m.id,
                latitude=HOHHOT[0],
                longitude=HOHHOT[1],
            )
        )
        == []
    )
    clock.advance(hours=2)
    assert (
        kinds(
            ch.scan(
                ch.operator,
                c,
                "receive",
                clock.now,
                weight_kg=5.3,
                site_id=ch.plant_site.id,
                latitude=PLANT[0],
                longitude=PLANT[1],
            )
        )
        == []
    )
    clock.advance(hours=8)
    assert kinds(ch.scan(ch.operator, c, "dispose", clock.now, method="incineration")) == []
    report = run_sweep(session=session, now=clock.advance(days=30), profiles=SHIPPED)
    assert [a for a in report.new if a.container_id == c["id"]] == []
    assert _count(session, ch) == 0


def test_pickup_after_49_hours_raises_storage_overdue_once(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    collected_at = clock.now
    ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
    m = ch.manifest()
    clock.advance(hours=49)
    assert kinds(ch.scan(ch.driver, c, "pickup", clock.now, manifest_id=m.id)) == [
        "storage_overdue"
    ]
    anomaly = session.exec(select(Anomaly).where(_mine(ch))).one()
    assert anomaly.dedupe_key == f"container:{c['id']}:storage_overdue:{collected_at.isoformat()}"
    # The sweep (which did not run in time) finds nothing new: the container is in transit.
    run_sweep(session=session, now=clock.now, profiles=SHIPPED)
    assert _count(session, ch) == 1


def test_event_time_counts_for_a_scan_synced_late(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
    m = ch.manifest()
    happened = clock.now + timedelta(hours=47)
    clock.advance(hours=96)  # the phone synced two days after the pickup
    assert kinds(ch.scan(ch.driver, c, "pickup", happened, manifest_id=m.id)) == []


def test_scan_of_a_disposed_container_is_critical(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
    m = ch.manifest()
    clock.advance(hours=1)
    ch.scan(ch.driver, c, "pickup", clock.now, manifest_id=m.id)
    clock.advance(hours=1)
    ch.scan(ch.operator, c, "receive", clock.now, weight_kg=5.0)
    clock.advance(hours=1)
    ch.scan(ch.operator, c, "dispose", clock.now, method="incineration")
    clock.advance(hours=1)
    # A refused scan (collect again) and an accepted inspect both flag it.
    refused = ch.scan(ch.staff, c, "collect", clock.now, weight_kg=1.0)
    assert refused.status_code == 409
    inspected = ch.scan(ch.operator, c, "inspect", clock.now)
    assert kinds(inspected) == ["scan_after_disposal"]
    rows = session.exec(select(Anomaly).where(Anomaly.kind == "scan_after_disposal")).all()
    assert len(rows) == 2
    assert {a.severity for a in rows} == {"critical"}


def test_forged_label_is_flagged_once_per_payload(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    forged = dict(
        c,
        qr_payload=c["qr_payload"][:-4]
        + ("AAAA" if not c["qr_payload"].endswith("AAAA") else "BBBB"),
    )
    answers = []
    for _ in range(2):
        response = ch.scan(ch.staff, forged, "collect", clock.now, weight_kg=1.0)
        assert response.status_code == 422
        answers.append(response.json())
    [anomaly] = session.exec(select(Anomaly).where(_mine(ch))).all()
    assert (anomaly.kind, anomaly.severity, anomaly.container_id) == (
        "forged_label",
        "critical",
        c["id"],
    )
    # The phone is told what its refused scan raised, both times (the same anomaly).
    for problem in answers:
        assert [(a["kind"], a["id"]) for a in problem["anomalies"]] == [
            ("forged_label", str(anomaly.id))
        ]


def test_missing_step_and_custody_mismatch_on_refused_scans(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
    # dispose without receive: the plant does not hold it (custody mismatch), and the state
    # machine says it skips steps.
    skipped = ch.scan(ch.operator, c, "dispose", clock.now, method="incineration")
    assert skipped.status_code == 409
    assert [a.kind for a in session.exec(select(Anomaly)).all()] == ["missing_step"]
    other = chain(session, client)
    stranger = ch.scan(other.staff, c, "store", clock.now)
    assert stranger.status_code == 403
    assert sorted(a.kind for a in session.exec(select(Anomaly)).all()) == [
        "custody_mismatch",
        "missing_step",
    ]


def test_clock_ahead_is_flagged_and_ten_minutes_is_not(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    a, b = ch.register(), ch.register()
    assert (
        kinds(ch.scan(ch.staff, a, "collect", clock.now + timedelta(minutes=10), weight_kg=1.0))
        == []
    )
    assert kinds(
        ch.scan(ch.staff, b, "collect", clock.now + timedelta(minutes=11), weight_kg=1.0)
    ) == ["clock_skew"]


def test_geofence_and_impossible_travel(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    near = (HOHHOT[0] + 0.002, HOHHOT[1])  # about 220 m
    assert (
        kinds(
            ch.scan(
                ch.staff,
                c,
                "collect",
                clock.now,
                weight_kg=1.0,
                latitude=near[0],
                longitude=near[1],
            )
        )
        == []
    )
    clock.advance(minutes=10)
    far = (HOHHOT[0] + 0.5, HOHHOT[1])  # about 55 km in 10 minutes
    found = kinds(ch.scan(ch.staff, c, "store", clock.now, latitude=far[0], longitude=far[1]))
    assert found == ["geofence_violation", "impossible_travel"]


def test_unlicensed_receiver_at_event_time(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client, license_expires=date(2026, 11, 1))
    c = ch.register()
    ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
    m = ch.manifest()
    ch.scan(ch.driver, c, "pickup", clock.now, manifest_id=m.id)
    clock.advance(hours=1)
    assert kinds(ch.scan(ch.operator, c, "receive", clock.now, weight_kg=5.0)) == [
        "unlicensed_receiver"
    ]


def test_receipt_weight_beyond_tolerance(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    heavy, fine = ch.register(), ch.register()
    for c in (heavy, fine):
        ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0)
    m = ch.manifest()
    for c in (heavy, fine):
        ch.scan(ch.driver, c, "pickup", clock.now, manifest_id=m.id)
    clock.advance(hours=1)
    assert kinds(ch.scan(ch.operator, heavy, "receive", clock.now, weight_kg=4.4)) == [
        "weight_discrepancy"
    ]
    assert kinds(ch.scan(ch.operator, fine, "receive", clock.now, weight_kg=4.5)) == []


def test_receipt_weight_is_judged_against_the_corrected_collection_weight(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    """The hospital weighed 5 kg, then corrected it to 4 kg before the pickup: a receipt of
    4 kg matches, one of 5 kg is 25 % over."""
    ch = chain(session, client)
    same, over = ch.register(), ch.register()
    for c in (same, over):
        collected = ch.scan(ch.staff, c, "collect", clock.now, weight_kg=5.0).json()["event"]
        ch.correct_weight(c, collected, 4.0, clock.now)
    m = ch.manifest()
    for c in (same, over):
        ch.scan(ch.driver, c, "pickup", clock.now, manifest_id=m.id)
    clock.advance(hours=1)
    assert kinds(ch.scan(ch.operator, same, "receive", clock.now, weight_kg=4.0)) == []
    assert kinds(ch.scan(ch.operator, over, "receive", clock.now, weight_kg=5.0)) == [
        "weight_discrepancy"
    ]


def test_replayed_scan_answers_the_same_anomalies_without_a_second_row(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    key = "replay-0001"
    first = ch.scan(
        ch.staff, c, "collect", clock.now + timedelta(hours=1), weight_kg=1.0, client_event_id=key
    )
    again = ch.scan(
        ch.staff, c, "collect", clock.now + timedelta(hours=1), weight_kg=1.0, client_event_id=key
    )
    assert kinds(first) == ["clock_skew"]
    assert again.json()["anomalies"] == first.json()["anomalies"]
    assert _count(session, ch) == 1


def test_the_accuracy_a_phone_sends_is_kept_and_counted(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    vague, sharp = ch.register(), ch.register()
    beyond = (HOHHOT[0] + 0.0045, HOHHOT[1])  # about 500 m from a 300 m site
    # A fix good to 300 m may be inside the site: nothing proven. One good to 20 m is outside.
    answers = {
        c["id"]: ch.scan(
            ch.staff,
            c,
            "collect",
            clock.now,
            weight_kg=1.0,
            latitude=beyond[0],
            longitude=beyond[1],
            accuracy_m=accuracy,
        )
        for c, accuracy in ((vague, 300.0), (sharp, 20.0))
    }
    assert kinds(answers[vague["id"]]) == []
    assert kinds(answers[sharp["id"]]) == ["geofence_violation"]
    event = answers[sharp["id"]].json()["event"]
    assert event["accuracy_m"] == 20.0
    chain_view = client.get(
        f"/api/v1/containers/{sharp['id']}/events", headers=ch.headers(ch.staff)
    ).json()
    assert chain_view["verified"] and chain_view["events"][-1]["accuracy_m"] == 20.0
    # A second scan 4 km away a minute later: impossible travel unless the fixes say
    # they could be that far off.
    clock.advance(minutes=1)
    away = (HOHHOT[0] + 0.04, HOHHOT[1])
    assert "impossible_travel" not in kinds(
        ch.scan(
            ch.staff,
            vague,
            "store",
            clock.now,
            latitude=away[0],
            longitude=away[1],
            accuracy_m=2000.0,
        )
    )
    assert "impossible_travel" in kinds(
        ch.scan(
            ch.staff,
            sharp,
            "store",
            clock.now,
            latitude=away[0],
            longitude=away[1],
            accuracy_m=20.0,
        )
    )


def test_an_accuracy_without_a_position_or_out_of_range_is_refused(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    c = ch.register()
    for extra in (
        {"accuracy_m": 10.0},
        {"latitude": HOHHOT[0], "longitude": HOHHOT[1], "accuracy_m": 0},
        {"latitude": HOHHOT[0], "longitude": HOHHOT[1], "accuracy_m": -5.0},
        {"latitude": HOHHOT[0], "longitude": HOHHOT[1], "accuracy_m": "12"},
        {"latitude": HOHHOT[0], "longitude": HOHHOT[1], "accuracy_m": 1e9},
    ):
        response = ch.scan(ch.staff, c, "collect", clock.now, weight_kg=1.0, **extra)
        assert response.status_code == 422, extra
    chain_view = client.get(f"/api/v1/containers/{c['id']}/events", headers=ch.headers(ch.staff))
    assert [e["action"] for e in chain_view.json()["events"]] == ["register"]
