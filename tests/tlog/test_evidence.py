"""Evidence bundles: what a regulator downloads, checked by the offline verifier and by an
independent few-line implementation; and what happens when someone with database superuser
rights rewrites history."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, text
from sqlmodel import Session, col, select

from service.auth.roles import Role
from service.custody.chain import event_hash
from service.custody.ledger import event_fields
from service.custody.models import CustodyEvent
from service.organizations.models import OrgKind
from service.tlog.verifier import Report, run_witness, verify_bundle
from tests.conftest import Database, FakeClock
from tests.custody.helpers import hospital, register, scan
from tests.factories import login, make_org, make_site, make_user
from tests.tlog.helpers import collected, guards_off, issue, root_from_path


def _vkey(client: TestClient) -> str:
    return client.get("/api/v1/log/key").text.strip()


def _bundle(client: TestClient, headers: dict[str, str], container_id: str, **query: Any) -> Any:
    answer = client.get(
        f"/api/v1/containers/{container_id}/evidence", headers=headers, params=query
    )
    assert answer.status_code == 200, answer.text
    assert "attachment" in answer.headers["content-disposition"]
    return answer.json()


def _verify(bundle: Any, client: TestClient, **extra: Any) -> Report:
    return verify_bundle(bundle, log_keys=[_vkey(client)], **extra)


def _independent_check(bundle: dict[str, Any], vkey: str) -> int:
    """The bundle format, checked with hashlib, cryptography and rfc8785 only: the note's
    Ed25519 signature under the published key, the checkpoint lines, each event's hash and
    chain link, each inclusion proof (recursive, from the definition), each label."""
    name, key_hex, key_b64 = vkey.split("+", 2)
    raw_key = base64.b64decode(key_b64)
    assert raw_key[0] == 1
    assert hashlib.sha256(name.encode() + b"\n\x01" + raw_key[1:]).digest()[:4].hex() == key_hex
    note = bundle["log"]["checkpoint"]
    body, signatures = note.split("\n\n")
    body += "\n"
    [line] = [s for s in signatures.splitlines() if s.startswith(f"\u2014 {name} ")]
    signature = base64.b64decode(line.split(" ")[2])
    assert signature[:4].hex() == key_hex
    Ed25519PublicKey.from_public_bytes(raw_key[1:]).verify(signature[4:], body.encode())
    origin, size, root_b64 = body.splitlines()
    assert origin == name
    size_n, root = int(size), base64.b64decode(root_b64)
    checked = 0
    label_keys = {k["key_id"]: k["public_key"] for k in bundle["label_keys"]}
    for entry in bundle["containers"]:
        cid = entry["container"]["id"]
        payload = entry["label"]["qr_payload"]
        _, label_cid, label_key, sig = payload.split(".")
        pub = base64.urlsafe_b64decode(label_keys[label_key] + "==")
        Ed25519PublicKey.from_public_bytes(pub).verify(
            base64.urlsafe_b64decode(sig + "=="), f"MW1.{label_cid}.{label_key}".encode()
        )
        assert label_cid == cid
        previous = "0" * 64
        for seq, event in enumerate(entry["events"], 1):
            content = event["content"]
            assert hashlib.sha256(rfc8785.dumps(content)).hexdigest() == event["hash"]
            assert (content["seq"], content["prev_hash"], content["container_id"]) == (
                seq,
                previous,
                cid,
            )
            leaf = hashlib.sha256(b"\x00" + bytes.fromhex(event["hash"])).digest()
            path = [bytes.fromhex(h) for h in event["inclusion"]]
            assert root_from_path(event["log_index"], size_n, leaf, path) == root
            previous = event["hash"]
            checked += 1
    return checked


def test_a_container_bundle_verifies_offline_and_independently(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h, [c] = collected(client, session, clock)
    scan(client, h.staff, c["qr_payload"], "store", clock.now,
         latitude=40.8426, longitude=111.749, accuracy_m=8.5)  # fmt: skip
    # no checkpoint covers these events yet: the bundle brings one
    bundle = _bundle(client, h.staff, c["id"])
    assert bundle["format"] == "medwaste-evidence/1"
    assert bundle["subject"] == {"kind": "container", "id": c["id"]}
    [entry] = bundle["containers"]
    assert [e["content"]["action"] for e in entry["events"]] == ["register", "collect", "store"]
    assert entry["events"][1]["content"]["weight_kg"] == 2.5
    # A fix's accuracy is hashed with the event that has one; events without keep the content
    # they were always hashed with.
    assert entry["events"][2]["content"]["accuracy_m"] == 8.5
    assert "accuracy_m" not in entry["events"][1]["content"]
    assert entry["label"]["qr_payload"] == c["qr_payload"]
    report = _verify(bundle, client)
    assert report.verified, [c.line() for c in report.checks if not c.ok]
    # label, checkpoint, 3 x (content + inclusion), chain head
    assert len(report.checks) == 1 + 1 + 3 * 2 + 1
    assert _independent_check(bundle, _vkey(client)) == 3
    # events list and bundle agree on each event's place in the log
    chain = client.get(f"/api/v1/containers/{c['id']}/events", headers=h.staff).json()
    assert [e["log_index"] for e in chain["events"]] == [e["log_index"] for e in entry["events"]]


def test_a_bundle_is_scoped_like_its_container(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h, [c] = collected(client, session, clock)
    other = hospital(session, client)
    assert (
        client.get(f"/api/v1/containers/{c['id']}/evidence", headers=other.staff).status_code == 404
    )
    assert client.get(f"/api/v1/containers/{c['id']}/evidence").status_code == 401
    assert client.get("/api/v1/containers/nope/evidence", headers=h.staff).status_code == 404
    bad = client.get(f"/api/v1/containers/{c['id']}/evidence?previous_size=0", headers=h.staff)
    assert bad.status_code == 422


def test_a_manifest_bundle_holds_every_container_of_the_trip(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h, containers = collected(client, session, clock, count=2)
    transporter = make_org(session, OrgKind.transporter)
    plant = make_org(session, OrgKind.disposal)
    make_site(session, plant)
    driver = login(client, make_user(session, Role.driver, transporter))
    manifest = client.post(
        "/api/v1/manifests",
        json={
            "origin_organization_id": str(h.org.id),
            "destination_organization_id": str(plant.id),
            "vehicle_plate": "蒙A·12345",
        },
        headers=driver,
    ).json()
    for c in containers:
        answer = scan(
            client, driver, c["qr_payload"], "pickup", clock.now, manifest_id=manifest["id"]
        )
        assert answer.status_code == 201, answer.text
    answer = client.get(f"/api/v1/manifests/{manifest['id']}/evidence", headers=driver)
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["subject"]["kind"] == "manifest" and bundle["manifest"]["number"]
    assert sorted(e["container"]["id"] for e in bundle["containers"]) == sorted(
        c["id"] for c in containers
    )
    assert _verify(bundle, client).verified
    assert _independent_check(bundle, _vkey(client)) == 2 * 3
    outsider = hospital(session, client)
    assert (
        client.get(
            f"/api/v1/manifests/{manifest['id']}/evidence", headers=outsider.staff
        ).status_code
        == 404
    )


def test_a_saved_checkpoint_is_proven_a_prefix_of_the_bundle_s_tree(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock
) -> None:
    h, [c] = collected(client, session, clock)
    saved = issue(app, session)
    collected(client, session, clock, count=2)
    scan(client, h.staff, c["qr_payload"], "store", clock.now)
    bundle = _bundle(client, h.staff, c["id"], previous_size=saved.tree_size)
    assert bundle["consistency"]["first"] == saved.tree_size
    assert bundle["log"]["tree_size"] > saved.tree_size
    report = _verify(bundle, client, previous=saved.note)
    assert report.verified, [c.line() for c in report.checks if not c.ok]
    assert any("extends" in c.detail for c in report.checks)
    # the same checkpoint without a proof to it: the verifier says what to ask for
    plain = _bundle(client, h.staff, c["id"])
    failure = _verify(plain, client, previous=saved.note).first_failure
    assert failure is not None and f"previous_size={saved.tree_size}" in failure.detail
    # a size beyond the log cannot be proven
    beyond = client.get(
        f"/api/v1/containers/{c['id']}/evidence?previous_size=999999", headers=h.staff
    )
    assert beyond.status_code == 409


def test_a_bundle_checked_with_the_wrong_key_or_edited_fails(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h, [c] = collected(client, session, clock)
    bundle = _bundle(client, h.staff, c["id"])
    other_key = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
    failure = verify_bundle(bundle, log_keys=[other_key]).first_failure
    assert failure is not None and failure.what == "checkpoint signature"
    edited = json.loads(json.dumps(bundle))
    edited["containers"][0]["events"][1]["content"]["weight_kg"] = 0.5
    failure = _verify(edited, client).first_failure
    assert failure is not None
    assert "event 2" in failure.what and "does not match its hash" in failure.detail
    dropped = json.loads(json.dumps(bundle))
    del dropped["containers"][0]["events"][1]
    failure = _verify(dropped, client).first_failure
    assert failure is not None and failure.what.endswith("chain head")
    assert "ends at event 2, the bundle holds 1" in failure.detail
    swapped = json.loads(json.dumps(bundle))
    swapped["containers"][0]["events"].reverse()
    failure = _verify(swapped, client).first_failure
    assert failure is not None and "event 1" in failure.what
    forged = json.loads(json.dumps(bundle))
    forged["containers"][0]["label"]["qr_payload"] = c["qr_payload"][:-4] + "AAAA"
    failure = _verify(forged, client).first_failure
    assert failure is not None and failure.what.endswith("label")


def test_an_event_edited_in_the_database_is_named(
    client: TestClient, session: Session, clock: FakeClock, database: Database
) -> None:
    """A superuser changes a weight (the hash no longer fits); then another rewrites a weight
    and recomputes every hash of the chain: the chain alone would pass, the log does not."""
    h, [c1, c2] = collected(client, session, clock, count=2)
    for c in (c1, c2):
        scan(client, h.staff, c["qr_payload"], "store", clock.now)
    guards_off(session, database)
    events = {
        cid: session.execute(
            text("SELECT id, seq FROM custody_event WHERE container_id = :c ORDER BY seq"),
            {"c": cid},
        ).all()
        for cid in (c1["id"], c2["id"])
    }
    edited_id = events[c1["id"]][1][0]
    session.execute(
        text("UPDATE custody_event SET weight_kg = 1.5 WHERE id = :id"), {"id": edited_id}
    )
    _rehash_chain_from(session, c2["id"], 2, weight=1.0)
    rewritten_id = events[c2["id"]][1][0]
    session.expire_all()

    failure = _verify(_bundle(client, h.staff, c1["id"]), client).first_failure
    assert failure is not None
    assert f"(id {edited_id})" in failure.what and "does not match its hash" in failure.detail
    bundle = _bundle(client, h.staff, c2["id"])
    report = _verify(bundle, client)
    assert all(c.ok for c in report.checks if "content and chain" in c.what)  # the chain passes
    failure = report.first_failure
    assert failure is not None
    assert f"(id {rewritten_id})" in failure.what and failure.what.endswith("in the log")


def _rehash_chain_from(session: Session, container_id: str, seq: int, *, weight: float) -> None:
    """Rewrite event ``seq``'s weight and recompute the hashes of it and every later event,
    and the container's head, as someone who knows the hashing rule would."""
    rows = session.exec(
        select(CustodyEvent)
        .where(CustodyEvent.container_id == container_id)
        .order_by(col(CustodyEvent.seq))
    ).all()
    previous = rows[seq - 2].hash
    for event in rows[seq - 1 :]:
        fields = event_fields(event)
        fields["prev_hash"] = previous
        if event.seq == seq:
            fields["weight_kg"] = weight
        new_hash = event_hash(fields)
        session.execute(
            text(
                "UPDATE custody_event SET weight_kg = :w, prev_hash = :p, hash = :h WHERE id = :id"
            ),
            {"w": fields["weight_kg"], "p": previous, "h": new_hash, "id": event.id},
        )
        previous = new_hash
    session.execute(
        text("UPDATE container SET last_hash = :h WHERE id = :c"),
        {"h": previous, "c": container_id},
    )


def _cut_back_log(session: Session, keep: int) -> None:
    """Drop every event from log index ``keep`` on and rebuild chains and tree consistently:
    the containers' heads point at their last remaining event, the tiles are rebuilt from the
    remaining leaves (a new checkpoint is then signed with the log's own key)."""
    victims = (
        session.execute(text("SELECT event_id FROM log_leaf WHERE log_index >= :k"), {"k": keep})
        .scalars()
        .all()
    )
    session.execute(text("DELETE FROM log_leaf WHERE log_index >= :k"), {"k": keep})
    ids = {"ids": list(victims)}
    containers = (
        session.execute(
            text("SELECT DISTINCT container_id FROM custody_event WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            ids,
        )
        .scalars()
        .all()
    )
    session.execute(
        text("DELETE FROM custody_event WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        ids,
    )
    last_event = text(
        "SELECT seq, hash FROM custody_event WHERE container_id = :c ORDER BY seq DESC LIMIT 1"
    )
    for cid in containers:
        remaining = session.execute(last_event, {"c": cid}).first()
        if remaining is None:  # nothing left of it: the container goes too
            session.execute(text("DELETE FROM container WHERE id = :c"), {"c": cid})
            continue
        session.execute(
            text("UPDATE container SET last_seq = :s, last_hash = :h WHERE id = :c"),
            {"s": remaining[0], "h": remaining[1], "c": cid},
        )
    session.execute(text("DELETE FROM log_tile"))
    session.execute(
        text("UPDATE log_tree SET size = 0, root_hash = :r"), {"r": hashlib.sha256(b"").hexdigest()}
    )
    session.execute(text("UPDATE log_head SET size = :k"), {"k": keep})
    session.execute(text("DELETE FROM log_checkpoint WHERE tree_size > :k"), {"k": keep})


def test_a_log_cut_back_and_rebuilt_is_caught_with_an_earlier_checkpoint(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock, database: Database
) -> None:
    """The analyst saved a checkpoint. Someone then drops the last events, rebuilds chains
    and tree consistently and signs a new checkpoint with the log's key: every bundle taken
    alone verifies, but not against the saved checkpoint."""
    h, [kept] = collected(client, session, clock)
    others = register(client, h, count=2)
    keep = issue(app, session).tree_size
    for c in others:
        assert (
            scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=3.0).status_code
            == 201
        )
    saved = issue(app, session)
    saved_note, saved_size = saved.note, saved.tree_size  # what the analyst keeps
    assert saved_size == keep + 2

    guards_off(session, database)
    _cut_back_log(session, keep)
    issue(app, session)  # rebuilt tree, signed with the log's key
    session.expire_all()

    # the bundle alone is perfect ...
    bundle = _bundle(client, h.staff, kept["id"])
    assert bundle["log"]["tree_size"] == keep and _verify(bundle, client).verified
    # ... but the saved checkpoint is of a bigger tree than the log now admits to
    failure = _verify(bundle, client, previous=saved_note).first_failure
    assert failure is not None and "consistency" in failure.what
    assert "cut back" in failure.detail
    # the log grows past the saved size again: a proof exists, and it fails
    collected(client, session, clock, count=3)
    bundle = _bundle(client, h.staff, kept["id"], previous_size=saved_size)
    assert bundle["log"]["tree_size"] > saved_size
    assert _verify(bundle, client).verified  # alone, still perfect
    failure = _verify(bundle, client, previous=saved_note).first_failure
    assert failure is not None and "consistency" in failure.what
    assert "rewritten" in failure.detail
    # the rewrite is consistent: the cut containers' chains verify, one event shorter
    chain = client.get(f"/api/v1/containers/{others[0]['id']}/events", headers=h.staff).json()
    assert [e["action"] for e in chain["events"]] == ["register"] and chain["verified"]


def test_a_witness_reading_only_tiles_accepts_growth_and_raises_the_alarm_on_a_rewrite(
    app: FastAPI,
    client: TestClient,
    session: Session,
    clock: FakeClock,
    database: Database,
    tmp_path: Path,
) -> None:
    def fetch(path: str) -> bytes:
        fetched.append(path)
        answer = client.get(f"/api/v1/log/{path}")
        if answer.status_code != 200:
            raise OSError(f"{path}: HTTP {answer.status_code}")
        return answer.content

    fetched: list[str] = []
    state = tmp_path / "kept-checkpoint.txt"
    keys = [_vkey(client)]
    said: list[str] = []
    collected(client, session, clock)
    issue(app, session)
    assert run_witness("unused", log_keys=keys, state=state, fetch=fetch, echo=said.append) == 0
    assert "first checkpoint kept" in said[-1] and state.exists()
    for _ in range(3):
        collected(client, session, clock, count=2)
        issue(app, session)
        assert run_witness("unused", log_keys=keys, state=state, fetch=fetch, echo=said.append) == 0
        assert "consistently" in said[-1]
    # it read tiles, and nothing but the checkpoint and tiles
    assert any(p.startswith("tile/0/") for p in fetched)
    assert all(p == "checkpoint" or p.startswith("tile/") for p in fetched)
    kept = state.read_text()

    guards_off(session, database)
    _cut_back_log(session, 3)
    issue(app, session)
    session.expire_all()
    assert run_witness("unused", log_keys=keys, state=state, fetch=fetch, echo=said.append) == 1
    assert "shrank" in said[-1] and state.read_text() == kept  # the alarm keeps the old one
    collected(client, session, clock, count=6)
    issue(app, session)
    assert run_witness("unused", log_keys=keys, state=state, fetch=fetch, echo=said.append) == 1
    assert "does not extend" in said[-1] and state.read_text() == kept
