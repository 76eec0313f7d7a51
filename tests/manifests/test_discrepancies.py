"""The discrepancy rules as pure logic (SPEC §4: 10 %, 0.2 kg floor, any piece count)."""

from __future__ import annotations

from service.jurisdictions import province_code
from service.manifests.discrepancies import WeighedLine, compute_discrepancies
from service.manifests.numbers import format_number


def line(cid: str, sent: float | None, got: float | None, received: bool = True) -> WeighedLine:
    return WeighedLine(cid, sent, received, got)


def test_received_but_not_on_the_manifest_is_a_count_discrepancy() -> None:
    found = compute_discrepancies([line("a", 1.0, 1.0)], ["stray"]).model_dump()
    assert found["unexpected"] == {"count": 1, "container_ids": ["stray"]}
    assert found["any"] is True


def test_small_per_container_drifts_can_add_up_to_a_total_discrepancy() -> None:
    # Each 0.15 kg under the floor, but 1.5 of 10 kg in total is 15 %.
    lines = [line(f"c{i}", 1.0, 0.85) for i in range(10)]
    found = compute_discrepancies(lines, []).model_dump()
    assert found["weight"] == []
    assert found["total"]["flagged"] is True
    assert found["total"]["difference_pct"] == -15.0


def test_exactly_at_the_limits_is_not_flagged() -> None:
    found = compute_discrepancies([line("a", 10.0, 11.0), line("b", 2.0, 1.8)], []).model_dump()
    assert found["weight"] == [] and found["any"] is False


def test_a_container_without_weights_is_not_weighed() -> None:
    found = compute_discrepancies(
        [line("a", None, 3.0), line("b", 2.0, None, False)], []
    ).model_dump()
    assert found["weight"] == []
    assert found["missing"]["container_ids"] == ["b"]


def test_number_formats() -> None:
    assert format_number("CN-15", 2026, 42) == "20261500000042"
    assert province_code("CN-NM") == province_code("CN-15") == "15"
    assert format_number("IN-KA", 2026, 7) == "IN-KA-2026-000007"
