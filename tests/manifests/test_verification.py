"""A paper manifest checked against its record by anyone holding it (no sign-in): the record as
it stood when the copy was printed must have the digest printed on it; what was recorded since
is listed; an altered digest is called out."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import FakeClock
from tests.custody.helpers import scan
from tests.manifests.helpers import Region, dispatched, qr_codes, receive, region, sign


def _printed(client: TestClient, r: Region, manifest_id: str) -> dict[str, str]:
    """What a printed copy's QR code carries: the path it opens and its query."""
    response = client.get(f"/api/v1/manifests/{manifest_id}.pdf", headers=r.transporter.headers)
    assert response.status_code == 200, response.text
    [url] = qr_codes(response.content)
    parts = urlsplit(url)
    query = {k: v for k, [v] in parse_qs(parts.query).items()}
    return {"path": parts.path, **query}


def _check(client: TestClient, manifest_id: str, **query: str) -> Any:
    return client.get(f"/api/v1/manifests/{manifest_id}/verification", params=query)


def test_a_copy_printed_in_transit_still_checks_after_receipt_and_signature(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    manifest, containers = dispatched(client, r, clock, [4.0, 6.5])
    copy = _printed(client, r, manifest["id"])
    assert copy["path"] == f"/verify/manifests/{manifest['id']}"

    fresh = _check(client, manifest["id"], sha256=copy["sha256"], at=copy["at"]).json()
    assert fresh["verdict"] == "matches"
    assert fresh["changes_since"] == []
    assert fresh["content_sha256"] == copy["sha256"]
    assert (fresh["number"], fresh["containers"]) == (manifest["number"], 2)

    clock.advance(minutes=30)
    r.relogin(client)
    for c, weight in zip(containers, (4.0, 6.0), strict=True):
        got = receive(client, r, c, weight, clock.now)
        assert got.status_code == 201, got.text
    clock.advance(minutes=1)
    assert sign(client, r.plant.headers, manifest, "destination").status_code == 200

    later = _check(client, manifest["id"], sha256=copy["sha256"], at=copy["at"]).json()
    # The record changed, yet the paper is true to the record as it was printed.
    assert later["content_sha256"] != copy["sha256"]
    assert later["verdict"] == "matches"
    assert [(c["change"], c["subject"]) for c in later["changes_since"]] == [
        ("receipt", c["short_code"]) for c in containers
    ] + [("signature", "destination")]
    # A copy printed now carries the new digest, and nothing has happened since.
    now = _printed(client, r, manifest["id"])
    assert now["sha256"] == later["content_sha256"]
    assert (
        _check(client, manifest["id"], **{k: now[k] for k in ("sha256", "at")}).json()[
            "changes_since"
        ]
        == []
    )


def test_an_altered_digest_or_a_copy_of_another_trip_differs(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    manifest, _ = dispatched(client, r, clock, [4.0])
    other, _ = dispatched(client, r, clock, [2.0])
    copy = _printed(client, r, manifest["id"])
    altered = copy["sha256"][:-1] + ("0" if copy["sha256"][-1] != "0" else "1")
    assert _check(client, manifest["id"], sha256=altered, at=copy["at"]).json()["verdict"] == (
        "differs"
    )
    # The other trip's record never had this copy's digest.
    assert (
        _check(client, other["id"], sha256=copy["sha256"], at=copy["at"]).json()["verdict"]
        == "differs"
    )
    page = client.get(copy["path"], params={"sha256": altered, "at": copy["at"]})
    assert 'data-verdict="differs"' in page.text
    assert "与记录不符" in page.text and "does NOT match" in page.text


def test_a_correction_recorded_after_printing_is_listed(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    manifest, [c] = dispatched(client, r, clock, [4.0])
    clock.advance(minutes=30)
    r.relogin(client)
    received = receive(client, r, c, 9.0, clock.now).json()
    copy = _printed(client, r, manifest["id"])
    clock.advance(minutes=5)
    fix = scan(
        client,
        r.plant.headers,
        c["qr_payload"],
        "correct",
        clock.now,
        corrects_event_id=received["event"]["id"],
        correction_reason="incorrect_data",
        correction_data={"weight_kg": 4.0},
    )
    assert fix.status_code == 201, fix.text
    check = _check(client, manifest["id"], sha256=copy["sha256"], at=copy["at"]).json()
    assert check["verdict"] == "matches"
    assert [(x["change"], x["subject"]) for x in check["changes_since"]] == [
        ("correction", c["short_code"])
    ]
    # Checked against today's record instead (no print time), the old copy differs.
    assert _check(client, manifest["id"], sha256=copy["sha256"]).json()["verdict"] == "differs"


def test_without_a_digest_the_page_shows_the_records_for_comparison(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    r.hospital.org.name = '<script>alert("x")</script> 医院'
    session.add(r.hospital.org)
    session.commit()
    manifest, _ = dispatched(client, r, clock, [4.0])
    check = _check(client, manifest["id"]).json()
    assert check["verdict"] == "unchecked"
    assert check["printed_sha256"] is None and check["changes_since"] == []
    page = client.get(f"/verify/manifests/{manifest['id']}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert check["content_sha256"] in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    # Only what the paper shows: no signatory's name, no user id.
    body = _check(client, manifest["id"]).text
    assert "签字人" not in body and str(r.transporter.user.id) not in body


def test_bad_checks_are_problems(client: TestClient, session: Session, clock: FakeClock) -> None:
    r = region(session, client)
    manifest, _ = dispatched(client, r, clock, [1.0])
    cases = [
        ({"sha256": "ABC"}, 422),
        ({"sha256": "g" * 64}, 422),
        ({"sha256": "0" * 64, "at": "2026-11-02T08:00:00"}, 422),  # no offset
        ({"sha256": "0" * 64, "at": "yesterday"}, 422),
    ]
    for query, status in cases:
        for path in (
            f"/api/v1/manifests/{manifest['id']}/verification",
            f"/verify/manifests/{manifest['id']}",
        ):
            response = client.get(path, params=query)
            assert response.status_code == status, (path, query, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    missing = client.get("/verify/manifests/6f1c0d2e-4b3a-4c5d-8e9f-0a1b2c3d4e5f")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert re.search(r"not found", missing.json()["detail"])
