"""Every recorded field of a custody event is under its hash: change one stored value and the
chain no longer verifies, naming the event. The field list is written out here on purpose (a
loop over the module's own list would pass whatever the list held)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from service.custody.chain import (
    GENESIS,
    canonical_bytes,
    canonical_value,
    event_hash,
    verify_chain,
)

# What an event records (SPEC §2 custody event, §6): all of it is evidence.
RECORDED_FIELDS = (
    "container_id",
    "seq",
    "action",
    "from_state",
    "to_state",
    "actor_user_id",
    "actor_organization_id",
    "custodian_before",
    "custodian_after",
    "site_id",
    "latitude",
    "longitude",
    "weight_kg",
    "manifest_id",
    "method",
    "incident",
    "corrects_event_id",
    "correction_reason",
    "correction_data",
    "occurred_at",
    "client_time",
    "recorded_at",
    "device_id",
    "client_event_id",
    "note",
    "prev_hash",
)

T0 = datetime(2026, 11, 2, 8, 30, 15, 250000, tzinfo=UTC)
HOSPITAL, TRANSPORTER = uuid.UUID(int=11), uuid.UUID(int=12)


def full_event(seq: int, prev_hash: str) -> dict[str, Any]:
    """An event with every recorded field filled in."""
    return {
        "id": 500 + seq,
        "container_id": "k7m2q9x4p1",
        "seq": seq,
        "action": "pickup",
        "from_state": "hospital_storage",
        "to_state": "in_transit",
        "actor_user_id": uuid.UUID(int=21),
        "actor_organization_id": TRANSPORTER,
        "custodian_before": HOSPITAL,
        "custodian_after": TRANSPORTER,
        "site_id": uuid.UUID(int=31),
        "latitude": 40.8414,
        "longitude": 111.7519,
        "weight_kg": 4.25,
        "manifest_id": uuid.UUID(int=41),
        "method": "incineration",
        "incident": "damaged",
        "corrects_event_id": 499,
        "correction_reason": "incorrect_data",
        "correction_data": {"weight_kg": 4.5, "note": "re-weighed"},
        "occurred_at": T0 + timedelta(minutes=seq),
        "client_time": T0 + timedelta(minutes=seq, seconds=3),
        "recorded_at": T0 + timedelta(minutes=seq, seconds=9),
        "device_id": "phone-7",
        "client_event_id": uuid.UUID(int=60 + seq),
        "note": "车厢 2 / bay 2",
        "prev_hash": prev_hash,
    }


# A different value for each field, of the kind a forger would write into the row.
ALTERED: dict[str, Any] = {
    "container_id": "k7m2q9x4p2",
    "seq": 9,
    "action": "receive",
    "from_state": "collected",
    "to_state": "received",
    "actor_user_id": uuid.UUID(int=22),
    "actor_organization_id": HOSPITAL,
    "custodian_before": TRANSPORTER,
    "custodian_after": HOSPITAL,
    "site_id": uuid.UUID(int=32),
    "latitude": 40.8415,
    "longitude": 111.7520,
    "weight_kg": 3.25,
    "manifest_id": uuid.UUID(int=42),
    "method": "autoclave",
    "incident": "leaking",
    "corrects_event_id": 498,
    "correction_reason": "did_not_occur",
    "correction_data": {"weight_kg": 5.5, "note": "re-weighed"},
    "occurred_at": T0 + timedelta(hours=5),
    "client_time": T0 - timedelta(hours=1),
    "recorded_at": T0 + timedelta(days=1),
    "device_id": "phone-8",
    "client_event_id": uuid.UUID(int=99),
    "note": "车厢 3 / bay 3",
    "prev_hash": "f" * 64,
}


def chain_of(n: int) -> list[dict[str, Any]]:
    events, prev = [], GENESIS
    for seq in range(1, n + 1):
        event = full_event(seq, prev)
        event["hash"] = event_hash(event)
        prev = event["hash"]
        events.append(event)
    return events


def test_the_altered_values_cover_every_recorded_field() -> None:
    assert set(ALTERED) == set(RECORDED_FIELDS)
    assert len(RECORDED_FIELDS) == 26


@pytest.mark.parametrize("field", RECORDED_FIELDS)
def test_each_recorded_field_changes_the_hash(field: str) -> None:
    event = full_event(2, "a" * 64)
    assert event_hash({**event, field: ALTERED[field]}) != event_hash(event)


@pytest.mark.parametrize("field", RECORDED_FIELDS)
def test_each_recorded_field_is_hashed_even_when_it_was_empty(field: str) -> None:
    """A value written into a field recorded empty (a custodian, a site added afterwards)."""
    event = full_event(2, "a" * 64)
    assert event_hash({**event, field: None}) != event_hash(event)


@pytest.mark.parametrize("field", [f for f in RECORDED_FIELDS if f not in ("seq", "prev_hash")])
def test_a_changed_stored_value_fails_verification_naming_the_event(field: str) -> None:
    chain = chain_of(3)
    assert verify_chain(chain).verified is True
    chain[1][field] = ALTERED[field]  # the row changed behind the service's back
    verdict = verify_chain(chain)
    assert verdict.verified is False
    assert verdict.first_bad_event_id == 502
    assert verdict.reason == "content does not match its hash"


def test_a_renumbered_event_fails_verification() -> None:
    chain = chain_of(3)
    chain[1]["seq"] = 3
    verdict = verify_chain(chain)
    assert (verdict.verified, verdict.first_bad_event_id) == (False, 502)
    assert verdict.reason == "expected event number 2"


def test_a_relinked_event_fails_verification() -> None:
    chain = chain_of(3)
    chain[2]["prev_hash"] = chain[0]["hash"]
    verdict = verify_chain(chain)
    assert (verdict.verified, verdict.first_bad_event_id) == (False, 503)
    assert verdict.reason == "prev_hash does not match the previous event"


def test_the_first_event_must_follow_genesis() -> None:
    first = full_event(1, "1" * 64)
    first["hash"] = event_hash(first)
    verdict = verify_chain([first])
    assert (verdict.verified, verdict.first_bad_event_id) == (False, 501)
    assert GENESIS == "0" * 64


def test_an_intact_chain_verifies_and_names_nothing() -> None:
    verdict = verify_chain(chain_of(4))
    assert (verdict.verified, verdict.first_bad_event_id, verdict.reason) == (True, None, None)
    assert verify_chain([]).verified is True


def test_correction_data_is_hashed_canonically() -> None:
    """The same correction read back with its keys in another order, or its timestamps in
    another zone, is the same content; a changed value inside it is not."""
    event = full_event(2, "a" * 64)
    event["correction_data"] = {
        "weight_kg": 4.5,
        "note": "re-weighed",
        "at": datetime(2026, 11, 2, 16, 0, tzinfo=timezone(timedelta(hours=8))),
        "seals": ["s1", "s2"],
    }
    reordered = dict(
        event,
        correction_data={
            "seals": ["s1", "s2"],
            "at": datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
            "note": "re-weighed",
            "weight_kg": 4.5,
        },
    )
    assert event_hash(reordered) == event_hash(event)
    for changed in (
        {"weight_kg": 4.6},
        {"note": "reweighed"},
        {"at": datetime(2026, 11, 2, 8, 0, 1, tzinfo=UTC)},
        {"seals": ["s2", "s1"]},
    ):
        altered = dict(event, correction_data={**event["correction_data"], **changed})
        assert event_hash(altered) != event_hash(event), changed
    text = canonical_bytes(event).decode()
    assert (
        '"correction_data":{"at":"2026-11-02T08:00:00.000000Z","note":"re-weighed",'
        '"seals":["s1","s2"],"weight_kg":4.5}'
    ) in text


def test_canonical_values_of_each_kind() -> None:
    assert canonical_value(None) is None
    assert canonical_value(True) is True
    assert canonical_value(3) == 3
    assert canonical_value("x") == "x"
    assert canonical_value(uuid.UUID(int=5)) == "00000000-0000-0000-0000-000000000005"
    # Any zone is written as UTC, to the microsecond.
    at = datetime(2026, 1, 1, 20, 0, 0, 7, tzinfo=timezone(timedelta(hours=8)))
    assert canonical_value(at) == "2026-01-01T12:00:00.000007Z"
    assert canonical_value({1: (at, None)}) == {"1": ["2026-01-01T12:00:00.000007Z", None]}


@pytest.mark.parametrize("field", ["occurred_at", "recorded_at", "client_time"])
def test_a_naive_datetime_is_refused(field: str) -> None:
    """A time without a zone could mean any instant: it is never hashed."""
    event = full_event(1, GENESIS)
    event[field] = datetime(2026, 11, 2, 8, 0)
    with pytest.raises(ValueError, match=r"^naive datetime in a hashed event$"):
        event_hash(event)
    with pytest.raises(ValueError, match=r"^naive datetime in a hashed event$"):
        canonical_value({"at": [datetime(2026, 11, 2, 8, 0)]})


def test_the_servers_own_time_zone_does_not_change_the_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two servers, one on UTC and one on Beijing time, hash the same event the same way."""
    event = full_event(1, GENESIS)
    on_utc = event_hash(event)
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert event_hash(event) == on_utc
        assert canonical_value(T0) == "2026-11-02T08:30:15.250000Z"
    finally:
        monkeypatch.undo()
        time.tzset()
