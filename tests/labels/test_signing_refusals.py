"""What a scanner is told about a label that is not genuine, and the limits of a label's shape:
each refusal says what is wrong (the phone shows it), at the exact limits of the contract."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from service.labels.signing import (
    ForgedLabel,
    MalformedLabel,
    UnknownLabelKey,
    generate_key,
    key_id_for,
    load_public_key_b64,
    parse_label,
    private_key_from_pem,
    public_key_b64,
    short_code,
    sign_label,
    verify_label,
)

# A fixed key, so the labels (and the test ids built from them) are the same in every run.
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KID = key_id_for(KEY.public_key())
GOOD = sign_label("k7m2q9x4p1", KID, KEY)
SIGNATURE = GOOD.rsplit(".", 1)[1]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("MW1.k7m2q9x4p1." + KID, "label payload must have 4 dot-separated parts"),
        (GOOD + ".x", "label payload must have 4 dot-separated parts"),
        ("MW2" + GOOD[3:], "label payload must start with 'MW1'"),
        (
            GOOD.replace("k7m2q9x4p1", "k7m2-q9x4"),
            "label container id must be ASCII letters/digits",
        ),
        (
            GOOD.replace("k7m2q9x4p1", "k7m2q9x4pé"),
            "label container id must be ASCII letters/digits",
        ),
        (f"MW1.k7m2q9x4p1.k!d.{SIGNATURE}", "label key id must be ASCII letters/digits"),
        (f"MW1.k7m2q9x4p1.{KID}.AA!A", "label signature is not unpadded base64url"),
        (f"MW1.k7m2q9x4p1.{KID}.AAAAA", "label signature is not unpadded base64url"),
        (f"MW1.k7m2q9x4p1.{KID}.AB", "label signature is not unpadded base64url"),  # stray bits
        (f"MW1.k7m2q9x4p1.{KID}.{SIGNATURE}==", "label signature is not unpadded base64url"),
        # Well-formed base64url of the wrong length: 3, 3 and 7 bytes.
        (f"MW1.k7m2q9x4p1.{KID}.AAAA", "label signature must be 64 bytes"),
        (f"MW1.k7m2q9x4p1.{KID}.AAAX", "label signature must be 64 bytes"),
        (f"MW1.k7m2q9x4p1.{KID}.AAAAAAAAAA", "label signature must be 64 bytes"),
        (f"MW1.k7m2q9x4p1.{KID}.{SIGNATURE[:-2]}", "label signature must be 64 bytes"),
        ("M" * 257, "label payload longer than 256 characters"),
    ],
    # Named, not derived from the payloads: the ids stay the same whatever the key.
    ids=[
        "three parts",
        "five parts",
        "another prefix",
        "dash in the id",
        "non-ASCII id",
        "bad key id",
        "outside the alphabet",
        "5 characters",
        "stray bits",
        "padded",
        "3 bytes",
        "3 bytes ending in X",
        "7 bytes",
        "62 bytes",
        "257 characters",
    ],
)
def test_a_malformed_label_says_what_is_wrong(payload: str, message: str) -> None:
    with pytest.raises(MalformedLabel) as refused:
        parse_label(payload)
    assert str(refused.value) == message


def test_the_longest_label_is_256_characters() -> None:
    longest = sign_label("a" * 156, KID, KEY)
    assert len(longest) == 256
    assert parse_label(longest).container_id == "a" * 156
    assert verify_label(longest, {KID: KEY.public_key()}).container_id == "a" * 156
    with pytest.raises(ValueError) as refused:
        sign_label("a" * 157, KID, KEY)
    assert str(refused.value) == "label payload would exceed 256 characters"


def test_a_label_from_an_unknown_key_names_the_key() -> None:
    with pytest.raises(UnknownLabelKey) as refused:
        verify_label(GOOD, {})
    assert refused.value.key_id == KID
    assert str(refused.value) == f"unknown label signing key '{KID}'"


def test_a_forged_label_names_the_container_and_the_key() -> None:
    other = generate_key()
    forged = sign_label("k7m2q9x4p1", KID, other)  # another key claiming to be ours
    with pytest.raises(ForgedLabel) as refused:
        verify_label(forged, {KID: KEY.public_key()})
    assert (refused.value.container_id, refused.value.key_id) == ("k7m2q9x4p1", KID)
    assert str(refused.value) == (
        f"label signature for container 'k7m2q9x4p1' does not verify with key '{KID}'"
    )


@pytest.mark.parametrize(
    ("container_id", "key_id", "message"),
    [
        ("", KID, "container id must be non-empty ASCII letters/digits: ''"),
        ("ab-c", KID, "container id must be non-empty ASCII letters/digits: 'ab-c'"),
        ("abc", "", "key id must be non-empty ASCII letters/digits: ''"),
        ("abc", "k.d", "key id must be non-empty ASCII letters/digits: 'k.d'"),
    ],
    ids=["empty container id", "dash in the container id", "empty key id", "dot in the key id"],
)
def test_signing_refuses_ids_a_label_cannot_carry(
    container_id: str, key_id: str, message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        sign_label(container_id, key_id, KEY)
    assert str(refused.value) == message


def test_a_published_public_key_reads_back_and_bad_ones_say_why() -> None:
    text = public_key_b64(KEY.public_key())
    assert len(text) == 43 and "=" not in text
    assert key_id_for(load_public_key_b64(f"  {text}\n")) == KID
    with pytest.raises(ValueError) as short:
        load_public_key_b64("AAAX")
    assert str(short.value) == "Ed25519 public key must be 32 bytes, got 3"
    with pytest.raises(ValueError) as bad:
        load_public_key_b64("AA!A")
    assert str(bad.value) == "public key is not unpadded base64url"


def test_a_pem_of_another_kind_of_key_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    with pytest.raises(ValueError) as refused:
        private_key_from_pem(pem)
    assert str(refused.value) == "PEM does not hold an Ed25519 private key"


def test_key_ids_are_lowercase_base32_of_the_key_digest() -> None:
    assert len(KID) == 8 and KID.lower() == KID
    assert set(KID) <= set("abcdefghijklmnopqrstuvwxyz234567")


@pytest.mark.parametrize(
    ("container_id", "code"),
    [("k7m2q9x4", "K7M2-Q9X4"), ("k7m2q9x4p1zz", "K7M2-Q9X4")],
)
def test_short_codes_from_eight_characters_on(container_id: str, code: str) -> None:
    assert short_code(container_id) == code


@pytest.mark.parametrize("container_id", ["k7m2q9x", "k7m2-q9x4"])
def test_no_short_code_for_a_short_or_odd_id(container_id: str) -> None:
    with pytest.raises(ValueError) as refused:
        short_code(container_id)
    assert str(refused.value) == f"container id too short or not alphanumeric: {container_id!r}"
