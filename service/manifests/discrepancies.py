"""Count and weight discrepancies between what left on a trip and what arrived (SPEC §4): pure.

A container's weight is flagged when it differs by more than 10 % (40 CFR 264.72 "significant
discrepancy") *and* more than 0.2 kg; the manifest total (over containers weighed at both
ends) when it differs by more than 10 %. Any piece-count difference is a discrepancy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from schemas.manifests import (
    ContainerSet,
    Discrepancies,
    Tolerance,
    TotalWeight,
    WeightDifference,
)

WEIGHT_TOLERANCE = 0.10
WEIGHT_FLOOR_KG = 0.2


@dataclass(frozen=True)
class WeighedLine:
    container_id: str
    collection_weight_kg: float | None
    received: bool
    receipt_weight_kg: float | None


def _pct(diff: float, base: float) -> float | None:
    return round(100 * diff / base, 2) if base > 0 else None


def compute_discrepancies(lines: Iterable[WeighedLine], unexpected: Sequence[str]) -> Discrepancies:
    lines = list(lines)
    missing = [line.container_id for line in lines if not line.received]
    flagged: list[WeightDifference] = []
    sent_total = received_total = 0.0
    for line in lines:
        if line.collection_weight_kg is None or line.receipt_weight_kg is None:
            continue
        sent, got = line.collection_weight_kg, line.receipt_weight_kg
        sent_total += sent
        received_total += got
        diff = got - sent
        if abs(diff) > WEIGHT_TOLERANCE * sent and abs(diff) > WEIGHT_FLOOR_KG:
            flagged.append(
                WeightDifference(
                    container_id=line.container_id,
                    collection_weight_kg=sent,
                    receipt_weight_kg=got,
                    difference_kg=round(diff, 3),
                    difference_pct=_pct(diff, sent),
                )
            )
    total_diff = received_total - sent_total
    total_flagged = abs(total_diff) > WEIGHT_TOLERANCE * sent_total and abs(total_diff) > 1e-9
    return Discrepancies(
        missing=ContainerSet(count=len(missing), container_ids=missing),
        unexpected=ContainerSet(count=len(unexpected), container_ids=list(unexpected)),
        weight=flagged,
        total=TotalWeight(
            collection_weight_kg=round(sent_total, 3),
            receipt_weight_kg=round(received_total, 3),
            difference_kg=round(total_diff, 3),
            difference_pct=_pct(total_diff, sent_total),
            flagged=total_flagged,
        ),
        tolerance=Tolerance(percent=WEIGHT_TOLERANCE * 100, floor_kg=WEIGHT_FLOOR_KG),
        any=bool(missing or unexpected or flagged or total_flagged),
    )
