"""The sums kept over settled containers (service/reports/settled.py): every figure the
region and the compliance report serve from them equals the figure computed from the database
alone, after each kind of change that can reach a settled container — a scan, a correction,
and a manifest signature that moves custody without an event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from service.anomalies.profile import SHIPPED
from service.auth.actor import Actor
from service.custody.models import CustodyEvent
from service.reports.region import keep_region_sums, region_figures
from service.reports.service import compliance_report
from service.reports.settled import WINDOW, SettledFigures
from tests.conftest import FakeClock
from tests.custody.helpers import scan
from tests.manifests.helpers import Region, collected, new_manifest, pickup, receive, region, sign

# Through the end of October: November 2026 lies wholly in the period (kept as one month).
SINCE = datetime(2026, 10, 31, tzinfo=UTC)


def _served(client: TestClient, r: Region, clock: FakeClock) -> dict[str, Any]:
    """The region as the regulator's dashboard gets it (through the application's kept sums)."""
    response = client.get(
        "/api/v1/reports/region",
        params={"from": SINCE.isoformat(), "to": clock.now.isoformat()},
        headers=r.regulator.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _counted(
    session: Session, r: Region, clock: FakeClock, settled: SettledFigures | None = None
) -> dict[str, Any]:
    """The same figures from the database alone (or with ``settled``'s kept sums)."""
    figures = region_figures(
        session=session,
        actor=Actor.of(r.regulator.user, r.regulator.org),
        period_from=SINCE,
        period_to=clock.now,
        now=clock.now,
        profiles=SHIPPED,
        settled=settled,
    )
    return figures.model_dump(mode="json")


def _org(body: dict[str, Any], member: Any) -> dict[str, Any]:
    org: dict[str, Any] = next(
        o for o in body["organizations"] if o["organization_id"] == str(member.org.id)
    )
    return org


def _later(client: TestClient, r: Region, clock: FakeClock, **delta: float) -> datetime:
    """Move the clock on, and sign everyone in again (tokens expire with it)."""
    clock.advance(**delta)
    r.relogin(client)
    return clock.now


def _event_id(client: TestClient, headers: dict[str, str], c: dict[str, Any], action: str) -> int:
    chain = client.get(f"/api/v1/containers/{c['id']}/events", headers=headers)
    assert chain.status_code == 200, chain.text
    return int(next(e["id"] for e in chain.json()["events"] if e["action"] == action))


def _correct_receipt(
    client: TestClient, r: Region, clock: FakeClock, c: dict[str, Any], **correction: Any
) -> None:
    """The plant corrects its receipt of ``c`` (now)."""
    headers = r.plant.headers
    fixed = scan(
        client,
        headers,
        c["qr_payload"],
        "correct",
        clock.now,
        corrects_event_id=_event_id(client, headers, c, "receive"),
        **correction,
    )
    assert fixed.status_code == 201, fixed.text


def _settled_trip(
    client: TestClient, r: Region, clock: FakeClock, weights: list[float]
) -> list[dict[str, Any]]:
    """Containers collected, carried, received, signed for by the plant and disposed."""
    bags = collected(client, r, clock, weights)
    trip = new_manifest(client, r)
    for bag in bags:
        assert pickup(client, r, trip, bag, clock.now).status_code == 201
    assert sign(client, r.hospital.staff, trip, "origin").status_code == 200
    assert sign(client, r.transporter.headers, trip, "transporter").status_code == 200
    _later(client, r, clock, hours=3)
    for bag, kg in zip(bags, weights, strict=True):
        assert receive(client, r, bag, kg, clock.now).status_code == 201
    assert sign(client, r.plant.headers, trip, "destination").status_code == 200
    _later(client, r, clock, hours=1)
    for bag in bags:
        done = scan(
            client, r.plant.headers, bag["qr_payload"], "dispose", clock.now, method="incineration"
        )
        assert done.status_code == 201, done.text
    return bags


def test_kept_sums_follow_signatures_corrections_and_scans(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    a, b, c = collected(client, r, clock, [3.0, 4.0, 5.0])
    trip = new_manifest(client, r)
    _later(client, r, clock, hours=2)
    for bag in (a, b, c):
        assert pickup(client, r, trip, bag, clock.now).status_code == 201
    assert sign(client, r.hospital.staff, trip, "origin").status_code == 200
    assert sign(client, r.transporter.headers, trip, "transporter").status_code == 200
    _later(client, r, clock, hours=2)
    for bag, kg in ((a, 3.0), (b, 4.0), (c, 5.0)):
        assert receive(client, r, bag, kg, clock.now).status_code == 201
    _later(client, r, clock, hours=1)
    for bag in (a, b):  # disposed before the plant signs the manifest: custody still in transit
        done = scan(
            client, r.plant.headers, bag["qr_payload"], "dispose", clock.now, method="incineration"
        )
        assert done.status_code == 201, done.text
    _later(client, r, clock, days=70)  # November is a whole month behind

    first = _served(client, r, clock)
    assert first == _counted(session, r, clock)
    assert _org(first, r.transporter)["containers"] == 3  # custodian of all three
    assert _served(client, r, clock) == first  # answered from the kept sums

    # The plant signs: custody of the three passes to it, without an event. A and B settle.
    assert sign(client, r.plant.headers, trip, "destination").status_code == 200
    signed = _served(client, r, clock)
    assert _org(signed, r.transporter)["containers"] == 0
    assert signed == _counted(session, r, clock)

    # A correction of a settled container's receipt weight.
    _correct_receipt(
        client, r, clock, a, correction_reason="incorrect_data", correction_data={"weight_kg": 2.5}
    )
    corrected = _served(client, r, clock)
    assert _org(corrected, r.plant)["weights"]["received_kg"] == 11.5
    assert corrected == _counted(session, r, clock)

    # C is disposed 70 days late: it settles, with its long stay at the plant.
    done = scan(
        client, r.plant.headers, c["qr_payload"], "dispose", clock.now, method="incineration"
    )
    assert done.status_code == 201, done.text
    disposed = _served(client, r, clock)
    stays = {s["stage"]: s for s in disposed["stages"]}
    assert stays["disposal"]["ongoing"] == [0] * 8
    assert sum(stays["disposal"]["ended"]) == 3
    assert disposed == _counted(session, r, clock)

    report = client.get(
        "/api/v1/reports/compliance",
        params={
            "organization_id": str(r.plant.org.id),
            "from": SINCE.isoformat(),
            "to": clock.now.isoformat(),
        },
        headers=r.regulator.headers,
    )
    assert report.status_code == 200, report.text
    alone = compliance_report(
        session=session,
        actor=Actor.of(r.regulator.user, r.regulator.org),
        organization_id=r.plant.org.id,
        period_from=SINCE,
        period_to=clock.now,
        now=clock.now,
        profiles=SHIPPED,
    )
    assert report.json() == alone.model_dump(mode="json")
    assert report.json()["weights"]["disposed_kg"] == 11.5


def test_a_receipt_voided_weeks_later_reaches_the_kept_day(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    """A correction recorded weeks after the container's day was kept: the day is read from the
    database again."""
    r = region(session, client)
    [a] = _settled_trip(client, r, clock, [3.0])
    _later(client, r, clock, days=40)
    kept = _served(client, r, clock)
    assert kept["containers"] == 1 and kept == _counted(session, r, clock)

    # The receipt, voided weeks later: A is no longer settled (no standing receipt), and its
    # figures change on a day that was kept.
    _correct_receipt(client, r, clock, a, correction_reason="did_not_occur")
    after = _served(client, r, clock)
    assert (
        _org(after, r.plant)["weights"]["received_kg"]
        != _org(kept, r.plant)["weights"]["received_kg"]
    )
    assert after == _counted(session, r, clock)


def test_kept_sums_answer_only_for_the_organizations_they_counted(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    """Kept sums answer only for the organizations they were counted for: not a transport
    company that carried none of those containers."""
    r = region(session, client)
    _settled_trip(client, r, clock, [1.0, 2.0])
    collected(client, r, clock, [4.0])
    _later(client, r, clock, days=3)
    settled = SettledFigures()
    actor = Actor.of(r.regulator.user, r.regulator.org)
    for organization_id in (r.hospital.org.id, None, r.other_transporter.org.id):
        for since in (SINCE, clock.now - timedelta(days=2, hours=20)):
            args: dict[str, Any] = {
                "session": session,
                "actor": actor,
                "period_from": since,
                "period_to": clock.now,
                "now": clock.now,
                "profiles": SHIPPED,
                "organization_id": organization_id,
            }
            kept = region_figures(**args, settled=settled)
            assert kept == region_figures(**args)


def test_a_look_reads_events_recorded_lately_even_below_the_highest_id_seen(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    """An event whose transaction took its id before the last look but committed after it has
    an id below the highest seen then: the look reads back to the events recorded within
    the window before the last look, whatever their ids."""
    r = region(session, client)
    collected(client, r, clock, [1.0])
    highest = session.exec(select(func.max(CustodyEvent.id))).one()
    day = clock.now.date()
    changed = SettledFigures()._changed
    assert changed(session, clock.now - WINDOW, highest) == {day}
    assert changed(session, clock.now + timedelta(seconds=1), highest) == set()


def test_a_starting_server_adds_up_each_jurisdictions_year(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    _settled_trip(client, r, clock, [1.0, 2.0])
    _later(client, r, clock, days=2)
    settled = SettledFigures()
    keep_region_sums(session.connection(), settled, SHIPPED, clock)
    kept = [days for days in settled._kept.values() if days]
    assert len(kept) == 3  # the three sums of CN-15's region, each with its days
    assert all((clock.now - timedelta(days=2)).date() in days for days in kept)
    served = _counted(session, r, clock, settled)
    assert served == _counted(session, r, clock)
    assert served["containers"] == 2


@pytest.mark.parametrize("offset_hours", [-8, 8, -11, 13])
def test_a_period_given_in_another_time_zone_counts_the_same_containers(
    client: TestClient, session: Session, clock: FakeClock, offset_hours: int
) -> None:
    """Kept days are UTC days: a period whose edges a client wrote with another offset is cut
    at the same instants (here just after one container and just before another)."""
    r = region(session, client)
    _settled_trip(client, r, clock, [1.0])  # registered 2026-11-02 08:00 UTC
    _later(client, r, clock, hours=12)
    _settled_trip(client, r, clock, [2.0])  # registered 2026-11-02 20:00 UTC
    _later(client, r, clock, days=3)
    zone = timezone(timedelta(hours=offset_hours))
    since = datetime(2026, 11, 2, 8, 0, 1, tzinfo=UTC).astimezone(zone)
    until = datetime(2026, 11, 4, 1, tzinfo=UTC).astimezone(zone)
    settled = SettledFigures()
    for _ in range(2):  # computing the kept days, then answering from them
        kept = region_figures(
            session=session,
            actor=Actor.of(r.regulator.user, r.regulator.org),
            period_from=since,
            period_to=until,
            now=clock.now,
            profiles=SHIPPED,
            settled=settled,
        )
        assert kept.containers == 1
        assert kept.weights_per_day["collected"] == [0.0, 2.0, 0.0]
