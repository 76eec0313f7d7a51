"""Proof latency on a big log: inclusion and consistency proofs read from stored tiles.

    python bench/log_proofs.py [--leaves 10000000] [--samples 2000] [--pg URL]

Builds a fresh database whose tree holds ``--leaves`` leaves (random leaf hashes appended
straight to the tiles in chunks of a million, through the integrator's own tile builder: no
custody events, which proofs never read), then times, each in its own read transaction as a
request would, the service calls behind ``GET /api/v1/log/proof/inclusion`` and
``.../consistency``: random leaves in the full tree, random tree sizes, random pairs. A sample of
proofs is verified against the tree's root. Target: under 5 ms at 10 M leaves.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlmodel import Session

from service.db import make_engine, session_scope
from service.migrate import upgrade
from service.tlog import service as log
from service.tlog.verifier import verify_consistency, verify_inclusion

CHUNK = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaves", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=2000, help="proofs timed of each kind")
    parser.add_argument("--pg", help="PostgreSQL URL (a fresh schema is used and dropped)")
    parser.add_argument(
        "--sqlite-file",
        type=Path,
        help="keep the SQLite database here; a file whose tree is already as big is reused",
    )
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="medwaste-proofs-")
    schema = None
    if args.pg:
        schema = f"bench_proofs_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{args.sqlite_file or Path(work) / 'proofs.db'}"
    try:
        upgrade(url)
        engine = make_engine(url)
        start = time.perf_counter()
        with Session(engine) as s:
            size, root = log.tree_state(s)
        if size > args.leaves:
            raise SystemExit(f"the database's tree already has {size:,} leaves")
        while size < args.leaves:
            count = min(CHUNK, args.leaves - size)
            blob = os.urandom(32 * count)
            with session_scope(engine, write=True) as s:
                size, root = log.append_leaf_hashes(
                    s, (blob[i : i + 32] for i in range(0, len(blob), 32))
                )
            print(f"  {size:,} leaves in the tree", flush=True)
        built = time.perf_counter() - start
        with Session(engine) as s:
            tiles = s.execute(text("SELECT count(*) FROM log_tile")).scalar_one()
        print(f"built {size:,} leaves as {tiles:,} tiles in {built:.0f} s")

        rng = random.Random(7)
        n = size

        cpu: dict[str, float] = {}

        def timed(call: Callable[[Session], object]) -> float:
            begin = time.perf_counter()
            with Session(engine) as s:
                call(s)
            return time.perf_counter() - begin

        def run(label: str, calls: Callable[[], list[float]]) -> list[float]:
            begin = time.process_time()
            values = calls()
            cpu[label] = (time.process_time() - begin) / len(values)
            return values

        figures: dict[str, list[float]] = {
            "inclusion, full tree": run(
                "inclusion, full tree",
                lambda: [
                    timed(lambda s, i=rng.randrange(n): log.inclusion_proof(s, i, n))
                    for _ in range(args.samples)
                ],
            ),
            "inclusion, random size": run(
                "inclusion, random size",
                lambda: [
                    timed(
                        lambda s, m=rng.randint(1, n): log.inclusion_proof(s, rng.randrange(m), m)
                    )
                    for _ in range(args.samples)
                ],
            ),
            "consistency, random pair": run(
                "consistency, random pair",
                lambda: [
                    timed(lambda s, m=rng.randint(1, n): log.consistency_proof(s, m, n))
                    for _ in range(args.samples)
                ],
            ),
        }
        # correctness: a few proofs against roots recomputed from the tiles
        with Session(engine) as s:
            assert log.root_at(s, n) == root
            for _ in range(20):
                i = rng.randrange(n)
                leaf = log.fetch_tiles(s, [(0, i // 256)])[(0, i // 256)]
                leaf_hash = leaf[(i % 256) * 32 : (i % 256 + 1) * 32]
                verify_inclusion(i, n, leaf_hash, log.inclusion_proof(s, i, n), root)
                m = rng.randint(1, n)
                verify_consistency(m, n, log.root_at(s, m), root, log.consistency_proof(s, m, n))
        engine.dispose()
    finally:
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    backend = "postgresql" if args.pg else "sqlite"
    print(f"\nproof latency on {backend}, tree of {n:,} leaves, {args.samples} proofs each")
    print(f"{'':26}{'mean ms':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'cpu ms':>10}")
    worst = 0.0
    for label, values in figures.items():
        p99 = statistics.quantiles(values, n=100)[98] * 1000
        worst = max(worst, p99)
        print(
            f"{label:26}{statistics.mean(values) * 1000:10.2f}"
            f"{statistics.median(values) * 1000:10.2f}{p99:10.2f}{max(values) * 1000:10.2f}"
            f"{cpu[label] * 1000:10.2f}"
        )
    verdict = "met" if worst < 5 else "NOT MET"
    print(f"p99 of every kind under 5 ms: {verdict} (worst p99 {worst:.2f} ms)")
    print("cpu ms: this process's CPU time per proof (on SQLite it includes the database's)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
