"""Label-signing keys: the active private key, and every public key ever used.

The private key comes from ``MEDWASTE_LABEL_SIGNING_KEY`` (PKCS#8 PEM) or, in development, from
``<data dir>/label_keys/``, generated on first run. Each key's public half is recorded in the
``label_key`` table, so every server and every offline verifier can check old labels after a
rotation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session, col, select, update

from service.config import Settings
from service.labels.models import LabelKey
from service.labels.signing import (
    generate_key,
    key_id_for,
    load_public_key_b64,
    private_key_from_pem,
    private_key_to_pem,
    public_key_b64,
    sign_label,
)


@dataclass(frozen=True)
class LabelSigner:
    key_id: str
    private_key: Ed25519PrivateKey

    def sign(self, container_id: str) -> str:
        return sign_label(container_id, self.key_id, self.private_key)


def _key_dir(settings: Settings) -> Path:
    return settings.data_dir / "label_keys"


def _load_private_key(settings: Settings) -> Ed25519PrivateKey:
    if settings.label_signing_key is not None:
        return private_key_from_pem(settings.label_signing_key.get_secret_value().encode())
    active = _key_dir(settings) / "active.pem"
    if active.exists():
        return private_key_from_pem(active.read_bytes())
    return _write_new_key(settings)


def _write_new_key(settings: Settings) -> Ed25519PrivateKey:
    directory = _key_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    pem = private_key_to_pem(key)
    archived = directory / f"{key_id_for(key.public_key())}.pem"
    archived.write_bytes(pem)
    archived.chmod(0o600)
    tmp = directory / "active.pem.tmp"
    tmp.write_bytes(pem)
    tmp.chmod(0o600)
    tmp.replace(directory / "active.pem")
    return key


def load_signer(*, session: Session, settings: Settings) -> LabelSigner:
    """The active signer; its public key is registered (and made the active one) if new."""
    key = _load_private_key(settings)
    signer = LabelSigner(key_id=key_id_for(key.public_key()), private_key=key)
    _register(session, signer)
    return signer


def rotate(*, session: Session, settings: Settings) -> LabelSigner:
    """Make a new signing key the active one; old keys keep verifying their labels."""
    if settings.label_signing_key is not None:
        raise RuntimeError(
            "the signing key is set by MEDWASTE_LABEL_SIGNING_KEY: put the new key there"
        )
    key = _write_new_key(settings)
    signer = LabelSigner(key_id=key_id_for(key.public_key()), private_key=key)
    _register(session, signer)
    return signer


def _register(session: Session, signer: LabelSigner) -> None:
    row = session.get(LabelKey, signer.key_id)
    if row is not None and row.active:
        return
    session.exec(update(LabelKey).where(col(LabelKey.key_id) != signer.key_id).values(active=False))
    if row is None:
        session.add(
            LabelKey(
                key_id=signer.key_id,
                public_key=public_key_b64(signer.private_key.public_key()),
                active=True,
            )
        )
    else:
        row.active = True
        session.add(row)
    session.flush()


def all_keys(session: Session) -> list[LabelKey]:
    return list(session.exec(select(LabelKey).order_by(col(LabelKey.created_at))))


def public_keys(session: Session) -> dict[str, Ed25519PublicKey]:
    return {row.key_id: load_public_key_b64(row.public_key) for row in all_keys(session)}


class KeyRing:
    """Public keys kept in memory for the life of the process (every scan verifies a label).

    Keys are never removed, only added by a rotation, possibly on another server: a key id not
    in memory is looked up in the database once, then remembered.
    """

    def __init__(self) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._lock = threading.Lock()

    def view(self, session: Session) -> Mapping[str, Ed25519PublicKey]:
        return _RingView(self, session)

    def lookup(self, session: Session, key_id: str) -> Ed25519PublicKey | None:
        key = self._keys.get(key_id)
        if key is not None:
            return key
        row = session.get(LabelKey, key_id)
        if row is None:
            return None
        key = load_public_key_b64(row.public_key)
        with self._lock:
            self._keys[key_id] = key
        return key


class _RingView(Mapping[str, Ed25519PublicKey]):
    """The ring as the read-only mapping :func:`verify_label` takes."""

    def __init__(self, ring: KeyRing, session: Session) -> None:
        self._ring, self._session = ring, session

    def __getitem__(self, key_id: str) -> Ed25519PublicKey:
        key = self._ring.lookup(self._session, key_id)
        if key is None:
            raise KeyError(key_id)
        return key

    def __iter__(self) -> Iterator[str]:
        return iter(public_keys(self._session))

    def __len__(self) -> int:
        return len(public_keys(self._session))
