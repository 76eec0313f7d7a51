"""Summarize a ``py-spy record --format raw`` profile (collapsed stacks: ``a;b;c count``).

    .venv/bin/python bench/profile_summary.py PROFILE.raw [--within post_scan] [--top 40]

Prints, over the samples whose stack passes through ``--within`` (a function name; all
samples when absent), the share of samples each function is on the stack for (inclusive) and
at the top of (self), line numbers folded away. ``--busy`` leaves out samples of threads that
wait (py-spy does not always see a wait as idle): an idle worker thread, the event loop's
select, a request queued on the SQLite write lock, and the imports of start-up.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """``submit_scan (service/scanning/service.py:52)`` -> ``submit_scan (scanning/service.py)``."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    parts = path.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else path
    return f"{match['func']} ({short})"


def read(path: Path) -> list[tuple[list[str], int]]:
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text(errors="replace").splitlines():
        head, _, count = line.rpartition(" ")
        if not head or not count.isdigit():
            continue
        stacks.append(([frame_name(f) for f in head.split(";")], int(count)))
    return stacks


# Frames at the top of a stack that mean the thread waits rather than works.
_WAITS = ("Condition.wait ", "Runner.run ", "session_scope ", "Lock.acquire ", "select ")


def busy(frames: Sequence[str]) -> bool:
    if frames[-1].startswith(_WAITS):
        return False
    return not any(f.startswith("_find_and_load ") for f in frames)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--within", help="keep stacks through this function name")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--busy", action="store_true", help="leave out waiting threads")
    args = parser.parse_args(argv)
    stacks = read(args.profile)
    if args.busy:
        stacks = [(s, n) for s, n in stacks if busy(s)]
    if args.within:
        stacks = [(s, n) for s, n in stacks if any(f.startswith(args.within + " ") for f in s)]
    total = sum(n for _, n in stacks)
    if not total:
        print("no samples", file=sys.stderr)
        return 1
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, n in stacks:
        for name in set(frames):
            inclusive[name] += n
        own[frames[-1]] += n
    print(
        f"{total} samples"
        + (" of busy threads" if args.busy else "")
        + (f" through {args.within}" if args.within else "")
    )
    print("\ninclusive (share of samples with the function on the stack)")
    for name, n in inclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f} %  {name}")
    print("\nself (share of samples at the top of the stack)")
    for name, n in own.most_common(args.top):
        print(f"  {100 * n / total:5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
