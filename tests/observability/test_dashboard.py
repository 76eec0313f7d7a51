"""The sample Grafana dashboard in docs/ is valid JSON and reads only metrics the service
exposes, each as its type allows (a histogram's buckets, a counter's total)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.observability.helpers import SCRAPER
from tests.observability.test_metrics import settings as settings  # the scraper's token

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
SUFFIXES = {
    "counter": ("",),  # the text format names a counter's family with its _total
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
}


def _families(client: TestClient) -> dict[str, str]:
    text = client.get("/metrics", headers=SCRAPER).text
    return dict(re.findall(r"^# TYPE (medwaste_\w+) (\w+)$", text, flags=re.MULTILINE))


def _expressions() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_dashboard_query_reads_an_exposed_metric(client: TestClient) -> None:
    families = _families(client)
    exposed = {family + suffix for family, kind in families.items() for suffix in SUFFIXES[kind]}
    used = {name for expr in _expressions() for name in re.findall(r"medwaste_\w+", expr)}
    assert used, "the dashboard queries nothing"
    assert used <= exposed, sorted(used - exposed)
    # Every family the service exposes has a panel.
    assert {re.sub(r"_(bucket|count|sum)$", "", n) for n in used} == set(families)
