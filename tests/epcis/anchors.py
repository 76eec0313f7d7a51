"""The EPCIS test vectors in ``../shared/anchors/wave2/epcis`` (beside the repository)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ANCHORS = Path(__file__).resolve().parents[2].parent / "shared" / "anchors" / "wave2" / "epcis"


def require_anchors() -> Path:
    if not (ANCHORS / "vectors.json").is_file():
        pytest.skip(f"EPCIS anchors not found at {ANCHORS} (../shared/anchors is absent)")
    return ANCHORS


def vectors() -> list[dict[str, Any]]:
    if not (ANCHORS / "vectors.json").is_file():
        return []
    documents: list[dict[str, Any]] = json.loads((ANCHORS / "vectors.json").read_text())[
        "documents"
    ]
    return documents


def document(entry: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((require_anchors() / entry["file"]).read_text())
    return loaded
