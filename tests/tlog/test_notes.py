"""C2SP signed notes and checkpoints against the published examples: every note verified or
rejected as ``expect`` says (the real sum.golang.org checkpoint under its production key
included), signatures reproduced byte for byte, checkpoints parsed."""

from __future__ import annotations

from typing import Any

import pytest

from service.tlog.checkpoint import checkpoint_text, parse_checkpoint
from service.tlog.note import NoteSigner, format_skey, parse_skey
from service.tlog.verifier import (
    NoteError,
    key_id,
    open_checkpoint,
    open_note,
    parse_vkey,
    split_note,
)
from tests.tlog.anchors import anchor

SUMDB = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"


@pytest.fixture(scope="module")
def examples() -> Any:
    return anchor("checkpoint-example.json")


def _verifies(note: str, vkey: str) -> bool:
    try:
        open_note(note, [parse_vkey(vkey)])
    except NoteError:
        return False
    return True


def test_every_note_is_verified_or_rejected_as_expected(examples: Any) -> None:
    verdicts = {
        (case["id"], vkey): _verifies(case["note"], vkey)
        for case in examples["cases"]
        for vkey in case["expect"]
    }
    expected = {
        (case["id"], vkey): want
        for case in examples["cases"]
        for vkey, want in case["expect"].items()
    }
    assert verdicts == expected
    # both outcomes occur, and the real Go checksum database checkpoint is among the accepted
    assert set(verdicts.values()) == {True, False}
    assert verdicts[("sumdb-real", SUMDB)] is True
    assert verdicts[("sumdb-tampered-root", SUMDB)] is False


def test_sum_golang_org_checkpoint_reads_as_published(examples: Any) -> None:
    case = next(c for c in examples["cases"] if c["id"] == "sumdb-real")
    opened = open_note(case["note"], [parse_vkey(SUMDB)])
    assert [v.name for v in opened.verified_by] == ["sum.golang.org"]
    parsed = parse_checkpoint(opened.text)
    assert (parsed.origin, parsed.size) == ("go.sum database tree", 6476701)
    assert parsed.root.hex() == case["checkpoint"]["root_hash_hex"]
    # That log predates the convention that the key name is the origin: as a checkpoint of
    # a medwaste log (whose key is named after its origin) it is refused, saying why.
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(case["note"], [parse_vkey(SUMDB)])


def test_checkpoint_bodies_parse_as_published(examples: Any) -> None:
    for case in examples["cases"]:
        if "checkpoint" not in case:
            continue
        text, _ = split_note(case["note"])
        parsed = parse_checkpoint(text)
        want = case["checkpoint"]
        assert (parsed.origin, parsed.size, parsed.root.hex(), list(parsed.extensions)) == (
            want["origin"],
            want["size"],
            want["root_hash_hex"],
            want["extensions"],
        ), case["id"]


def test_published_signer_keys_reproduce_their_notes(examples: Any) -> None:
    """Ed25519 is deterministic: signing again with the published test key gives the same
    bytes, so our signer writes the format exactly."""
    regenerated = 0
    for case in examples["cases"]:
        if "regenerate_with_skey" not in case:
            continue
        signer = parse_skey(case["regenerate_with_skey"])
        text, _ = split_note(case["note"])
        assert signer.sign(text) == case["note"], case["id"]
        assert format_skey(signer) == case["regenerate_with_skey"]
        regenerated += 1
    assert regenerated >= 3
    for key in examples["keys"]:
        parsed = parse_vkey(key["vkey"])
        assert f"{parsed.key_id:08x}" == key["key_id_hex"]
        if "skey" in key:
            assert parse_skey(key["skey"]).vkey == key["vkey"]


def test_our_checkpoint_of_the_standard_tree_is_the_published_one(examples: Any) -> None:
    case = next(c for c in examples["cases"] if c["id"] == "medwaste-checkpoint-size8")
    signer = parse_skey(case["regenerate_with_skey"])
    root = bytes.fromhex(case["checkpoint"]["root_hash_hex"])
    note = signer.sign(checkpoint_text("medwaste.example/custody-log", 8, root))
    assert note == case["note"]
    checkpoint, _ = open_checkpoint(note, [parse_vkey(signer.vkey)])
    assert (checkpoint.size, checkpoint.root) == (8, root)


@pytest.mark.parametrize(
    ("vkey", "why"),
    [
        ("sum.golang.org+033de0af+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8", "id"),
        ("sum.golang.org+033de0ae", "name\\+keyid\\+key"),
        ("sum golang+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8", "space"),
        ("sum.golang.org+033DE0AE+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8", "hex"),
        ("sum.golang.org+033de0ae+Bc4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8", "Ed25519"),
        ("sum.golang.org+033de0ae+not-base64", "base64"),
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_vkey(vkey)


def test_a_signer_refuses_text_that_would_not_parse_back() -> None:
    signer = parse_skey(
        "PRIVATE+KEY+EnochRoot+af0cfe78+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )
    for text in ("no final newline", "a\n\nblank line inside\n", "tab\there\n"):
        with pytest.raises(ValueError):
            signer.sign(text)
    with pytest.raises(ValueError):
        NoteSigner("has space", signer.private_key)
    with pytest.raises(ValueError, match="id"):
        parse_skey("PRIVATE+KEY+EnochRoot+af0cfe79+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert key_id("EnochRoot", signer.public_bytes) == 0xAF0CFE78


def test_a_checkpoint_from_another_log_is_refused(examples: Any) -> None:
    """A key that signs for one log does not vouch for a checkpoint naming another origin."""
    signer = parse_skey(next(k["skey"] for k in examples["keys"] if k["key_id_hex"] == "6df85e93"))
    note = signer.sign(checkpoint_text("another.example/log", 1, b"\x00" * 32))
    open_note(note, [parse_vkey(signer.vkey)])  # the signature itself is good
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(note, [parse_vkey(signer.vkey)])
