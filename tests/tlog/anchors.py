"""The wave-2 test vectors in ``../shared/anchors/wave2`` (next to the repository), read as
test oracles; tests skip, saying why, where they are absent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ANCHORS = Path(__file__).resolve().parents[2].parent / "shared" / "anchors" / "wave2"


def anchor(name: str) -> Any:
    path = ANCHORS / name
    if not path.exists():
        pytest.skip(f"test vectors not found at {path} (../shared/anchors next to the repo)")
    return json.loads(path.read_text(encoding="utf-8"))
