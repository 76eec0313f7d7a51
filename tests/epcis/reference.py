"""GS1's reference event-hash generator (PyPI ``epcis-event-hash-generator``), run offline on a
document: it loads the EPCIS context from its own bundled copy."""

from __future__ import annotations

from typing import Any

import pytest


def reference_ids(document: dict[str, Any]) -> list[str]:
    generator = pytest.importorskip("epcis_event_hash_generator.hash_generator")
    json_to_py = pytest.importorskip("epcis_event_hash_generator.json_to_py")
    json_to_py._namespaces = {}  # module state left by the previous document
    events = json_to_py.event_list_from_epcis_document_json(document)
    prehashes = generator.derive_prehashes_from_events(events)
    ids: list[str] = generator.calculate_hashes_from_pre_hashes(prehashes)
    return ids
