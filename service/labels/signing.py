"""Signed QR label payloads (SPEC §5, contract).

A label payload is ``MW1.{container_id}.{key_id}.{signature}`` where ``signature`` is the
unpadded base64url Ed25519 signature over the ASCII bytes ``MW1.{container_id}.{key_id}``.
Anyone holding the public key verifies a label offline. Keys rotate: callers pass every key
they know (active and retired), so labels signed by an old key keep verifying.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PAYLOAD_PREFIX = "MW1"
MAX_PAYLOAD_LENGTH = 256
SIGNATURE_LENGTH = 64
KEY_ID_LENGTH = 8
SHORT_CODE_LENGTH = 8

_B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")


class LabelError(ValueError):
    """A QR payload that cannot be accepted as a genuine label."""


class MalformedLabel(LabelError):
    """The payload is not of the shape ``MW1.{container_id}.{key_id}.{signature}``."""


class UnknownLabelKey(LabelError):
    """The payload names a signing key that is not known."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"unknown label signing key {key_id!r}")
        self.key_id = key_id


class ForgedLabel(LabelError):
    """The payload's signature does not verify under the key it names."""

    def __init__(self, container_id: str, key_id: str) -> None:
        super().__init__(
            f"label signature for container {container_id!r} does not verify with key {key_id!r}"
        )
        self.container_id = container_id
        self.key_id = key_id


@dataclass(frozen=True, slots=True)
class ParsedLabel:
    container_id: str
    key_id: str
    signature: bytes
    signed_part: str


def _is_id(value: str) -> bool:
    return value.isascii() and value.isalnum()


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Strict unpadded base64url: alphabet only, no padding, canonical trailing bits."""
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not unpadded base64url") from exc
    if _b64url_encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """Stable short id: first 8 chars of lowercase unpadded base32 of SHA-256(raw public key)."""
    digest = hashlib.sha256(_raw_public_bytes(public_key)).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:KEY_ID_LENGTH]


def public_key_b64(public_key: Ed25519PublicKey) -> str:
    """Unpadded base64url of the raw 32-byte public key (as served at /api/v1/labels/keys)."""
    return _b64url_encode(_raw_public_bytes(public_key))


def load_public_key_b64(text: str) -> Ed25519PublicKey:
    try:
        raw = _b64url_decode(text.strip())
    except ValueError as exc:
        raise ValueError("public key is not unpadded base64url") from exc
    if len(raw) != 32:
        raise ValueError(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key_to_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def private_key_from_pem(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("PEM does not hold an Ed25519 private key")
    return key


def _signed_part(container_id: str, key_id: str) -> str:
    return f"{PAYLOAD_PREFIX}.{container_id}.{key_id}"


def sign_label(container_id: str, key_id: str, private_key: Ed25519PrivateKey) -> str:
    if not _is_id(container_id):
        raise ValueError(f"container id must be non-empty ASCII letters/digits: {container_id!r}")
    if not _is_id(key_id):
        raise ValueError(f"key id must be non-empty ASCII letters/digits: {key_id!r}")
    signed = _signed_part(container_id, key_id)
    signature = private_key.sign(signed.encode("ascii"))
    payload = f"{signed}.{_b64url_encode(signature)}"
    if len(payload) > MAX_PAYLOAD_LENGTH:
        raise ValueError(f"label payload would exceed {MAX_PAYLOAD_LENGTH} characters")
    return payload


def parse_label(payload: str) -> ParsedLabel:
    """Check the shape of a payload (not its signature). Raises MalformedLabel."""
    if len(payload) > MAX_PAYLOAD_LENGTH:
        raise MalformedLabel(f"label payload longer than {MAX_PAYLOAD_LENGTH} characters")
    text = payload.strip()
    parts = text.split(".")
    if len(parts) != 4:
        raise MalformedLabel("label payload must have 4 dot-separated parts")
    prefix, container_id, key_id, signature_text = parts
    if prefix != PAYLOAD_PREFIX:
        raise MalformedLabel(f"label payload must start with {PAYLOAD_PREFIX!r}")
    if not _is_id(container_id):
        raise MalformedLabel("label container id must be ASCII letters/digits")
    if not _is_id(key_id):
        raise MalformedLabel("label key id must be ASCII letters/digits")
    try:
        signature = _b64url_decode(signature_text)
    except ValueError as exc:
        raise MalformedLabel("label signature is not unpadded base64url") from exc
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedLabel(f"label signature must be {SIGNATURE_LENGTH} bytes")
    return ParsedLabel(
        container_id=container_id,
        key_id=key_id,
        signature=signature,
        signed_part=_signed_part(container_id, key_id),
    )


def verify_label(payload: str, public_keys: Mapping[str, Ed25519PublicKey]) -> ParsedLabel:
    """Parse and verify. ``public_keys`` maps key id to key and should include retired keys."""
    parsed = parse_label(payload)
    public_key = public_keys.get(parsed.key_id)
    if public_key is None:
        raise UnknownLabelKey(parsed.key_id)
    if not signature_holds(parsed.signed_part, parsed.signature, _raw_public_bytes(public_key)):
        raise ForgedLabel(parsed.container_id, parsed.key_id)
    return parsed


# Every container is scanned five or six times and a phone resends a batch it got no answer to:
# what a signature check found is remembered per process, keyed by the exact signed text,
# signature and key (the verdict of a given triple never changes).
@functools.lru_cache(maxsize=10_000)
def signature_holds(signed_part: str, signature: bytes, public_key: bytes) -> bool:
    """Whether ``signature`` over ``signed_part`` verifies under the raw Ed25519 ``public_key``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, signed_part.encode("ascii")
        )
    except InvalidSignature:
        return False
    return True


def short_code(container_id: str) -> str:
    """Human-readable code for manual entry: the first 8 characters as ``XXXX-XXXX``."""
    if not _is_id(container_id) or len(container_id) < SHORT_CODE_LENGTH:
        raise ValueError(f"container id too short or not alphanumeric: {container_id!r}")
    head = container_id[:SHORT_CODE_LENGTH].upper()
    return f"{head[:4]}-{head[4:]}"
