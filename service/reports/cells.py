"""Spreadsheet-safe CSV cells (CSV injection, as OWASP recommends).

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
by spreadsheet programs as a formula: a note typed on a phone could run in a regulator's
spreadsheet. Such cells get a leading apostrophe, which shows the text as typed and runs
nothing; the csv module quotes every cell that needs it. Numbers are written as numbers (a
negative figure stays a number).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` whose text cells cannot run as spreadsheet formulas."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(v) for v in row])
