"""The hash chain over RFC 8785 canonical JSON, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from service.custody.chain import GENESIS, canonical_bytes, event_hash, jcs, verify_chain


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


_texts = st.text(st.characters(exclude_categories=["Cs"]))
_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1.0, -2.0, 1e21, 1e20, 1e-6, 1e-7, 123456789.0, 5e-324, 0.1])
    | _texts
    | st.sampled_from(['"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "\b\f\n\r\t", "é", "😀"])
)
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3),
    max_leaves=6,
)


def _both(content: dict[str, Any]) -> tuple[Any, Any]:
    outcomes = []
    for canonicalize in (jcs, rfc8785.dumps):
        try:
            outcomes.append(canonicalize(content))
        except ValueError as exc:  # what cannot be canonical: both refuse it
            outcomes.append(ValueError)
            assert isinstance(exc, ValueError)
    return outcomes[0], outcomes[1]


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_texts, _values, max_size=8))
def test_the_fast_canonical_form_is_rfc8785s(content: dict[str, Any]) -> None:
    ours, theirs = _both(content)
    assert ours == theirs


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.text())
def test_every_float_and_any_text_is_written_as_rfc8785_writes_it(number: float, text: str) -> None:
    ours, theirs = _both({"weight_kg": number, "note": text, "seq": 3, "site_id": None})
    assert ours == theirs


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
