"""The C2SP ``tlog-checkpoint`` v1.0.0 note text: origin, tree size, base64 root.

Parsing is :func:`service.tlog.verifier.parse_checkpoint` (the standalone verifier's).
"""

from __future__ import annotations

import base64

from service.tlog.verifier import HASH_SIZE, Checkpoint, parse_checkpoint, valid_key_name

__all__ = ["Checkpoint", "checkpoint_text", "parse_checkpoint", "valid_origin"]


def valid_origin(origin: str) -> bool:
    """An origin is also the log's key name: non-empty, no spaces, no plus sign."""
    return valid_key_name(origin)


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    if not valid_origin(origin):
        raise ValueError(f"a log origin has no spaces and no plus sign: {origin!r}")
    if size < 0 or len(root) != HASH_SIZE:
        raise ValueError("a checkpoint holds a tree size and a 32-byte root")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"
