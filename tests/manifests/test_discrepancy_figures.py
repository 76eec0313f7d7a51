"""The figures a destination and a regulator read on a received manifest: what is missing, what
came unannounced, which containers weigh differently and by how much (signed: lighter at
receipt is negative), and the trip's total."""

from __future__ import annotations

from typing import Any

from service.manifests.discrepancies import WeighedLine, compute_discrepancies

TOLERANCE = {"percent": 10.0, "floor_kg": 0.2}


def discrepancies(lines: list[WeighedLine], unexpected: list[str]) -> dict[str, Any]:
    """As the manifest stores and serves them."""
    return compute_discrepancies(lines, unexpected).model_dump()


def line(cid: str, sent: float | None, got: float | None, received: bool = True) -> WeighedLine:
    return WeighedLine(cid, sent, received, got)


def test_a_clean_trip_reports_nothing_and_says_so() -> None:
    assert discrepancies([line("a", 2.0, 2.1), line("b", 3.0, 2.9)], []) == {
        "missing": {"count": 0, "container_ids": []},
        "unexpected": {"count": 0, "container_ids": []},
        "weight": [],
        "total": {
            "collection_weight_kg": 5.0,
            "receipt_weight_kg": 5.0,
            "difference_kg": 0.0,
            "difference_pct": 0.0,
            "flagged": False,
        },
        "tolerance": TOLERANCE,
        "any": False,
    }


def test_a_lighter_container_is_reported_with_negative_figures() -> None:
    found = discrepancies([line("a", 5.0, 4.0), line("b", 5.0, 5.0)], [])
    assert found["weight"] == [
        {
            "container_id": "a",
            "collection_weight_kg": 5.0,
            "receipt_weight_kg": 4.0,
            "difference_kg": -1.0,
            "difference_pct": -20.0,
        }
    ]
    # 1 kg of 10 is exactly 10 %: the trip total is not flagged, the container is.
    assert found["total"] == {
        "collection_weight_kg": 10.0,
        "receipt_weight_kg": 9.0,
        "difference_kg": -1.0,
        "difference_pct": -10.0,
        "flagged": False,
    }
    assert found["any"] is True


def test_a_heavier_container_is_reported_with_positive_figures_to_the_gram() -> None:
    found = discrepancies([line("a", 3.0, 4.23456)], [])
    assert found["weight"] == [
        {
            "container_id": "a",
            "collection_weight_kg": 3.0,
            "receipt_weight_kg": 4.23456,
            "difference_kg": 1.235,
            "difference_pct": 41.15,
        }
    ]
    assert found["total"] == {
        "collection_weight_kg": 3.0,
        "receipt_weight_kg": 4.235,
        "difference_kg": 1.235,
        "difference_pct": 41.15,
        "flagged": True,
    }


def test_percentages_are_given_to_two_decimals() -> None:
    found = discrepancies([line("a", 3.0, 2.0)], [])
    assert found["weight"][0]["difference_pct"] == -33.33
    assert found["total"]["difference_pct"] == -33.33


def test_a_light_bag_gets_a_percentage_too() -> None:
    # 0.5 kg collected, 0.8 kg received: 0.3 kg over the floor and 60 % over.
    found = discrepancies([line("a", 0.5, 0.8)], [])
    assert [(w["difference_kg"], w["difference_pct"]) for w in found["weight"]] == [(0.3, 60.0)]
    assert found["total"]["difference_pct"] == 60.0


def test_nothing_weighed_at_collection_has_no_percentage() -> None:
    found = discrepancies([line("a", 0.0, 0.5)], [])
    assert found["weight"][0]["difference_pct"] is None
    assert found["total"]["difference_pct"] is None
    assert found["total"]["flagged"] is True


def test_floating_point_noise_is_not_a_discrepancy() -> None:
    found = discrepancies([line("a", 0.0, 1e-9)], [])
    assert found["total"]["flagged"] is False
    assert found["any"] is False


def test_exactly_the_floor_is_not_flagged() -> None:
    # 0.4 kg arriving as 0.2 kg is 50 % lighter, but by exactly the 0.2 kg floor.
    found = discrepancies([line("a", 0.4, 0.2)], [])
    assert found["weight"] == []


def test_exactly_ten_percent_on_the_trip_total_is_not_flagged() -> None:
    found = discrepancies([line("a", 10.0, 11.0)], [])
    assert found["total"]["flagged"] is False
    assert found["any"] is False


def test_a_container_without_weights_does_not_stop_the_weighing_of_the_others() -> None:
    lines = [line("a", None, 2.0), line("b", 2.0, None, False), line("c", 2.0, 3.0)]
    found = discrepancies(lines, [])
    assert [w["container_id"] for w in found["weight"]] == ["c"]
    assert found["total"]["collection_weight_kg"] == 2.0
    assert found["missing"] == {"count": 1, "container_ids": ["b"]}


def test_one_flagged_container_is_a_discrepancy_even_when_the_total_is_within_tolerance() -> None:
    found = discrepancies([line("a", 1.0, 2.0), line("b", 10.0, 9.5)], [])
    assert found["total"]["flagged"] is False
    assert [w["container_id"] for w in found["weight"]] == ["a"]
    assert found["any"] is True


def test_missing_and_unexpected_containers_are_counted_and_named() -> None:
    found = discrepancies(
        [line("a", 1.0, None, False), line("b", 1.0, 1.0), line("c", 2.0, None, False)],
        ["x9", "x7"],
    )
    assert found["missing"] == {"count": 2, "container_ids": ["a", "c"]}
    assert found["unexpected"] == {"count": 2, "container_ids": ["x9", "x7"]}
    assert found["any"] is True


def test_trip_totals_are_given_to_the_gram() -> None:
    found = discrepancies([line("a", 2.34567, 2.0), line("b", 1.0, None, False)], [])
    assert found["total"]["collection_weight_kg"] == 2.346
    assert found["total"]["receipt_weight_kg"] == 2.0
    assert found["total"]["difference_kg"] == -0.346
    assert found["weight"][0]["collection_weight_kg"] == 2.34567
