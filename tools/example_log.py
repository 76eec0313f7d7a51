"""Re-seal the API documentation's example trip after one of its events changed.

The examples in ``schemas/examples.py`` verify offline as real answers do (a test checks it):
each example event's hash covers its content and the hash before it, the example log's
checkpoint is signed over a tree whose leaves include those hashes, and the proofs lead to its
root. Editing an example event breaks that; this rewrites, in ``schemas/examples.py``, the four
event hashes, the tree's root, the inclusion and consistency proofs, and the checkpoint with a
new example log key (the other leaves of the tree are made up).

Usage::

    .venv/bin/python tools/example_log.py && .venv/bin/ruff format schemas/examples.py
"""

from __future__ import annotations

import hashlib
import importlib
import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas import custody, examples
from service.tlog.checkpoint import checkpoint_text
from service.tlog.merkle import LeafList, hashes_of
from service.tlog.note import NoteSigner
from service.tlog.verifier import (
    GENESIS,
    consistency_ranges,
    event_content_hash,
    inclusion_ranges,
    root_of,
)

FILE = Path(examples.__file__)
HASH_NAMES = ["REGISTER_HASH", "COLLECT_HASH", "PICKUP_HASH", "RECEIVE_HASH"]
PROOFS = "\n# RFC 9162 proofs"


def _chain_hashes() -> list[str]:
    """The example chain's hashes, each over its event's content and the hash before it."""
    hashes, prev = [], GENESIS
    for event in custody.EXAMPLE_CHAIN:
        content = {k: v for k, v in event.items() if k not in ("id", "hash", "log_index")}
        prev = event_content_hash({**content, "prev_hash": prev, "v": 1})
        hashes.append(prev)
    return hashes


def _set(text: str, name: str, value: str) -> str:
    return re.sub(rf"^{name} = .*$", f"{name} = {value}", text, count=1, flags=re.M)


def _list(values: list[str], indent: int) -> str:
    pad = " " * indent
    return "[\n" + "".join(f'{pad}"{v}",\n' for v in values) + " " * (indent - 4) + "]"


def main() -> None:
    text = FILE.read_text()
    hashes = _chain_hashes()
    for name, value in zip(HASH_NAMES, hashes, strict=True):
        text = _set(text, name, f'"{value}"')
    size = examples.LOG_TREE_SIZE
    ours = {
        e["log_index"]: bytes.fromhex(h) for e, h in zip(custody.EXAMPLE_CHAIN, hashes, strict=True)
    }
    tree = LeafList.of_data(
        ours.get(i, hashlib.sha256(b"medwaste example leaf %d" % i).digest()) for i in range(size)
    )
    root = root_of(tree.leaves)
    signer = NoteSigner(name=examples.LOG_ORIGIN, private_key=Ed25519PrivateKey.generate())
    note = signer.sign(checkpoint_text(examples.LOG_ORIGIN, size, root))
    text = _set(text, "LOG_KEY_ID", f'"{signer.key_id:08x}"')
    text = _set(
        text, "LOG_VKEY", 'f"{LOG_ORIGIN}+{LOG_KEY_ID}+' + signer.vkey.split("+", 2)[2] + '"'
    )
    text = _set(text, "LOG_ROOT_HASH", f'"{root.hex()}"')
    start = text.index("CHECKPOINT_NOTE = (")
    end = text.index("\n)\n", start) + 3
    body, signature_line = note.split("\n\n")
    signature = signature_line.split(" ", 2)[2].rstrip("\n")
    text = (
        text[:start]
        + "CHECKPOINT_NOTE = (\n"
        + f'    f"{{LOG_ORIGIN}}\\n{{LOG_TREE_SIZE}}\\n{body.split(chr(10))[2]}\\n\\n"\n'
        + f'    f"— {{LOG_ORIGIN}} {signature[:60]}"\n'
        + f'    "{signature[60:]}\\n"\n'
        + ")\n"
        + text[end:]
    )
    proofs = {
        i: [h.hex() for h in hashes_of(tree, inclusion_ranges(i, size))] for i in sorted(ours)
    }
    first = examples.CONSISTENCY_FROM
    consistency = [h.hex() for h in hashes_of(tree, consistency_ranges(first, size))]
    text = text[: text.index(PROOFS)] if PROOFS in text else text.rstrip("\n") + "\n"
    text += (
        f"{PROOFS} in the tree of the checkpoint: each example event's inclusion (by its log\n"
        f"# index), and the consistency of the tree of {first} leaves with it.\n"
        "INCLUSION = {\n"
        + "".join(f"    {i}: {_list(p, 8)},\n" for i, p in proofs.items())
        + "}\n"
        + f"CONSISTENCY_FROM = {first}\n"
        + f"CONSISTENCY = {_list(consistency, 4)}\n"
    )
    FILE.write_text(text)
    importlib.reload(examples)
    print(f"re-sealed: root {root.hex()}, log key {examples.LOG_VKEY}")


if __name__ == "__main__":
    main()
