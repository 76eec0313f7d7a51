"""How long printing a batch's labels takes: 500 labels (the most one request prints) as an
A4 sheet and on each thermal stock, best of ``--runs``; and, in the same run, making their QR
codes with service.qr against the ``qrcode`` package scoring its eight masks (the same
symbols: tests/labels/test_qr.py).

    .venv/bin/python bench/labels.py [--count 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import qrcode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import qr
from service.labels import render
from service.labels.render import LabelInfo, label_sheet_pdf, label_thermal_pdf
from service.labels.signing import generate_key, key_id_for, sign_label

TARGET_SECONDS = 3.0


def labels(count: int) -> list[LabelInfo]:
    key = generate_key()
    out = []
    for i in range(count):
        cid = base64.b32encode(os.urandom(16)).decode().rstrip("=").lower()
        out.append(
            LabelInfo(
                payload=sign_label(cid, key_id_for(key.public_key()), key),
                container_id=cid,
                category=("infectious", "sharps", "pathological")[i % 3],
                origin_name="内蒙古自治区人民医院 Inner Mongolia People's Hospital",
                department="外科 Surgery",
                created_at=datetime.now(UTC),
                epidemic=i % 20 == 0,
            )
        )
    return out


def best(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=render.MAX_LABELS_PER_SHEET)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    batch = labels(args.count)

    def with_qrcode() -> None:
        for label in batch:
            code = qrcode.QRCode(error_correction=qr.ERROR_CORRECT_Q)
            code.add_data(label.payload.encode("utf-8"))
            code.make(fit=True)

    package = best(args.runs, with_qrcode)
    ours = best(args.runs, lambda: [qr.encode(label.payload) for label in batch])
    print(
        f"{args.count} labels; QR codes alone: qrcode package {package:.2f} s, "
        f"service.qr {ours:.3f} s ({package / ours:.0f} times faster)"
    )
    for stock in ("a4", "100x70", "60x40"):

        def document(stock: str = stock) -> bytes:
            if stock == "a4":
                return label_sheet_pdf(batch)
            return label_thermal_pdf(batch, stock=stock)

        seconds = best(args.runs, document)
        verdict = "met" if seconds < TARGET_SECONDS else "NOT MET"
        print(f"  {stock:7} {seconds:6.2f} s  (target < {TARGET_SECONDS:g} s: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
