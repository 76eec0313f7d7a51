"""Offline verification of evidence bundles and of the transparency log's proofs.

This module stands alone: it imports the Python standard library, ``cryptography`` (Ed25519)
and ``rfc8785`` (JSON canonicalization), nothing of the server. A regulator's analyst or a
court expert can copy this one file and run it without the server and without a login::

    python verifier.py evidence.json --log-key 'origin+1234abcd+AX...' \\
        [--previous saved-checkpoint.txt] [--consistency proof.json] [--label-keys keys.json]

(``medwaste verify`` runs the same code.) It checks, and prints as it goes:

- the checkpoint: a C2SP signed note (``c2sp.org/signed-note``) carrying a C2SP
  ``tlog-checkpoint`` body, signed by a log key the analyst trusts (``--log-key``);
- each container's label: an Ed25519 signature over ``MW1.{container_id}.{key_id}``;
- each event: SHA-256 over the RFC 8785 serialization of its content equals its ``hash``, and
  the events form one chain (numbers 1, 2, 3 ..., each ``prev_hash`` the hash before it);
- each event's RFC 9162 inclusion proof into the checkpoint's tree (leaf data: the 32 bytes of
  the event's hash);
- given a checkpoint the analyst saved earlier (``--previous``), that the log only grew since:
  an RFC 9162 consistency proof between the two trees.

It names the first thing that fails.

``python verifier.py witness --log https://host/api/v1/log --log-key KEY --state kept.txt``
is a witness: each run checks that the log's latest checkpoint extends the one it kept, with a
consistency proof it builds from the log's C2SP tiles itself.

The Merkle tree rules here (RFC 9162 section 2, and where each hash sits in the tiles) are the
ones the server builds its log with: the server imports them from this module.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

BUNDLE_FORMAT = "medwaste-evidence/1"
HASH_SIZE = 32
GENESIS = "0" * 64
EVENT_HASH_VERSION = 1

# ---------------------------------------------------------------------------------------------
# RFC 9162 section 2.1: the Merkle tree hash


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the given leaf hashes (RFC 9162 section 2.1.1), in O(n) time and
    O(log n) memory."""
    if not leaf_hashes:
        return EMPTY_ROOT
    # A stack of (height, hash) of perfect subtrees, merged like a binary counter.
    stack: list[tuple[int, bytes]] = []
    for h in leaf_hashes:
        height, value = 0, h
        while stack and stack[-1][0] == height:
            value = node_hash(stack.pop()[1], value)
            height += 1
        stack.append((height, value))
    value = stack.pop()[1]
    while stack:
        value = node_hash(stack.pop()[1], value)
    return value


class ProofError(ValueError):
    """A Merkle proof that does not verify; the message says why."""


def _check_hashes(values: Iterable[bytes], what: str) -> None:
    for value in values:
        if len(value) != HASH_SIZE:
            raise ProofError(f"{what} holds a value that is not a 32-byte hash")


def root_from_inclusion(
    leaf_index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 section 2.1.3.2, steps 1-4)."""
    if not 0 <= leaf_index < tree_size:
        raise ProofError(f"leaf index {leaf_index} is not in a tree of size {tree_size}")
    _check_hashes([leaf], "the leaf hash")
    _check_hashes(proof, "the inclusion proof")
    fn, sn = leaf_index, tree_size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 section 2.1.3.2. Raises :class:`ProofError`."""
    _check_hashes([root], "the root")
    if root_from_inclusion(leaf_index, tree_size, leaf, proof) != root:
        raise ProofError("the inclusion proof does not lead to the checkpoint's root")


def verify_consistency(
    first: int,
    second: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """RFC 9162 section 2.1.4.2: the tree of size ``second`` extends the tree of size
    ``first``. Raises :class:`ProofError`. A tree of size 0 proves nothing and is refused
    (as the Go reference verifier does)."""
    _check_hashes([first_root, second_root], "the roots")
    _check_hashes(proof, "the consistency proof")
    if first < 1:
        raise ProofError("a consistency proof needs a first tree of at least one leaf")
    if second < first:
        raise ProofError(f"the second tree ({second}) is smaller than the first ({first})")
    if first == second:
        if proof:
            raise ProofError("trees of equal size need an empty consistency proof")
        if first_root != second_root:
            raise ProofError("two trees of the same size have different roots")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the tree is deep")
    if fr != first_root:
        raise ProofError("the consistency proof does not lead to the first tree's root")
    if sr != second_root:
        raise ProofError("the consistency proof does not lead to the second tree's root")


# ---------------------------------------------------------------------------------------------
# RFC 9162 proofs from subtree hashes, and the log as C2SP tlog-tiles
#
# A node ``(level, index)`` is the perfect subtree over leaves ``[index * 2**level,
# (index + 1) * 2**level)``; a node source is anything with ``node(level, index) -> bytes``.


class NodeSource(Protocol):
    def node(self, level: int, index: int) -> bytes:
        """The hash of the perfect subtree ``(level, index)``."""
        ...


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees whose hashes make MTH(D[start:end]), for the ranges that occur in
    RFC 9162 proofs (``start`` aligned on the largest power of two not above the length)."""
    n = end - start
    if n <= 0:
        return []
    if n & (n - 1) == 0 and start % n == 0:
        return [(n.bit_length() - 1, start // n)]
    k = _split(n)
    return perfect_nodes(start, start + k) + perfect_nodes(start + k, end)


def range_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) from perfect subtree hashes."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return source.node(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(range_hash(source, start, start + k), range_hash(source, start + k, end))


def inclusion_ranges(leaf_index: int, tree_size: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes form PATH(leaf_index, D[0:tree_size]), bottom-up
    (RFC 9162 section 2.1.3.1)."""
    if not 0 <= leaf_index < tree_size:
        raise ValueError(f"leaf {leaf_index} is not in a tree of size {tree_size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, tree_size
    while end - start > 1:
        k = _split(end - start)
        if leaf_index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes form PROOF(first, D[0:second]) (RFC 9162 section 2.1.4.1)."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    ranges: list[tuple[int, int]] = []
    m, start, end, whole = first, 0, second, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                ranges.append((start, end))
            break
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            whole = False
    ranges.reverse()
    return ranges


HEIGHT = 8
WIDTH = 1 << HEIGHT
FULL_TILE_BYTES = WIDTH * HASH_SIZE
MAX_LEVEL = 63


def encode_index(index: int) -> str:
    """``1234067`` -> ``x001/x234/067``."""
    if index < 0:
        raise ValueError("a tile index is not negative")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def tile_path(level: int | str, index: int, width: int = WIDTH) -> str:
    """The path of a tile (``level`` may be ``"entries"``), relative to the log prefix."""
    suffix = "" if width == WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(index)}{suffix}"


def tile_of_node(level: int, index: int) -> tuple[tuple[int, int], int, int]:
    """Where the perfect subtree ``(level, index)`` lives: the tile, the offset of its first
    hash in the tile, and how many hashes (a power of two) make it."""
    tile_level, height = divmod(level, HEIGHT)
    first = index << height
    return (tile_level, first >> HEIGHT), first & (WIDTH - 1), 1 << height


def tile_width(size: int, level: int, index: int) -> int:
    """How many hashes tile ``(level, index)`` holds in a tree of ``size`` leaves (0: none)."""
    entries = size >> (HEIGHT * level)
    return max(0, min(WIDTH, entries - index * WIDTH))


def split_hashes(data: bytes) -> list[bytes]:
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


# ---------------------------------------------------------------------------------------------
# C2SP signed-note (Ed25519, signature type 0x01) and tlog-checkpoint

EM_DASH = "\u2014"
ED25519_TYPE = 0x01
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A signed note (or a checkpoint) that must be rejected; the message says why."""


def _b64decode_strict(text: str) -> bytes:
    """Standard padded base64 (RFC 4648 section 4), canonical encodings only."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return raw


def valid_key_name(name: str) -> bool:
    """Key names are non-empty and hold no Unicode space and no plus sign."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def key_id(name: str, public_key: bytes) -> int:
    """SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], as a big-endian uint32."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519_TYPE]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted Ed25519 note key, parsed from its ``name+hex8+base64`` verifier key."""

    name: str
    key_id: int
    public_key: Ed25519PublicKey
    vkey: str

    def verify(self, signature: bytes, message: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


_HEX8 = re.compile(r"[0-9a-f]{8}")


def parse_vkey(vkey: str) -> NoteVerifier:
    """Parse ``name+hex8(key id)+base64(0x01 || public key)``; the id must match the key."""
    text = vkey.strip()
    parts = text.split("+", 2)  # the base64 key may itself hold plus signs
    if len(parts) != 3:
        raise ValueError("a verifier key reads name+keyid+key")
    name, hex_id, encoded = parts
    if not valid_key_name(name):
        raise ValueError("the verifier key's name is empty or holds a space or a plus sign")
    if not _HEX8.fullmatch(hex_id):
        raise ValueError("the verifier key's id is not 8 lowercase hex digits")
    try:
        raw = _b64decode_strict(encoded)
    except ValueError as exc:
        raise ValueError("the verifier key's key is not base64") from exc
    if len(raw) != 33 or raw[0] != ED25519_TYPE:
        raise ValueError("the verifier key is not an Ed25519 (type 0x01) key")
    if key_id(name, raw[1:]) != int(hex_id, 16):
        raise ValueError("the verifier key's id does not match its name and key")
    return NoteVerifier(
        name=name,
        key_id=int(hex_id, 16),
        public_key=Ed25519PublicKey.from_public_bytes(raw[1:]),
        vkey=text,
    )


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: int
    signature: bytes


@dataclass(frozen=True)
class OpenedNote:
    text: str
    signatures: tuple[Signature, ...]
    verified_by: tuple[NoteVerifier, ...]


def split_note(note: str | bytes) -> tuple[str, list[Signature]]:
    """The note's text (with its final newline) and its signature lines. Raises NoteError."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("the note is not valid UTF-8") from None
    if any(ch < " " and ch != "\n" for ch in note):
        raise NoteError("the note holds a control character other than a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("the note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("the note's signature lines are missing or not newline-terminated")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(EM_DASH + " "):
            raise NoteError("a signature line does not start with an em dash and a space")
        name, _, encoded = line[2:].partition(" ")
        if not valid_key_name(name) or not encoded or " " in encoded:
            raise NoteError("a signature line is malformed")
        try:
            raw = _b64decode_strict(encoded)
        except ValueError:
            raise NoteError(f"the signature by {name} is not base64") from None
        if len(raw) < 5:
            raise NoteError(f"the signature by {name} is too short")
        signatures.append(Signature(name, int.from_bytes(raw[:4], "big"), raw[4:]))
    return text, signatures


def open_note(note: str | bytes, verifiers: Sequence[NoteVerifier]) -> OpenedNote:
    """Verify a signed note against trusted keys (C2SP signed-note).

    Signatures by unknown keys are ignored; a signature by a known key (same name and id)
    must verify, or the whole note is rejected; at least one known key must have signed.
    """
    text, signatures = split_note(note)
    message = text.encode("utf-8")
    verified: list[NoteVerifier] = []
    for sig in signatures:
        for verifier in verifiers:
            if verifier.name != sig.name or verifier.key_id != sig.key_id:
                continue
            if not verifier.verify(sig.signature, message):
                raise NoteError(f"the signature by {sig.name} ({sig.key_id:08x}) does not verify")
            if verifier not in verified:
                verified.append(verifier)
    if not verified:
        raise NoteError("no signature by a trusted key")
    return OpenedNote(text, tuple(signatures), tuple(verified))


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint body: origin, tree size, root hash, extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint's note text (which ends with a newline). Raises NoteError."""
    if not text.endswith("\n"):
        raise NoteError("the checkpoint text does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a tree size and a root hash line")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise NoteError("the checkpoint's origin line is empty")
    if not _SIZE.fullmatch(size_text):
        raise NoteError("the checkpoint's tree size is not a decimal number")
    try:
        root = _b64decode_strict(root_text)
    except ValueError:
        raise NoteError("the checkpoint's root hash is not base64") from None
    if len(root) != HASH_SIZE:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    if any(not line for line in extensions):
        raise NoteError("the checkpoint has an empty extension line")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def open_checkpoint(
    note: str | bytes, verifiers: Sequence[NoteVerifier]
) -> tuple[Checkpoint, OpenedNote]:
    """A checkpoint signed by one of ``verifiers`` whose key name is the checkpoint's origin.
    Raises NoteError."""
    opened = open_note(note, verifiers)
    checkpoint = parse_checkpoint(opened.text)
    if not any(v.name == checkpoint.origin for v in opened.verified_by):
        raise NoteError(
            f"the checkpoint's origin {checkpoint.origin!r} is not the log your key names "
            f"({', '.join(sorted({v.name for v in opened.verified_by}))})"
        )
    return checkpoint, opened


# ---------------------------------------------------------------------------------------------
# Events and labels


def event_content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) over the RFC 8785 serialization of an event's content."""
    return hashlib.sha256(rfc8785.dumps(content)).hexdigest()


def _b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != text:
        raise ValueError("not canonical base64url")
    return raw


def check_label(payload: str, container_id: str, public_keys: Mapping[str, str]) -> str:
    """Verify a QR label ``MW1.{container_id}.{key_id}.{signature}``; returns the key id.
    ``public_keys`` maps key ids to unpadded base64url raw Ed25519 keys. Raises ValueError."""
    parts = payload.split(".")
    if len(parts) != 4 or parts[0] != "MW1":
        raise ValueError("the label is not of the form MW1.{container}.{key}.{signature}")
    _, label_container, label_key, signature_text = parts
    if label_container != container_id:
        raise ValueError(f"the label names container {label_container}, not {container_id}")
    encoded = public_keys.get(label_key)
    if encoded is None:
        raise ValueError(f"the label was signed by key {label_key}, which is not given")
    try:
        signature = _b64url_decode(signature_text)
        public_key = Ed25519PublicKey.from_public_bytes(_b64url_decode(encoded))
    except ValueError as exc:
        raise ValueError(f"the label or its key is malformed: {exc}") from None
    try:
        public_key.verify(signature, f"MW1.{label_container}.{label_key}".encode("ascii"))
    except InvalidSignature:
        raise ValueError(f"the label's signature does not verify with key {label_key}") from None
    return label_key


# ---------------------------------------------------------------------------------------------
# Evidence bundles


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    detail: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark}  {self.what}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    on_check: Callable[[Check], None] | None = None

    def add(self, ok: bool, what: str, detail: str = "") -> bool:
        check = Check(ok, what, detail)
        self.checks.append(check)
        if self.on_check is not None:
            self.on_check(check)
        return ok

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if not c.ok), None)

    @property
    def verified(self) -> bool:
        return bool(self.checks) and self.first_failure is None


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError(f"{what} is not a 64-digit lowercase hex hash")
    return bytes.fromhex(value)


def _proof(value: Any, what: str) -> list[bytes]:
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a list of hashes")
    return [_hex32(v, what) for v in value]


def verify_bundle(
    bundle: Mapping[str, Any],
    *,
    log_keys: Sequence[str],
    previous: str | bytes | None = None,
    consistency: Mapping[str, Any] | None = None,
    label_keys: Mapping[str, str] | None = None,
    on_check: Callable[[Check], None] | None = None,
) -> Report:
    """Check an evidence bundle; every check goes to the report (and to ``on_check``).

    ``log_keys`` are the verifier keys the analyst trusts (the log's key, and older ones
    after a rotation). ``previous`` is a checkpoint the analyst saved earlier; the proof that
    the log only grew since comes from the bundle (asked for with ``previous_size``) or from
    ``consistency`` (the JSON of ``GET /api/v1/log/proof/consistency``). ``label_keys`` pins
    the label keys (key id -> base64url key) instead of trusting those in the bundle.
    Raises ValueError for a verifier key that cannot be parsed.
    """
    report = Report(on_check=on_check)
    verifiers = [parse_vkey(k) for k in log_keys]
    if not verifiers:
        raise ValueError("give at least one log key")
    if not isinstance(bundle, Mapping) or bundle.get("format") != BUNDLE_FORMAT:
        report.add(False, "bundle format", f"not a {BUNDLE_FORMAT} document")
        return report

    checkpoint = _check_checkpoint(report, bundle, verifiers)
    if previous is not None:
        _check_previous(report, bundle, checkpoint, previous, consistency, verifiers)

    keys = dict(label_keys) if label_keys is not None else _bundle_label_keys(bundle)
    containers = bundle.get("containers")
    if not isinstance(containers, list) or not containers:
        report.add(False, "containers", "the bundle holds no container")
        return report
    for entry in containers:
        _check_container(report, entry, keys, checkpoint)
    return report


def _check_checkpoint(
    report: Report, bundle: Mapping[str, Any], verifiers: Sequence[NoteVerifier]
) -> Checkpoint | None:
    log = bundle.get("log")
    note = log.get("checkpoint") if isinstance(log, Mapping) else None
    if not isinstance(note, str):
        report.add(False, "checkpoint", "the bundle holds no checkpoint")
        return None
    try:
        checkpoint, opened = open_checkpoint(note, verifiers)
    except NoteError as exc:
        report.add(False, "checkpoint signature", str(exc))
        return None
    signer = next(v for v in opened.verified_by if v.name == checkpoint.origin)
    report.add(
        True,
        "checkpoint signature",
        f"signed by {signer.name} (key {signer.key_id:08x}); tree size {checkpoint.size}, "
        f"root {checkpoint.root.hex()}",
    )
    return checkpoint


def _check_previous(
    report: Report,
    bundle: Mapping[str, Any],
    checkpoint: Checkpoint | None,
    previous: str | bytes,
    consistency: Mapping[str, Any] | None,
    verifiers: Sequence[NoteVerifier],
) -> None:
    what = "consistency with your earlier checkpoint"
    try:
        earlier, _ = open_checkpoint(previous, verifiers)
    except NoteError as exc:
        report.add(False, "your earlier checkpoint", str(exc))
        return
    if checkpoint is None:
        report.add(False, what, "the bundle's checkpoint did not verify")
        return
    if earlier.origin != checkpoint.origin:
        report.add(False, what, f"it is of another log ({earlier.origin!r})")
        return
    if earlier.size == checkpoint.size:
        same = earlier.root == checkpoint.root
        report.add(
            same,
            what,
            f"same tree size {checkpoint.size} and the same root"
            if same
            else f"same tree size {checkpoint.size} but another root: the log was rewritten",
        )
        return
    first, second = sorted((earlier.size, checkpoint.size))
    roots = {earlier.size: earlier.root, checkpoint.size: checkpoint.root}
    proof_doc = consistency if consistency is not None else bundle.get("consistency")
    if (
        not isinstance(proof_doc, Mapping)
        or proof_doc.get("first") != first
        or proof_doc.get("second") != second
    ):
        hint = (
            f"ask for the bundle with previous_size={earlier.size}"
            if earlier.size < checkpoint.size
            else "your checkpoint is newer than the bundle's: fetch "
            f"/api/v1/log/proof/consistency?first={first}&second={second} and pass it with "
            "--consistency (a log that cannot give it has been cut back)"
        )
        report.add(False, what, f"no consistency proof from size {first} to {second}; {hint}")
        return
    try:
        verify_consistency(
            first,
            second,
            roots[first],
            roots[second],
            _proof(proof_doc.get("hashes"), "the consistency proof"),
        )
    except (ProofError, ValueError) as exc:
        report.add(
            False,
            what,
            f"the log of size {second} does not extend the one of size {first} ({exc}): "
            "the log was rewritten",
        )
        return
    report.add(True, what, f"the tree of size {second} extends the tree of size {first}")


def _bundle_label_keys(bundle: Mapping[str, Any]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for key in bundle.get("label_keys") or []:
        if isinstance(key, Mapping) and isinstance(key.get("key_id"), str):
            keys[key["key_id"]] = str(key.get("public_key", ""))
    return keys


def _check_container(
    report: Report,
    entry: Any,
    label_keys: Mapping[str, str],
    checkpoint: Checkpoint | None,
) -> None:
    try:
        container = entry["container"]
        container_id = str(container["id"])
        events = entry["events"]
        if not isinstance(events, list):
            raise TypeError("events is not a list")
    except (KeyError, TypeError) as exc:
        report.add(False, "container", f"malformed entry ({exc})")
        return
    name = f"container {container_id}"
    label = entry.get("label") if isinstance(entry.get("label"), Mapping) else {}
    try:
        used = check_label(str(label.get("qr_payload", "")), container_id, label_keys)
        report.add(True, f"{name}: label", f"signature verifies with label key {used}")
    except ValueError as exc:
        report.add(False, f"{name}: label", str(exc))

    expected_prev = GENESIS
    for number, event in enumerate(events, 1):
        expected_prev = _check_event(
            report, name, container_id, number, event, expected_prev, checkpoint
        )
    last_seq, last_hash = container.get("last_seq"), container.get("last_hash")
    if last_seq is not None or last_hash is not None:
        ends = last_seq == len(events) and last_hash == (
            events[-1].get("hash") if events else GENESIS
        )
        report.add(
            ends,
            f"{name}: chain head",
            f"the chain ends at event {len(events)}, where the container's record says"
            if ends
            else f"the container's record says its chain ends at event {last_seq}, "
            f"the bundle holds {len(events)}",
        )


def _check_event(
    report: Report,
    name: str,
    container_id: str,
    number: int,
    event: Any,
    expected_prev: str,
    checkpoint: Checkpoint | None,
) -> str:
    """Check one event; returns the hash the next event must point back to."""
    label = f"{name}: event {number}"
    try:
        content = event["content"]
        stated = event["hash"]
        label = f"{name}: event {number} (id {event.get('id')})"
        if not isinstance(content, Mapping):
            raise TypeError("content is not an object")
        _hex32(stated, "the event hash")
    except (KeyError, TypeError, ValueError) as exc:
        report.add(False, label, f"malformed event ({exc})")
        return expected_prev
    problems = []
    if content.get("v") != EVENT_HASH_VERSION:
        problems.append(f"unknown content version {content.get('v')!r}")
    if content.get("container_id") != container_id:
        problems.append(f"it belongs to container {content.get('container_id')!r}")
    if content.get("seq") != number:
        problems.append(f"it is numbered {content.get('seq')!r}, expected {number}")
    if content.get("prev_hash") != expected_prev:
        problems.append("its prev_hash is not the hash of the event before it")
    try:
        recomputed = event_content_hash(content)
    except (TypeError, ValueError) as exc:
        problems.append(f"its content cannot be canonicalized ({exc})")
        recomputed = ""
    if recomputed != stated:
        problems.append("its content does not match its hash")
    report.add(
        not problems,
        f"{label}: content and chain",
        "; ".join(problems) if problems else f"hash {stated[:16]}…, linked to the one before",
    )

    what = f"{label}: in the log"
    index = event.get("log_index")
    if checkpoint is None:
        report.add(False, what, "no verified checkpoint to prove it into")
    elif not isinstance(index, int):
        report.add(False, what, "the event has no log index: it is not in the log")
    else:
        try:
            proof = _proof(event.get("inclusion"), "the inclusion proof")
            verify_inclusion(
                index, checkpoint.size, leaf_hash(bytes.fromhex(stated)), proof, checkpoint.root
            )
            report.add(True, what, f"leaf {index} of the tree of size {checkpoint.size}")
        except (ProofError, ValueError) as exc:
            report.add(False, what, f"leaf {index}: {exc}")
    return str(stated)


# ---------------------------------------------------------------------------------------------
# A witness: checks that the log only grows, reading nothing but its checkpoint and tiles

Fetch = Callable[[str], bytes]


class TileReader:
    """A node source over a C2SP tlog-tiles log: ``fetch(path)`` returns the bytes at ``path``
    relative to the log's prefix (``tile/0/x001/234.p/17``); tiles are read as of a tree of
    ``size`` leaves. Whatever the tiles hold, a proof built from them is only accepted if it
    leads to both signed roots."""

    def __init__(self, fetch: Fetch, size: int) -> None:
        self.fetch, self.size = fetch, size
        self._tiles: dict[tuple[int, int], bytes] = {}

    def node(self, level: int, index: int) -> bytes:
        key, offset, count = tile_of_node(level, index)
        data = self._tiles.get(key)
        if data is None:
            width = tile_width(self.size, *key)
            if width == 0:
                raise ProofError(f"no tile {key} in a tree of size {self.size}")
            data = self.fetch(tile_path(key[0], key[1], width))
            if len(data) != width * HASH_SIZE:
                raise ProofError(f"tile {key[0]}/{key[1]} is not {width} hashes long")
            self._tiles[key] = data
        return root_of(split_hashes(data[offset * HASH_SIZE : (offset + count) * HASH_SIZE]))


@dataclass(frozen=True)
class WitnessVerdict:
    ok: bool
    message: str
    keep: str | None  # the checkpoint to keep for the next round


def witness(fetch: Fetch, verifiers: Sequence[NoteVerifier], kept: str | None) -> WitnessVerdict:
    """One round of a witness: the log's latest checkpoint must be signed by a trusted key and
    extend the checkpoint kept from the last round (a consistency proof built from tiles)."""
    try:
        latest = fetch("checkpoint").decode("utf-8")
        new, _ = open_checkpoint(latest, verifiers)
    except (OSError, UnicodeDecodeError, NoteError) as exc:
        return WitnessVerdict(False, f"the log's checkpoint cannot be checked: {exc}", kept)
    if kept is None:
        return WitnessVerdict(
            True,
            f"first checkpoint kept: tree size {new.size}, root {new.root.hex()} "
            "(compare it with what others see)",
            latest,
        )
    try:
        old, _ = open_checkpoint(kept, verifiers)
    except NoteError as exc:
        return WitnessVerdict(False, f"the kept checkpoint no longer verifies: {exc}", kept)
    if old.origin != new.origin:
        return WitnessVerdict(False, f"the log now calls itself {new.origin!r}", kept)
    if new.size < old.size:
        return WitnessVerdict(
            False, f"the log shrank from {old.size} to {new.size} leaves: it was cut back", kept
        )
    if new.size == old.size:
        if new.root != old.root:
            return WitnessVerdict(False, f"two different trees of size {new.size}", kept)
        return WitnessVerdict(True, f"no new leaves (tree size {new.size})", latest)
    try:
        reader = TileReader(fetch, new.size)
        proof = [range_hash(reader, a, b) for a, b in consistency_ranges(old.size, new.size)]
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except (OSError, ProofError) as exc:
        return WitnessVerdict(
            False,
            f"the tree of size {new.size} does not extend the kept one of size {old.size}: {exc}",
            kept,
        )
    return WitnessVerdict(
        True, f"the tree grew from {old.size} to {new.size} leaves, consistently", latest
    )


def run_witness(
    log_url: str,
    *,
    log_keys: Sequence[str],
    state: Path,
    echo: Callable[[str], None] = print,
    fetch: Fetch | None = None,
) -> int:
    """One witness round against ``log_url`` (the tiles prefix, e.g.
    ``https://tracker.example.org/api/v1/log``), keeping the last good checkpoint in
    ``state``. Returns 0 (consistent), 1 (the log misbehaved) or 2 (unusable input)."""
    try:
        verifiers = [parse_vkey(k) for k in log_keys]
        kept = state.read_text(encoding="utf-8") if state.exists() else None
    except (ValueError, OSError) as exc:
        echo(f"cannot start: {exc}")
        return 2
    if fetch is None:
        fetch = _http_fetch(log_url)
    verdict = witness(fetch, verifiers, kept)
    echo(("ok: " if verdict.ok else "ALARM: ") + verdict.message)
    if verdict.ok and verdict.keep is not None and verdict.keep != kept:
        temporary = state.with_name(state.name + ".tmp")
        temporary.write_text(verdict.keep, encoding="utf-8")
        temporary.replace(state)
    return 0 if verdict.ok else 1


def _http_fetch(log_url: str) -> Fetch:
    import urllib.request

    base = log_url.rstrip("/")

    def fetch(path: str) -> bytes:
        with urllib.request.urlopen(f"{base}/{path}", timeout=30) as answer:
            data: bytes = answer.read()
            return data

    return fetch


# ---------------------------------------------------------------------------------------------
# Command line


def run(
    bundle_path: Path,
    *,
    log_keys: Sequence[str],
    previous_path: Path | None = None,
    consistency_path: Path | None = None,
    label_keys_path: Path | None = None,
    quiet: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Verify a bundle file and print the report. Returns the exit status: 0 verified,
    1 not verified, 2 unreadable input."""
    try:
        bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
        previous = previous_path.read_bytes() if previous_path else None
        consistency = json.loads(consistency_path.read_text()) if consistency_path else None
        label_keys = (
            {
                str(k["key_id"]): str(k["public_key"])
                for k in json.loads(label_keys_path.read_text())["keys"]
            }
            if label_keys_path
            else None
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        echo(f"cannot read the input: {exc}")
        return 2

    def show(check: Check) -> None:
        if not quiet or not check.ok:
            echo(check.line())

    subject = bundle.get("subject") if isinstance(bundle, Mapping) else None
    if isinstance(subject, Mapping):
        echo(f"evidence bundle for {subject.get('kind')} {subject.get('id')}")
    try:
        report = verify_bundle(
            bundle,
            log_keys=log_keys,
            previous=previous,
            consistency=consistency,
            label_keys=label_keys,
            on_check=show,
        )
    except ValueError as exc:
        echo(f"cannot use the log key: {exc}")
        return 2
    failure = report.first_failure
    if failure is None and report.verified:
        echo(f"VERIFIED: {len(report.checks)} checks passed")
        return 0
    failed = sum(not c.ok for c in report.checks)
    echo(f"NOT VERIFIED: {failed} of {len(report.checks)} checks failed")
    if failure is not None:
        echo(f"first failure: {failure.what}: {failure.detail}")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["witness"]:
        return _witness_main(args_list[1:])
    parser = argparse.ArgumentParser(
        description="Verify a medwaste evidence bundle offline (no server, no login)."
    )
    parser.add_argument("bundle", type=Path, help="the evidence bundle (JSON)")
    parser.add_argument(
        "--log-key",
        action="append",
        required=True,
        help="a trusted log verifier key (name+id+key); repeat for older keys",
    )
    parser.add_argument("--previous", type=Path, help="a checkpoint you saved earlier")
    parser.add_argument("--consistency", type=Path, help="a consistency proof (JSON)")
    parser.add_argument("--label-keys", type=Path, help="the label keys you trust (JSON)")
    parser.add_argument("--quiet", action="store_true", help="print only failures")
    args = parser.parse_args(args_list)
    return run(
        args.bundle,
        log_keys=args.log_key,
        previous_path=args.previous,
        consistency_path=args.consistency,
        label_keys_path=args.label_keys,
        quiet=args.quiet,
    )


def _witness_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="verifier.py witness",
        description="Check that a medwaste transparency log only grows (run it from cron).",
    )
    parser.add_argument("--log", required=True, help="the log's URL, e.g. https://host/api/v1/log")
    parser.add_argument("--log-key", action="append", required=True, help="a trusted log key")
    parser.add_argument("--state", type=Path, required=True, help="where the kept checkpoint is")
    args = parser.parse_args(argv)
    return run_witness(args.log, log_keys=args.log_key, state=args.state)


if __name__ == "__main__":
    sys.exit(main())
