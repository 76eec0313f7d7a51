"""CSV cells that a spreadsheet would run as formulas are neutralised (OWASP): in the
compliance report, and in the dashboard's exports (the shared module it writes CSV with)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.auth.roles import Role
from service.organizations.models import OrgKind
from service.reports.cells import safe_cell
from tests.factories import login, make_org, make_user

REPO = Path(__file__).resolve().parents[2]

PLANTED = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["Hohhot First Hospital", "呼和浩特市第一医院", "1-2 Ward", "a=b", ""]


def test_cells_starting_like_a_formula_get_an_apostrophe() -> None:
    for text in PLANTED:
        assert safe_cell(text) == "'" + text
    for text in HARMLESS:
        assert safe_cell(text) == text
    # Numbers stay numbers, negative ones too.
    assert safe_cell(-3) == -3 and safe_cell(-0.5) == -0.5 and safe_cell(None) is None


@pytest.mark.parametrize("name", [*PLANTED, "Baotou Central Hospital"])
def test_the_compliance_csv_neutralises_a_planted_formula(
    client: TestClient, session: Session, name: str
) -> None:
    org = make_org(session, OrgKind.hospital, name=name)
    staff = login(client, make_user(session, Role.hospital_staff, org))
    response = client.get(
        "/api/v1/reports/compliance",
        params={"organization_id": str(org.id), "format": "csv"},
        headers=staff,
    )
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text)))
    [name_row] = [r for r in rows if r[0] == "organization" and r[2] == "name"]
    expected = "'" + name if name in PLANTED else name
    assert name_row[3] == expected
    # No cell of the file starts like a formula.
    assert not [c for r in rows for c in r if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed (the dashboard module needs it)")
def test_the_dashboard_exports_neutralise_formulas() -> None:
    rows = [[t, 5, -2.5, None, {"k": "=x"}] for t in [*PLANTED, *HARMLESS]]
    script = (
        f"import({json.dumps((REPO / 'web/shared/csv.js').as_uri())})"
        f".then(m => process.stdout.write(m.toCsv({json.dumps(rows)})))"
    )
    assert NODE is not None
    out = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout.decode()
    parsed = list(csv.reader(io.StringIO(out, newline="")))
    assert [r[0] for r in parsed] == ["'" + t for t in PLANTED] + HARMLESS
    for r in parsed:
        assert r[1:4] == ["5", "-2.5", ""]  # numbers as numbers, absent as empty
        assert r[4] == '{"k":"=x"}'
