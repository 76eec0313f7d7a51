"""Signing C2SP signed notes with Ed25519 (``c2sp.org/signed-note``, signature type 0x01).

Verification, key ids and verifier keys are :mod:`service.tlog.verifier`'s (the standalone
verifier); this module adds what only the log does: hold a private key and sign.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.tlog.verifier import (
    ED25519_TYPE,
    EM_DASH,
    _b64decode_strict,
    key_id,
    valid_key_name,
)


@dataclass(frozen=True)
class NoteSigner:
    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not valid_key_name(self.name):
            raise ValueError(f"a note key name has no spaces and no plus sign: {self.name!r}")

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_bytes)

    @property
    def vkey(self) -> str:
        """The verifier key: ``name+hex8(key id)+base64(0x01 || public key)``."""
        encoded = base64.b64encode(bytes([ED25519_TYPE]) + self.public_bytes).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def signature_line(self, text: str) -> str:
        signature = self.private_key.sign(text.encode("utf-8"))
        encoded = base64.b64encode(self.key_id.to_bytes(4, "big") + signature).decode("ascii")
        return f"{EM_DASH} {self.name} {encoded}\n"

    def sign(self, text: str) -> str:
        """The signed note: the text (ending in a newline), a blank line, the signature."""
        if not text.endswith("\n") or "\n\n" in text or any(ch < " " and ch != "\n" for ch in text):
            raise ValueError("a note's text ends in a newline and has no empty line")
        return f"{text}\n{self.signature_line(text)}"


def parse_skey(skey: str) -> NoteSigner:
    """Parse a Go-style signer key ``PRIVATE+KEY+name+hex8+base64(0x01 || seed)``."""
    parts = skey.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise ValueError("a signer key reads PRIVATE+KEY+name+keyid+key")
    name, hex_id, encoded = parts[2:]
    raw = _b64decode_strict(encoded)
    if len(raw) != 33 or raw[0] != ED25519_TYPE:
        raise ValueError("the signer key is not an Ed25519 (type 0x01) key")
    signer = NoteSigner(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if f"{signer.key_id:08x}" != hex_id:
        raise ValueError("the signer key's id does not match its name and key")
    return signer


def format_skey(signer: NoteSigner) -> str:
    seed = signer.private_key.private_bytes(
        encoding=serialization.Encoding.Raw,
        format=serialization.PrivateFormat.Raw,
        encryption_algorithm=serialization.NoEncryption(),
    )
    encoded = base64.b64encode(bytes([ED25519_TYPE]) + seed).decode("ascii")
    return f"PRIVATE+KEY+{signer.name}+{signer.key_id:08x}+{encoded}"
