"""The transparency log through the real API and database: every event a leaf in commit
order, answers naming each event's index, signed checkpoints, proofs and tiles a witness can
check with its own code, append-only tables, keys and origin."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from service.config import Settings
from service.tlog.keys import (
    LogOriginChanged,
    effective_origin,
    load_log_signer,
    rotate_log_key,
)
from service.tlog.service import append_leaf_hashes, head_size, log_indexes, tree_state
from service.tlog.verifier import (
    NoteError,
    leaf_hash,
    open_checkpoint,
    parse_vkey,
    verify_consistency,
    verify_inclusion,
)
from tests.conftest import FakeClock
from tests.custody.helpers import register, scan
from tests.tlog.anchors import anchor
from tests.tlog.helpers import all_leaf_data, collected, issue, mth

PROBLEM = "application/problem+json"


def _vkey(client: TestClient) -> str:
    answer = client.get("/api/v1/log/key")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    return answer.text.strip()


def test_every_event_enters_the_log_and_answers_name_its_index(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h, [c1, c2] = collected(client, session, clock, count=2)
    stored = scan(
        client, h.staff, c1["qr_payload"], "store", clock.now, client_event_id="tl-store-0001"
    )
    stored_again = scan(
        client, h.staff, c2["qr_payload"], "store", clock.now, client_event_id="tl-store-0002"
    )
    first, second = stored.json()["event"], stored_again.json()["event"]
    assert stored.status_code == stored_again.status_code == 201
    # log order is commit order: the second scan's event is the next leaf
    assert isinstance(first["log_index"], int)
    assert second["log_index"] == first["log_index"] + 1
    # a retried scan answers the same index (read from the log, not stored in the receipt)
    retry = scan(
        client, h.staff, c1["qr_payload"], "store", clock.now, client_event_id="tl-store-0001"
    )
    assert retry.status_code == 200 and retry.json()["event"]["log_index"] == first["log_index"]

    chain = client.get(f"/api/v1/containers/{c1['id']}/events", headers=h.staff).json()
    indexes = [e["log_index"] for e in chain["events"]]
    assert [e["action"] for e in chain["events"]] == ["register", "collect", "store"]
    assert all(isinstance(i, int) for i in indexes) and indexes == sorted(indexes)
    assert indexes[-1] == first["log_index"]
    # each leaf holds its event's hash as data
    leaves = all_leaf_data(session)
    for event in chain["events"]:
        assert leaves[event["log_index"]].hex() == event["hash"]
    assert head_size(session) == len(leaves)


def test_a_phone_sync_answers_each_event_with_its_index(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h, [c1, c2] = collected(client, session, clock, count=2)
    batch = {
        "device_id": "phone-tl",
        "scans": [
            {
                "qr_payload": c["qr_payload"],
                "action": "store",
                "client_event_id": f"sync-{uuid.uuid4()}",
                "scanned_at": clock.now.isoformat(),
            }
            for c in (c1, c2)
        ]
        + [{"qr_payload": "MW1.nope", "action": "store", "client_event_id": "sync-bad-1"}],
    }
    answer = client.post("/mobile/v1/sync", json=batch, headers=h.staff)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["created", "created", "rejected"]
    a, b = (r["event"]["log_index"] for r in results[:2])
    assert b == a + 1
    assert results[2]["event"] is None
    assert log_indexes(session, [results[0]["event"]["id"]]) == {results[0]["event"]["id"]: a}


def test_checkpoint_is_signed_and_commits_to_every_leaf(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock
) -> None:
    assert client.get("/api/v1/log/checkpoint").status_code in (200, 404)
    collected(client, session, clock, count=3)
    issued = issue(app, session)
    answer = client.get("/api/v1/log/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.text == issued.note
    checkpoint, _ = open_checkpoint(answer.text, [parse_vkey(_vkey(client))])
    assert checkpoint.origin == app.state.log_signer.origin
    # the signed root is the RFC 9162 root over every leaf, computed independently
    leaves = all_leaf_data(session)
    assert checkpoint.size == len(leaves) == head_size(session) >= 6
    assert checkpoint.root == mth(leaves)
    # nothing new: the next round signs nothing new
    assert issue(app, session).id == issued.id
    listed = client.get("/api/v1/log/checkpoints?limit=500").json()["items"]
    assert listed[-1]["note"] == issued.note and listed[-1]["tree_size"] == checkpoint.size


def test_inclusion_and_consistency_proofs_verify(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock
) -> None:
    h, [c] = collected(client, session, clock)
    first = issue(app, session)
    scan(client, h.staff, c["qr_payload"], "store", clock.now)
    collected(client, session, clock, count=2)
    second = issue(app, session)
    assert second.tree_size > first.tree_size
    vkey = parse_vkey(_vkey(client))
    old, _ = open_checkpoint(first.note, [vkey])
    new, _ = open_checkpoint(second.note, [vkey])
    leaves = all_leaf_data(session)
    for index in range(new.size):
        answer = client.get(f"/api/v1/log/proof/inclusion?leaf_index={index}&tree_size={new.size}")
        body = answer.json()
        assert (body["leaf_index"], body["tree_size"]) == (index, new.size)
        proof = [bytes.fromhex(x) for x in body["hashes"]]
        verify_inclusion(index, new.size, leaf_hash(leaves[index]), proof, new.root)
    # into the older tree too
    body = client.get(f"/api/v1/log/proof/inclusion?leaf_index=0&tree_size={old.size}").json()
    verify_inclusion(
        0, old.size, leaf_hash(leaves[0]), [bytes.fromhex(x) for x in body["hashes"]], old.root
    )
    answer = client.get(f"/api/v1/log/proof/consistency?first={old.size}&second={new.size}")
    body = answer.json()
    assert (body["first"], body["second"]) == (old.size, new.size)
    verify_consistency(
        old.size, new.size, old.root, new.root, [bytes.fromhex(x) for x in body["hashes"]]
    )
    same = client.get(f"/api/v1/log/proof/consistency?first={new.size}&second={new.size}")
    assert same.json()["hashes"] == []


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("inclusion?leaf_index=3&tree_size=3", 422),
        ("inclusion?leaf_index=-1&tree_size=3", 422),
        ("inclusion?leaf_index=x&tree_size=3", 422),
        ("inclusion?tree_size=3", 422),
        ("inclusion", 422),
        ("inclusion?leaf_index=0&tree_size=0", 422),
        ("inclusion?leaf_index=0&tree_size=99999999", 409),
        ("inclusion?leaf_index=0&tree_size=99999999999999999999999", 422),
        ("consistency?first=0&second=3", 422),
        ("consistency?first=3&second=2", 422),
        ("consistency?first=1&second=99999999", 409),
        ("consistency?first=1", 422),
    ],
)
def test_bad_proof_requests_get_a_problem_and_never_a_500(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock, query: str, status: int
) -> None:
    collected(client, session, clock, count=2)
    issue(app, session)
    answer = client.get(f"/api/v1/log/proof/{query}")
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["detail"]


def test_a_witness_rebuilds_the_root_from_tiles_and_entry_bundles(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock
) -> None:
    """What a tile-aware witness does: fetch the checkpoint, the level-0 tiles and entry
    bundles it implies, hash the entries itself, and compare roots."""
    collected(client, session, clock, count=3)
    issue(app, session)
    checkpoint, _ = open_checkpoint(
        client.get("/api/v1/log/checkpoint").text, [parse_vkey(_vkey(client))]
    )
    size = checkpoint.size
    data: list[bytes] = []
    for n in range((size + 255) // 256):
        width = min(256, size - n * 256)
        suffix = "" if width == 256 else f".p/{width}"
        index = f"{n:03d}" if n < 1000 else None
        assert index is not None
        tile = client.get(f"/api/v1/log/tile/0/{index}{suffix}")
        bundle = client.get(f"/api/v1/log/tile/entries/{index}{suffix}")
        assert tile.status_code == bundle.status_code == 200
        assert tile.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert tile.headers["content-type"] == "application/octet-stream"
        raw = bundle.content
        entries = []
        while raw:
            length = int.from_bytes(raw[:2], "big")
            entries.append(raw[2 : 2 + length])
            raw = raw[2 + length :]
        hashes = [tile.content[i : i + 32] for i in range(0, len(tile.content), 32)]
        assert [hashlib.sha256(b"\x00" + e).digest() for e in entries] == hashes
        data += entries
    assert len(data) == size and mth(data) == checkpoint.root
    # a wider partial tile than the tree has, a full one that is not full yet, junk paths
    width = size % 256
    for path in (
        f"tile/0/000.p/{width + 1}",
        "tile/0/000" if width else "tile/0/001",
        "tile/0/x000/000",
        "tile/64/000",
        "tile/entries/000.p/0",
        f"tile/entries/000.p/{width + 1}",
        "tile/x/000",
    ):
        answer = client.get(f"/api/v1/log/{path}")
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == PROBLEM


def test_tiles_above_level_zero_hold_the_roots_of_full_tiles(
    client: TestClient, session: Session
) -> None:
    """A tree of 70,000 leaves (appended straight to the tiles): the level-1 and level-2 tiles
    have the widths tlog-tiles gives them and hold the roots of the full tiles below."""
    start, _ = tree_state(session)
    assert start < 256, "this test expects a nearly empty log in the shared database"
    extra = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(70_000 - start)]
    size, root = append_leaf_hashes(session, extra)
    assert size == 70_000
    level0 = client.get("/api/v1/log/tile/0/272").content
    level1 = client.get("/api/v1/log/tile/1/001.p/17")
    assert level1.status_code == 200 and len(level1.content) == 17 * 32
    assert client.get("/api/v1/log/tile/0/273.p/112").status_code == 200
    assert client.get("/api/v1/log/tile/2/000.p/1").status_code == 200
    assert client.get("/api/v1/log/tile/1/001.p/18").status_code == 404
    full1 = client.get("/api/v1/log/tile/1/000").content
    # entry 272 of level 1 is the root of level-0 tile 272
    from service.tlog.verifier import root_of

    assert level1.content[16 * 32 : 17 * 32] == root_of(
        [level0[i : i + 32] for i in range(0, 8192, 32)]
    )
    assert len(full1) == 8192
    body = client.get(f"/api/v1/log/proof/inclusion?leaf_index=69999&tree_size={size}").json()
    verify_inclusion(69999, size, extra[-1], [bytes.fromhex(x) for x in body["hashes"]], root)


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("UPDATE log_leaf SET event_hash = 'ff'", "append-only"),
        ("DELETE FROM log_leaf", "append-only"),
        ("UPDATE log_checkpoint SET tree_size = 1", "append-only"),
        ("DELETE FROM log_checkpoint", "append-only"),
        ("UPDATE log_head SET size = 0", "only grows"),
        ("DELETE FROM log_head", "only grows"),
        ("UPDATE log_tree SET size = 0", "only grows"),
        ("DELETE FROM log_tile", "only grows"),
        ("DELETE FROM log_key", "append-only"),
        ("UPDATE log_key SET name = 'x'", "append-only"),
    ],
)
def test_the_database_refuses_to_rewrite_the_log(
    app: FastAPI,
    client: TestClient,
    session: Session,
    clock: FakeClock,
    statement: str,
    refusal: str,
) -> None:
    collected(client, session, clock, count=2)
    issue(app, session)
    with pytest.raises(DBAPIError, match=refusal), session.begin_nested():
        session.execute(text(statement))


def test_a_tile_keeps_its_hashes(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock
) -> None:
    collected(client, session, clock, count=2)
    issue(app, session)
    replaced = "UPDATE log_tile SET data = :data WHERE level = 0 AND idx = 0"
    with pytest.raises(DBAPIError, match="only grows"), session.begin_nested():
        session.execute(text(replaced), {"data": b"\x00" * 32})
    data = session.execute(
        text("SELECT data FROM log_tile WHERE level = 0 AND idx = 0")
    ).scalar_one()
    with session.begin_nested():  # appending hashes is how a tile grows: allowed
        session.execute(text(replaced), {"data": bytes(data) + b"\x01" * 32})


def test_an_event_written_behind_the_service_s_back_still_enters_the_log(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    """The database appends events to the log itself: raw SQL cannot write one that escapes."""
    _, [c] = collected(client, session, clock)
    columns = [
        "container_id", "action", "from_state", "to_state", "actor_user_id",
        "actor_organization_id", "custodian_before", "custodian_after", "occurred_at",
        "recorded_at", "prev_hash",
    ]  # fmt: skip
    listed = ", ".join(columns)
    session.execute(
        text(
            f"INSERT INTO custody_event (seq, hash, {listed}) "
            f"SELECT 99, :hash, {listed} FROM custody_event WHERE container_id = :c AND seq = 2"
        ),
        {"c": c["id"], "hash": "ab" * 32},
    )
    session.commit()
    new_id = session.execute(
        text("SELECT id FROM custody_event WHERE hash = :h"), {"h": "ab" * 32}
    ).scalar_one()
    index = log_indexes(session, [new_id])[new_id]
    assert all_leaf_data(session)[index] == bytes.fromhex("ab" * 32)


def test_a_rotated_key_signs_new_checkpoints_and_old_ones_keep_verifying(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    collected(client, session, clock)
    old = issue(app, session)
    old_vkey = _vkey(client)
    app.state.log_signer = rotate_log_key(session=session, settings=settings)
    new_vkey = _vkey(client)
    assert new_vkey != old_vkey and new_vkey == app.state.log_signer.vkey
    # same tree, new key: a checkpoint under the new key
    new = issue(app, session)
    assert new.id != old.id and new.tree_size == old.tree_size
    open_checkpoint(old.note, [parse_vkey(old_vkey)])
    open_checkpoint(new.note, [parse_vkey(new_vkey)])
    with pytest.raises(NoteError):
        open_checkpoint(old.note, [parse_vkey(new_vkey)])
    keys = {k["vkey"]: k["active"] for k in client.get("/api/v1/log/keys").json()["keys"]}
    assert keys[old_vkey] is False and keys[new_vkey] is True


def test_a_log_keeps_its_origin(
    app: FastAPI, client: TestClient, session: Session, clock: FakeClock, settings: Settings
) -> None:
    collected(client, session, clock)
    checkpoint = issue(app, session)
    assert effective_origin(session, settings) == checkpoint.origin
    moved = settings.model_copy(update={"log_origin": "elsewhere.example/log"})
    with pytest.raises(LogOriginChanged, match="keeps its origin"):
        load_log_signer(session=session, settings=moved)
    same = settings.model_copy(update={"log_origin": checkpoint.origin})
    assert load_log_signer(session=session, settings=same).origin == checkpoint.origin


def test_a_configured_signer_key_is_used_as_given(session: Session, tmp_path: object) -> None:
    """MEDWASTE_LOG_SIGNING_KEY in the signed-note signer format: the published verifier key
    is the one that goes with it; a key named for another log is refused."""
    examples = anchor("checkpoint-example.json")
    key = next(k for k in examples["keys"] if k["key_id_hex"] == "6df85e93")
    origin = "medwaste.example/custody-log"
    recorded = session.execute(text("SELECT count(*) FROM log_checkpoint")).scalar_one()
    if recorded:
        pytest.skip("the shared database already has checkpoints of another origin")
    settings = Settings(log_signing_key=key["skey"], log_origin=origin)
    assert load_log_signer(session=session, settings=settings).vkey == key["vkey"]
    wrong = Settings(log_signing_key=key["skey"], log_origin="other.example/log")
    with pytest.raises(ValueError, match="is a key for"):
        load_log_signer(session=session, settings=wrong)


def test_registered_containers_enter_the_log_in_the_order_they_were_made(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    collected(client, session, clock, count=3)
    h2, _ = collected(client, session, clock)
    more = register(client, h2, count=2)
    ids = [
        client.get(f"/api/v1/containers/{c['id']}/events", headers=h2.staff).json()["events"][0]
        for c in more
    ]
    assert ids[1]["log_index"] == ids[0]["log_index"] + 1
