"""The course each container keeps for the reports: moved along by the scans and rebuilt by a
correction, it always equals a reading of the chain, and the migration's backfill writes the
same columns."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from service.auth.models import User
from service.custody.course import course_columns, course_of, from_us, to_us
from service.custody.ledger import chain_of
from service.custody.models import COURSE_COLUMNS, Container
from tests.anomalies.helpers import Chain, chain
from tests.conftest import FakeClock

MIGRATION = Path(__file__).parents[2] / "migrations/versions/0009_container_course.py"


def _kept(session: Session, c: dict[str, Any]) -> dict[str, Any]:
    container = session.get(Container, c["id"])
    assert container is not None
    session.refresh(container)
    return {name: getattr(container, name) for name in COURSE_COLUMNS}


def _read(session: Session, c: dict[str, Any]) -> dict[str, Any]:
    return dict(course_columns(course_of(chain_of(session, c["id"]))))


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    event: dict[str, Any] = response.json()["event"]
    return event


def _correct(
    ch: Chain,
    user: User,
    bag: dict[str, Any],
    at: datetime,
    event_id: object,
    reason: str,
    data: dict[str, Any] | None = None,
) -> None:
    extra = {"correction_data": data} if data else {}
    _ok(
        ch.scan(
            user,
            bag,
            "correct",
            at,
            corrects_event_id=event_id,
            correction_reason=reason,
            **extra,
        )
    )


def _lives(ch: Chain, clock: FakeClock) -> tuple[dict[str, Any], ...]:
    """A: collected 5 kg, corrected to 4.5 kg, picked up, received 4.8 kg, disposed.
    B: collected, picked up; the pickup voided, then picked up again an hour later.
    C: collected 2 kg; the collection voided and collected again at 3 kg.
    D: only labelled."""
    a, b, c, d = ch.register(), ch.register(), ch.register(), ch.register()
    m = ch.manifest()
    t0 = clock.now
    collected_a = _ok(ch.scan(ch.staff, a, "collect", t0, weight_kg=5.0))
    _ok(ch.scan(ch.staff, b, "collect", t0, weight_kg=1.0))
    collected_c = _ok(ch.scan(ch.staff, c, "collect", t0, weight_kg=2.0))
    clock.advance(minutes=30)
    _correct(ch, ch.staff, a, clock.now, collected_a["id"], "incorrect_data", {"weight_kg": 4.5})
    _correct(ch, ch.staff, c, clock.now, collected_c["id"], "did_not_occur")
    clock.advance(hours=1)
    _ok(ch.scan(ch.staff, c, "collect", clock.now, weight_kg=3.0))
    for bag in (a, b):
        _ok(ch.scan(ch.driver, bag, "pickup", clock.now, manifest_id=m.id))
    picked_b = ch.session.get(Container, b["id"])
    assert picked_b is not None and picked_b.pickup_us == to_us(clock.now)
    first_pickup = next(e for e in chain_of(ch.session, b["id"]) if e.action == "pickup")
    _correct(ch, ch.driver, b, clock.now, first_pickup.id, "did_not_occur")
    clock.advance(hours=1)
    _ok(ch.scan(ch.driver, b, "pickup", clock.now, manifest_id=m.id))
    clock.advance(hours=2)
    _ok(ch.scan(ch.operator, a, "receive", clock.now, weight_kg=4.8))
    clock.advance(hours=5)
    _ok(ch.scan(ch.operator, a, "dispose", clock.now, method="incineration"))
    return a, b, c, d


def test_scans_and_corrections_keep_the_course_of_the_chain(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    t0 = clock.now
    a, b, c, d = _lives(ch, clock)
    h = timedelta(hours=1)
    # What a regulator's figures are made of, container by container.
    assert _kept(session, a) == {
        "collect_us": to_us(t0),
        "collect_kg": 4.5,  # corrected
        "pickup_us": to_us(t0 + 1.5 * h),
        "receive_us": to_us(t0 + 4.5 * h),
        "receive_kg": 4.8,
        "dispose_us": to_us(t0 + 9.5 * h),
    }
    kept_b = _kept(session, b)
    assert (kept_b["collect_kg"], from_us(kept_b["pickup_us"])) == (1.0, t0 + 2.5 * h)
    assert kept_b["receive_us"] is None and kept_b["dispose_us"] is None
    kept_c = _kept(session, c)
    assert (from_us(kept_c["collect_us"]), kept_c["collect_kg"]) == (t0 + 1.5 * h, 3.0)
    assert kept_c["pickup_us"] is None
    assert set(_kept(session, d).values()) == {None}
    # And each equals a reading of its whole chain.
    for bag in (a, b, c, d):
        assert _kept(session, bag) == _read(session, bag)


def test_the_backfill_writes_what_the_scans_kept(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    bags = _lives(ch, clock)
    kept = {bag["id"]: _kept(session, bag) for bag in bags}
    session.flush()
    conn = session.connection()
    conn.execute(text("UPDATE container SET " + ", ".join(f"{n} = NULL" for n in COURSE_COLUMNS)))
    session.expire_all()
    assert _kept(session, bags[0])["collect_us"] is None
    spec = importlib.util.spec_from_file_location("course_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    migration._backfill(conn)
    session.expire_all()
    assert {bag["id"]: _kept(session, bag) for bag in bags} == kept
    assert kept[bags[0]["id"]]["collect_kg"] == 4.5


def test_the_course_reads_only_standing_events_at_their_first_occurrence() -> None:
    """The definition on plain rows: a repeated action keeps the first; a voided one gives
    way to the next; a reweighed one counts the correction."""

    class Row:
        def __init__(self, id: int, action: str, at: datetime, **extra: Any) -> None:
            self.id, self.action, self.occurred_at = id, action, at
            self.weight_kg = extra.get("weight_kg")
            self.corrects_event_id = extra.get("corrects")
            self.correction_reason = extra.get("reason")
            self.correction_data = extra.get("data")

    t = datetime.fromisoformat("2026-11-02T08:00:00.000001+00:00")
    chain_rows = [
        Row(1, "register", t),
        Row(2, "collect", t, weight_kg=2.0),
        Row(3, "receive", t + timedelta(hours=3), weight_kg=1.9),
        Row(4, "receive", t + timedelta(hours=4), weight_kg=1.0),
        Row(5, "correct", t, corrects=3, reason="did_not_occur"),
        Row(6, "correct", t, corrects=4, reason="incorrect_data", data={"weight_kg": 1.8}),
    ]
    course = course_of(chain_rows)
    assert course.at_us == {"collect": to_us(t), "receive": to_us(t + timedelta(hours=4))}
    assert course.kg == {"collect": 2.0, "receive": 1.8}
    assert from_us(to_us(t)) == t
    assert set(course_columns(course)) == set(COURSE_COLUMNS)
