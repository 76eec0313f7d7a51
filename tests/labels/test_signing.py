import base64
import os
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from service.labels.signing import (
    PAYLOAD_PREFIX,
    ForgedLabel,
    LabelError,
    MalformedLabel,
    UnknownLabelKey,
    generate_key,
    key_id_for,
    load_public_key_b64,
    parse_label,
    private_key_from_pem,
    private_key_to_pem,
    public_key_b64,
    short_code,
    sign_label,
    verify_label,
)


def new_container_id() -> str:
    return base64.b32encode(os.urandom(16)).decode("ascii").rstrip("=").lower()


def keyring(*keys: Ed25519PrivateKey) -> dict[str, Ed25519PublicKey]:
    return {key_id_for(k.public_key()): k.public_key() for k in keys}


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_key()


@pytest.fixture
def key_id(key: Ed25519PrivateKey) -> str:
    return key_id_for(key.public_key())


def test_container_ids_are_26_char_base32() -> None:
    assert re.fullmatch(r"[a-z2-7]{26}", new_container_id())


def test_round_trip(key: Ed25519PrivateKey, key_id: str) -> None:
    container_id = new_container_id()
    payload = sign_label(container_id, key_id, key)

    prefix, cid, kid, signature = payload.split(".")
    assert (prefix, cid, kid) == (PAYLOAD_PREFIX, container_id, key_id)
    assert "=" not in signature
    assert len(payload) <= 256

    parsed = verify_label(payload, keyring(key))
    assert parsed.container_id == container_id
    assert parsed.key_id == key_id
    assert len(parsed.signature) == 64
    assert parsed.signed_part == f"MW1.{container_id}.{key_id}"
    assert parse_label(payload) == parsed


def test_payload_follows_the_contract_byte_for_byte(key: Ed25519PrivateKey, key_id: str) -> None:
    """SPEC §5, built by hand: Ed25519 is deterministic, so the payloads must be identical."""
    container_id = new_container_id()
    signed = f"MW1.{container_id}.{key_id}".encode("ascii")
    signature = base64.urlsafe_b64encode(key.sign(signed)).decode("ascii").rstrip("=")
    assert sign_label(container_id, key_id, key) == f"{signed.decode()}.{signature}"


def test_key_id_is_short_stable_and_distinct(key: Ed25519PrivateKey, key_id: str) -> None:
    assert re.fullmatch(r"[a-z2-7]{8}", key_id)
    assert key_id_for(key.public_key()) == key_id
    reloaded = load_public_key_b64(public_key_b64(key.public_key()))
    assert key_id_for(reloaded) == key_id
    assert key_id_for(generate_key().public_key()) != key_id


def test_surrounding_whitespace_is_stripped(key: Ed25519PrivateKey, key_id: str) -> None:
    payload = sign_label(new_container_id(), key_id, key)
    assert verify_label(f"  {payload}\r\n", keyring(key)).signed_part == payload.rsplit(".", 1)[0]


def test_forged_signature_is_rejected(key: Ed25519PrivateKey, key_id: str) -> None:
    payload = sign_label(new_container_id(), key_id, key)
    head, signature = payload.rsplit(".", 1)
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    with pytest.raises(ForgedLabel):
        verify_label(f"{head}.{flipped}", keyring(key))


def test_tampered_container_id_is_rejected(key: Ed25519PrivateKey, key_id: str) -> None:
    original = new_container_id()
    payload = sign_label(original, key_id, key)
    tampered = payload.replace(original, new_container_id())
    with pytest.raises(ForgedLabel) as info:
        verify_label(tampered, keyring(key))
    assert info.value.key_id == key_id


def test_label_signed_by_another_key_under_our_key_id_is_forged(
    key: Ed25519PrivateKey, key_id: str
) -> None:
    impostor = generate_key()
    payload = sign_label(new_container_id(), key_id, impostor)
    with pytest.raises(ForgedLabel):
        verify_label(payload, keyring(key))


def test_unknown_key_id_is_rejected(key: Ed25519PrivateKey) -> None:
    stranger = generate_key()
    payload = sign_label(new_container_id(), key_id_for(stranger.public_key()), stranger)
    with pytest.raises(UnknownLabelKey) as info:
        verify_label(payload, keyring(key))
    assert info.value.key_id == key_id_for(stranger.public_key())


def test_rotated_keys_keep_verifying_old_labels() -> None:
    old, new = generate_key(), generate_key()
    old_payload = sign_label(new_container_id(), key_id_for(old.public_key()), old)
    new_payload = sign_label(new_container_id(), key_id_for(new.public_key()), new)

    every_key = keyring(new, old)
    assert verify_label(old_payload, every_key).key_id == key_id_for(old.public_key())
    assert verify_label(new_payload, every_key).key_id == key_id_for(new.public_key())
    with pytest.raises(UnknownLabelKey):
        verify_label(old_payload, keyring(new))


def _valid_signature_text() -> str:
    return base64.urlsafe_b64encode(bytes(64)).decode("ascii").rstrip("=")


SIG = _valid_signature_text()


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "   ",
        "hello world",
        "https://example.com/container/abc",
        f"MW2.abc.key1.{SIG}",
        f"mw1.abc.key1.{SIG}",
        f"MW1.abc.{SIG}",
        f"MW1.abc.key1.{SIG}.extra",
        f"MW1..key1.{SIG}",
        f"MW1.abc..{SIG}",
        "MW1.abc.key1.",
        f"MW1.ab-c.key1.{SIG}",
        f"MW1.abc.key_1.{SIG}",
        f"MW1.abcé.key1.{SIG}",
        f"MW1.abc\uff11.key1.{SIG}",
        f"MW1.abc def.key1.{SIG}",
        f"MW1.abc.key1.{SIG[:-1]}!",
        f"MW1.abc.key1.{SIG}==",
        f"MW1.abc.key1.{SIG[:40]}",
        f"MW1.abc.key1.{SIG}AAAA",
        f"MW1.abc.key1.{SIG[:-1]}B",
        f"MW1.{'a' * 300}.key1.{SIG}",
        f"MW1.abc.key1.{SIG}" + " " * 200,
    ],
)
def test_malformed_payloads_are_rejected(payload: str, key: Ed25519PrivateKey) -> None:
    with pytest.raises(MalformedLabel):
        parse_label(payload)
    with pytest.raises(MalformedLabel):
        verify_label(payload, keyring(key))


def test_error_hierarchy() -> None:
    for error in (MalformedLabel, UnknownLabelKey, ForgedLabel):
        assert issubclass(error, LabelError)
        assert issubclass(error, ValueError)


@pytest.mark.parametrize("container_id", ["", "a.b", "a-b", "abc ", "é", "abc\n"])
def test_sign_rejects_bad_container_ids(container_id: str, key: Ed25519PrivateKey) -> None:
    with pytest.raises(ValueError):
        sign_label(container_id, "key1", key)


@pytest.mark.parametrize("bad_key_id", ["", "k.1", "k/1"])
def test_sign_rejects_bad_key_ids(bad_key_id: str, key: Ed25519PrivateKey) -> None:
    with pytest.raises(ValueError):
        sign_label("abc", bad_key_id, key)


def test_public_key_b64_round_trip(key: Ed25519PrivateKey) -> None:
    text = public_key_b64(key.public_key())
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", text)
    payload = sign_label("abc", "k1", key)
    assert verify_label(payload, {"k1": load_public_key_b64(text)}).container_id == "abc"


@pytest.mark.parametrize(
    "text", ["", "not base64!", base64.urlsafe_b64encode(bytes(31)).decode(), "A" * 43 + "="]
)
def test_load_public_key_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        load_public_key_b64(text)


def test_private_key_pem_round_trip(key: Ed25519PrivateKey) -> None:
    pem = private_key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    restored = private_key_from_pem(pem)
    assert sign_label("abc", "k1", restored) == sign_label("abc", "k1", key)


def test_private_key_from_pem_rejects_other_algorithms() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    with pytest.raises(ValueError):
        private_key_from_pem(pem)


def test_short_code() -> None:
    assert short_code("abcdefgh234567abcdefgh2345") == "ABCD-EFGH"
    container_id = new_container_id()
    code = short_code(container_id)
    assert re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}", code)
    assert code.replace("-", "").lower() == container_id[:8]


@pytest.mark.parametrize("container_id", ["", "abc", "abcd.efgh"])
def test_short_code_rejects_bad_ids(container_id: str) -> None:
    with pytest.raises(ValueError):
        short_code(container_id)


def test_a_signature_check_is_remembered_for_its_payload_and_key(key: Ed25519PrivateKey) -> None:
    from service.labels.signing import signature_holds

    keys = keyring(key)
    [key_id] = keys
    payload = sign_label(new_container_id(), key_id, key)
    first = verify_label(payload, keys)
    misses = signature_holds.cache_info().misses
    assert verify_label(payload, keys) == first
    assert signature_holds.cache_info().misses == misses  # not checked again

    # The same key id mapped to another key (another server's key ring, a test's database):
    # what was found under the first key does not count.
    with pytest.raises(ForgedLabel):
        verify_label(payload, {key_id: generate_key().public_key()})
    with pytest.raises(UnknownLabelKey):
        verify_label(payload, {})
    # A forged payload stays forged when it comes again.
    forged = payload[:-2] + ("AA" if not payload.endswith("AA") else "BA")
    for _ in range(2):
        with pytest.raises(LabelError):
            verify_label(forged, keys)
    assert verify_label(payload, keys) == first
