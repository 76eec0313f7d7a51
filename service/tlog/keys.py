"""The log's signing key (its own, not the label key) and its name, the origin.

The private key comes from ``MEDWASTE_LOG_SIGNING_KEY`` (PKCS#8 PEM, or a signed-note signer
key ``PRIVATE+KEY+<origin>+<id>+<key>``) or, in development, from ``<data dir>/log_keys/``,
generated on first run. Each key's verifier key is recorded in ``log_key``: after a rotation the
old ones stay published, so that old checkpoints keep verifying.

The origin names the log in every checkpoint and is the key's name. It is
``MEDWASTE_LOG_ORIGIN``, or the origin the log's checkpoints already carry, or for a new log
``<host name>/api/v1/log``. A log never changes its origin: a setting that contradicts the
checkpoints is refused.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update
from sqlmodel import Session, col

from service.config import Settings
from service.errors import Conflict
from service.labels.signing import private_key_from_pem, private_key_to_pem
from service.tlog.checkpoint import valid_origin
from service.tlog.models import LogCheckpoint, LogKey
from service.tlog.note import NoteSigner, parse_skey


class LogOriginChanged(Conflict):
    code, title = "log-origin-changed", "The log's origin cannot change"


@dataclass(frozen=True)
class LogSigner:
    """Signs checkpoints for the log named ``origin``."""

    note: NoteSigner

    @property
    def origin(self) -> str:
        return self.note.name

    @property
    def key_hex(self) -> str:
        return f"{self.note.key_id:08x}"

    @property
    def vkey(self) -> str:
        return self.note.vkey

    def sign(self, text: str) -> str:
        return self.note.sign(text)


def recorded_origin(session: Session) -> str | None:
    """The origin of the log's latest checkpoint, if it has one."""
    return session.execute(
        select(col(LogCheckpoint.origin)).order_by(col(LogCheckpoint.id).desc()).limit(1)
    ).scalar_one_or_none()


def effective_origin(session: Session, settings: Settings) -> str:
    recorded = recorded_origin(session)
    wanted = settings.log_origin.strip() if settings.log_origin else None
    if wanted and recorded and wanted != recorded:
        raise LogOriginChanged(
            f"the log's checkpoints are issued as {recorded!r}; MEDWASTE_LOG_ORIGIN says "
            f"{wanted!r}. A log keeps its origin for life: set it back, or start a new log"
        )
    origin = wanted or recorded or f"{socket.gethostname() or 'localhost'}/api/v1/log"
    if not valid_origin(origin):
        raise ValueError(f"MEDWASTE_LOG_ORIGIN has no spaces and no plus sign: {origin!r}")
    return origin


def _key_dir(settings: Settings) -> Path:
    return settings.data_dir / "log_keys"


def _configured_key(settings: Settings, origin: str) -> Ed25519PrivateKey | None:
    if settings.log_signing_key is None:
        return None
    text = settings.log_signing_key.get_secret_value().strip()
    if text.startswith("PRIVATE+KEY+"):
        signer = parse_skey(text)
        if signer.name != origin:
            raise ValueError(
                f"MEDWASTE_LOG_SIGNING_KEY is a key for {signer.name!r}, the log is {origin!r}"
            )
        return signer.private_key
    return private_key_from_pem(text.encode())


def _write_new_key(settings: Settings) -> Ed25519PrivateKey:
    directory = _key_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = private_key_to_pem(key)
    tmp = directory / "active.pem.tmp"
    tmp.write_bytes(pem)
    tmp.chmod(0o600)
    tmp.replace(directory / "active.pem")
    return key


def _development_key(settings: Settings) -> Ed25519PrivateKey:
    active = _key_dir(settings) / "active.pem"
    if active.exists():
        return private_key_from_pem(active.read_bytes())
    return _write_new_key(settings)


def load_log_signer(*, session: Session, settings: Settings) -> LogSigner:
    """The active signer; its verifier key is registered (and made the active one) if new."""
    origin = effective_origin(session, settings)
    key = _configured_key(settings, origin) or _development_key(settings)
    signer = LogSigner(NoteSigner(origin, key))
    _register(session, signer)
    return signer


def rotate_log_key(*, session: Session, settings: Settings) -> LogSigner:
    """Sign with a fresh key from now on; the old verifier keys stay published."""
    if settings.log_signing_key is not None:
        raise RuntimeError("the log key is set by MEDWASTE_LOG_SIGNING_KEY: put the new key there")
    origin = effective_origin(session, settings)
    signer = LogSigner(NoteSigner(origin, _write_new_key(settings)))
    _register(session, signer)
    return signer


def _register(session: Session, signer: LogSigner) -> None:
    row = session.get(LogKey, signer.vkey)
    if row is not None and row.active:
        return
    session.execute(update(LogKey).where(col(LogKey.vkey) != signer.vkey).values(active=False))
    if row is None:
        session.add(
            LogKey(vkey=signer.vkey, name=signer.origin, key_id=signer.key_hex, active=True)
        )
    else:
        row.active = True
        session.add(row)
    session.flush()


def all_log_keys(session: Session) -> list[LogKey]:
    return list(
        session.execute(select(LogKey).order_by(col(LogKey.created_at), col(LogKey.vkey)))
        .scalars()
        .all()
    )


def active_log_key(session: Session) -> LogKey | None:
    return session.execute(
        select(LogKey).where(col(LogKey.active)).order_by(col(LogKey.created_at).desc()).limit(1)
    ).scalar_one_or_none()
