"""The hash chain over RFC 8785 canonical JSON, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from service.custody.chain import GENESIS, canonical_bytes, event_hash, verify_chain


def _chain(n: int) -> list[dict[str, Any]]:
    events = []
    prev = GENESIS
    for seq in range(1, n + 1):
        fields: dict[str, Any] = {
            "id": 100 + seq,
            "container_id": "abc",
            "seq": seq,
            "action": "collect",
            "to_state": "collected",
            "actor_user_id": uuid.UUID(int=seq),
            "custodian_after": uuid.UUID(int=7),
            "weight_kg": 1.5 * seq,
            "occurred_at": datetime(2026, 1, 1, 8, seq, 0, 123456, tzinfo=UTC),
            "recorded_at": datetime(2026, 1, 1, 8, seq, 1, tzinfo=UTC),
            "note": "病房 ward 3",
            "prev_hash": prev,
        }
        fields["hash"] = event_hash(fields)
        prev = fields["hash"]
        events.append(fields)
    return events


def test_canonical_form_is_rfc8785() -> None:
    data = canonical_bytes(
        {
            "container_id": "c",
            "seq": 1,
            "weight_kg": 1.0,
            "note": "é",
            "prev_hash": GENESIS,
            "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
        }
    )
    text = data.decode()
    # Sorted keys, no whitespace, 1.0 written as 1, non-ASCII kept as UTF-8.
    assert text.startswith('{"action":null,')
    assert text.endswith('"v":1,"weight_kg":1}')
    assert '"note":"é"' in text
    assert '"occurred_at":"2026-01-01T00:00:00.000000Z"' in text
    assert " " not in text.replace("é", "")


def test_timezone_does_not_change_the_hash() -> None:
    base = {"seq": 1, "prev_hash": GENESIS, "occurred_at": datetime(2026, 1, 1, 8, tzinfo=UTC)}
    shifted = dict(base, occurred_at=datetime.fromisoformat("2026-01-01T16:00:00+08:00"))
    assert event_hash(base) == event_hash(shifted)


def test_intact_chain_verifies() -> None:
    assert verify_chain(_chain(5)).verified


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("weight_kg", 99.0),
        ("note", "changed"),
        ("actor_user_id", uuid.UUID(int=99)),
        ("occurred_at", datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_changed_field_names_the_event(field: str, value: Any) -> None:
    chain = _chain(5)
    chain[2][field] = value
    verdict = verify_chain(chain)
    assert not verdict.verified
    assert verdict.first_bad_event_id == chain[2]["id"]


def test_removed_or_reordered_event_is_caught() -> None:
    chain = _chain(4)
    assert verify_chain([chain[0], chain[2], chain[3]]).first_bad_event_id == chain[2]["id"]
    assert verify_chain([chain[1], chain[0]]).first_bad_event_id == chain[1]["id"]


def test_rehashed_event_breaks_the_next_link() -> None:
    chain = _chain(4)
    chain[1]["weight_kg"] = 50.0
    chain[1]["hash"] = event_hash(chain[1])  # a forger recomputes the hash of the edited row
    verdict = verify_chain(chain)
    assert verdict.first_bad_event_id == chain[2]["id"]
    assert "prev_hash" in (verdict.reason or "")
