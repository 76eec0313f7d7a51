"""What the phone shows after scanning a label."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import FakeClock
from tests.manifests.helpers import collected, dispatched, new_manifest, region


def _resolve(client: TestClient, headers: dict[str, str], qr: str):  # type: ignore[no-untyped-def]
    return client.get("/mobile/v1/resolve", params={"qr": qr}, headers=headers)


def _forge(payload: str) -> str:
    head, signature = payload.rsplit(".", 1)
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    return f"{head}.{flipped}"


def test_staff_see_their_container_and_what_they_may_do(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    [c] = collected(client, r, clock, [2.0])
    body = _resolve(client, r.hospital.staff, c["qr_payload"]).json()
    assert body["validity"] == "valid"
    assert body["container"]["id"] == c["id"]
    assert body["container"]["state"] == "hospital_storage"
    assert set(body["actions"]) == {"inspect", "report_incident"}
    assert body["open_manifests"] == []


def test_a_driver_sees_pickup_only_with_an_open_manifest_from_the_holder(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    [c] = collected(client, r, clock, [2.0])
    # No manifest yet: the driver can neither see nor act on the container.
    assert _resolve(client, r.transporter.headers, c["qr_payload"]).status_code == 404
    manifest = new_manifest(client, r)
    body = _resolve(client, r.transporter.headers, c["qr_payload"]).json()
    assert body["validity"] == "valid"
    assert body["actions"] == ["pickup"]
    assert [m["id"] for m in body["open_manifests"]] == [manifest["id"]]
    # Another company's driver still sees nothing.
    assert _resolve(client, r.other_transporter.headers, c["qr_payload"]).status_code == 404


def test_the_destination_sees_receive_for_what_is_on_its_way(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    _, [c] = dispatched(client, r, clock, [2.0])
    body = _resolve(client, r.plant.headers, c["qr_payload"]).json()
    assert body["actions"] == ["receive"]
    driver = _resolve(client, r.transporter.headers, c["qr_payload"]).json()
    assert "pickup" not in driver["actions"] and "inspect" in driver["actions"]


def test_bad_labels_are_answers_that_reveal_nothing(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    [c] = collected(client, r, clock, [2.0])
    forged = _resolve(client, r.hospital.staff, _forge(c["qr_payload"]))
    assert forged.status_code == 200
    assert forged.json()["validity"] == "forged"
    assert forged.json()["container"] is None and forged.json()["actions"] == []
    head, _key, signature = c["qr_payload"].rsplit(".", 2)
    unknown = _resolve(client, r.hospital.staff, f"{head}.zzzzzzzz.{signature}").json()
    assert unknown["validity"] == "unknown_key" and unknown["container"] is None
    malformed = _resolve(client, r.hospital.staff, "https://example.com/not-a-label").json()
    assert malformed["validity"] == "malformed" and malformed["container"] is None


def test_a_typed_short_code_finds_the_container_and_its_payload(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    [c] = collected(client, r, clock, [2.0])
    code = c["short_code"]

    def by_code(headers: dict[str, str], typed: str):  # type: ignore[no-untyped-def]
        return client.get("/mobile/v1/resolve", params={"code": typed}, headers=headers)

    for typed in (code, code.lower(), code.replace("-", "")):
        body = by_code(r.hospital.staff, typed).json()
        assert body["validity"] == "code_entered", typed
        assert body["container"]["id"] == c["id"]
        assert body["qr_payload"] == c["qr_payload"]
    # The payload it gives back is what a scan needs.
    manifest = new_manifest(client, r)
    driver = by_code(r.transporter.headers, code).json()
    assert driver["actions"] == ["pickup"]
    picked = client.post(
        "/api/v1/scans",
        json={
            "qr_payload": driver["qr_payload"],
            "action": "pickup",
            "client_event_id": "typed-code-0001",
            "scanned_at": clock.now.isoformat(),
            "manifest_id": manifest["id"],
        },
        headers=r.transporter.headers,
    )
    assert picked.status_code == 201, picked.text
    # Nobody else learns anything from a code; malformed codes and bad calls are 422.
    assert by_code(r.other_transporter.headers, code).status_code == 404
    assert by_code(r.hospital.staff, "AAAA-0000").status_code == 422
    both = {"code": code, "qr": c["qr_payload"]}
    assert (
        client.get("/mobile/v1/resolve", params=both, headers=r.hospital.staff).status_code == 422
    )
    assert client.get("/mobile/v1/resolve", headers=r.hospital.staff).status_code == 422
