"""Jurisdiction codes (ISO 3166-2 style, e.g. ``CN-15``) and what follows from them: whether a
jurisdiction is Chinese, its GB/T 2260 province code, its local time for printed dates, a coarse
box around it."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone, tzinfo
from functools import cache
from importlib import resources

# Mainland China keeps one time zone (UTC+8, no daylight saving).
CHINA_TIME = timezone(timedelta(hours=8))

# ISO 3166-2:CN letter codes (2017) to the GB/T 2260 province codes manifest numbers use.
_CN_PROVINCES = {
    "BJ": "11", "TJ": "12", "HE": "13", "SX": "14", "NM": "15", "LN": "21", "JL": "22",
    "HL": "23", "SH": "31", "JS": "32", "ZJ": "33", "AH": "34", "FJ": "35", "JX": "36",
    "SD": "37", "HA": "41", "HB": "42", "HN": "43", "GD": "44", "GX": "45", "HI": "46",
    "CQ": "50", "SC": "51", "GZ": "52", "YN": "53", "XZ": "54", "SN": "61", "GS": "62",
    "QH": "63", "NX": "64", "XJ": "65", "TW": "71", "HK": "81", "MO": "82",
}  # fmt: skip


def is_chinese(jurisdiction: str | None) -> bool:
    return jurisdiction is not None and (jurisdiction == "CN" or jurisdiction.startswith("CN-"))


def province_code(jurisdiction: str) -> str:
    """The two-digit province code of a ``CN-..`` jurisdiction (``00`` when it has none)."""
    _, _, sub = jurisdiction.partition("-")
    if len(sub) == 2 and sub.isdigit():
        return sub
    return _CN_PROVINCES.get(sub, "00")


def local_time(jurisdiction: str | None) -> tzinfo:
    """The zone printed dates of ``jurisdiction`` are shown in (UTC where we do not know)."""
    return CHINA_TIME if is_chinese(jurisdiction) else UTC


@dataclass(frozen=True)
class Box:
    """A box of latitudes and longitudes (degrees) that holds a whole jurisdiction."""

    south: float
    west: float
    north: float
    east: float

    def holds(self, latitude: float, longitude: float) -> bool:
        return self.south <= latitude <= self.north and self.west <= longitude <= self.east


@cache
def _boxes() -> dict[str, Box]:
    text = resources.files("service").joinpath("jurisdiction_bounds.toml").read_text("utf-8")
    return {
        str(code): Box(*(float(v) for v in edges))
        for code, edges in tomllib.loads(text).get("boxes", {}).items()
    }


def bounds(jurisdiction: str | None) -> Box | None:
    """The coarse box around ``jurisdiction`` (see ``jurisdiction_bounds.toml``), or None where
    none is on file."""
    if not jurisdiction:
        return None
    boxes = _boxes()
    if jurisdiction in boxes:
        return boxes[jurisdiction]
    if is_chinese(jurisdiction):
        return boxes.get(f"CN-{province_code(jurisdiction)}")
    return None
