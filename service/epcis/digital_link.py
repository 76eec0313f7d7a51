"""GS1 identifiers in their one canonical form, as the EPCIS event hash needs them.

The event hash (CBV 2.0, "EPCIS Event Hash ID") compares identifiers as *constrained canonical
GS1 Digital Link URIs*: ``https://id.gs1.org/{AI}/{key}`` with only the finest level of
identification, no query string. This module turns the other spellings into that form: EPC
pure-identity URNs (``urn:epc:id:sgtin:...``, GS1 Tag Data Standard), EPC class and pattern
URNs, and Digital Link URIs on another domain, with short names (``/gtin/``) or with extra key
qualifiers. Anything else is not a GS1 identifier and is left alone (``None``).

Written from the GS1 Tag Data Standard (EPC URN grammar) and GS1 Digital Link URI Syntax
(canonical form); checked against the reference generator's published test vectors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from service.organizations.gs1 import gs1_check_digit as check_digit

CANONICAL = "https://id.gs1.org"

# Characters the Digital Link syntax wants percent-encoded that an EPC URN leaves bare.
_DL_ESCAPES = str.maketrans({c: f"%{ord(c):02X}" for c in "!()*+,:"})


def _escape(text: str) -> str:
    return text.translate(_DL_ESCAPES)


# ---- EPC URNs (Tag Data Standard) -> Digital Link -------------------------------------------

_COMPANY = r"(\d{6,12})"
# An EPC URN's alphanumeric component: GS1 AI encodable characters, some %-escaped.
_XCHAR = (
    r"(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]"
    r"|[!')(*+,.0-9:;=A-Za-z_-])"
)
# CPI component reference: a narrower set.
_CPICHAR = r"(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])"


def _x(count: int) -> str:
    return f"({_XCHAR}{{1,{count}}})"


def _gtin(company: str, indicator_ref: str) -> str | None:
    if len(company) + len(indicator_ref) != 13:
        return None
    body = indicator_ref[0] + company + indicator_ref[1:]
    return body + check_digit(body)


def _fixed(company: str, ref: str, length: int) -> str | None:
    """Company prefix + reference padded to ``length`` digits, with its check digit."""
    if len(company) + len(ref) != length:
        return None
    return company + ref + check_digit(company + ref)


_Builder = Callable[[re.Match[str]], str | None]


def _sgtin(m: re.Match[str]) -> str | None:
    gtin = _gtin(m[1], m[2])
    return gtin and f"/01/{gtin}/21/{_escape(m[3])}"


def _sscc(m: re.Match[str]) -> str | None:
    company, ref = m[1], m[2]
    if len(company) + len(ref) != 17:
        return None
    body = ref[0] + company + ref[1:]
    return f"/00/{body}{check_digit(body)}"


def _sgln(m: re.Match[str]) -> str | None:
    gln = _fixed(m[1], m[2], 12)
    if gln is None:
        return None
    return f"/414/{gln}" if m[3] == "0" else f"/414/{gln}/254/{_escape(m[3])}"


def _decoded_length(text: str) -> int:
    return len(re.sub(r"%[0-9A-Fa-f]{2}", "_", text))


def _grai(m: re.Match[str]) -> str | None:
    if len(m[1]) + len(m[2]) != 12:
        return None
    key = "0" + m[1] + m[2]
    serial = _escape(m[3]) if m.lastindex and m.lastindex >= 3 and m[3] else ""
    return f"/8003/{key}{check_digit(key)}{serial}"


def _giai(m: re.Match[str]) -> str | None:
    if len(m[1]) + _decoded_length(m[2]) > 30:
        return None
    return f"/8004/{m[1]}{_escape(m[2])}"


def _keyed(ai: str, length: int) -> _Builder:
    def build(m: re.Match[str]) -> str | None:
        key = _fixed(m[1], m[2], length)
        return key and f"/{ai}/{key}"

    return build


def _gdti(m: re.Match[str]) -> str | None:
    key = _fixed(m[1], m[2], 12)
    serial = _escape(m[3]) if m.lastindex and m.lastindex >= 3 and m[3] else ""
    return key and f"/253/{key}{serial}"


def _sgcn(m: re.Match[str]) -> str | None:
    key = _fixed(m[1], m[2], 12)
    serial = m[3] if m.lastindex and m.lastindex >= 3 and m[3] else ""
    return key and f"/255/{key}{serial}"


def _cpi(m: re.Match[str]) -> str | None:
    base = f"/8010/{_escape(m[1] + m[2])}"
    return base + (f"/8011/{m[3]}" if m.lastindex and m.lastindex >= 3 and m[3] else "")


def _ginc(m: re.Match[str]) -> str | None:
    if len(m[1]) + _decoded_length(m[2]) > 30:
        return None
    return f"/401/{m[1]}{_escape(m[2])}"


def _itip(m: re.Match[str]) -> str | None:
    gtin = _gtin(m[1], m[2])
    if gtin is None:
        return None
    serial = f"/21/{_escape(m[5])}" if m.lastindex and m.lastindex >= 5 and m[5] else ""
    return f"/8006/{gtin}{m[3]}{m[4]}{serial}"


def _upui(m: re.Match[str]) -> str | None:
    gtin = _gtin(m[1], m[2])
    if gtin is None:
        return None
    tpx = f"/235/{_escape(m[3])}" if m.lastindex and m.lastindex >= 3 and m[3] else ""
    return f"/01/{gtin}{tpx}"


def _lgtin(m: re.Match[str]) -> str | None:
    gtin = _gtin(m[1], m[2])
    return gtin and f"/01/{gtin}/10/{_escape(m[3])}"


def _sgtin_pattern(m: re.Match[str]) -> str | None:
    gtin = _gtin(m[1], m[2])
    return gtin and f"/01/{gtin}"


_URNS: list[tuple[re.Pattern[str], _Builder]] = [
    (re.compile(rf"^urn:epc:id:sgtin:{_COMPANY}\.(\d{{1,7}})\.{_x(20)}$"), _sgtin),
    (re.compile(rf"^urn:epc:id:sscc:{_COMPANY}\.(\d{{5,11}})$"), _sscc),
    (re.compile(rf"^urn:epc:id:sgln:{_COMPANY}\.(\d{{0,6}})\.{_x(20)}$"), _sgln),
    (re.compile(rf"^urn:epc:id:grai:{_COMPANY}\.(\d{{0,6}})\.{_x(16)}$"), _grai),
    (re.compile(rf"^urn:epc:id:giai:{_COMPANY}\.{_x(24)}$"), _giai),
    (re.compile(rf"^urn:epc:id:gsrn:{_COMPANY}\.(\d{{5,11}})$"), _keyed("8018", 17)),
    (re.compile(rf"^urn:epc:id:gsrnp:{_COMPANY}\.(\d{{5,11}})$"), _keyed("8017", 17)),
    (re.compile(rf"^urn:epc:id:gdti:{_COMPANY}\.(\d{{0,6}})\.{_x(17)}$"), _gdti),
    (re.compile(rf"^urn:epc:id:cpi:{_COMPANY}\.({_CPICHAR}{{1,24}})\.(\d{{1,12}})$"), _cpi),
    (re.compile(rf"^urn:epc:id:sgcn:{_COMPANY}\.(\d{{0,6}})\.(\d{{1,12}})$"), _sgcn),
    (re.compile(rf"^urn:epc:id:ginc:{_COMPANY}\.{_x(24)}$"), _ginc),
    (re.compile(rf"^urn:epc:id:gsin:{_COMPANY}\.(\d{{4,10}})$"), _keyed("402", 16)),
    (
        re.compile(rf"^urn:epc:id:itip:{_COMPANY}\.(\d{{1,7}})\.(\d{{2}})\.(\d{{2}})\.{_x(20)}$"),
        _itip,
    ),
    (re.compile(rf"^urn:epc:id:upui:{_COMPANY}\.(\d{{1,7}})\.{_x(28)}$"), _upui),
    (re.compile(rf"^urn:epc:id:pgln:{_COMPANY}\.(\d{{0,6}})$"), _keyed("417", 12)),
    (re.compile(rf"^urn:epc:class:lgtin:{_COMPANY}\.(\d{{1,7}})\.{_x(20)}$"), _lgtin),
    (re.compile(rf"^urn:epc:idpat:sgtin:{_COMPANY}\.(\d{{1,7}})\.\*$"), _sgtin_pattern),
    (re.compile(rf"^urn:epc:idpat:grai:{_COMPANY}\.(\d{{0,6}})\.\*$"), _grai),
    (re.compile(rf"^urn:epc:idpat:gdti:{_COMPANY}\.(\d{{0,6}})\.\*$"), _gdti),
    (re.compile(rf"^urn:epc:idpat:sgcn:{_COMPANY}\.(\d{{0,6}})\.\*$"), _sgcn),
    (re.compile(rf"^urn:epc:idpat:cpi:{_COMPANY}\.({_CPICHAR}{{1,24}})\.\*$"), _cpi),
    (re.compile(rf"^urn:epc:idpat:itip:{_COMPANY}\.(\d{{1,7}})\.(\d{{2}})\.(\d{{2}})\.\*$"), _itip),
    (re.compile(rf"^urn:epc:idpat:upui:{_COMPANY}\.(\d{{1,7}})\.\*$"), _upui),
]


def _from_urn(uri: str) -> str | None:
    for pattern, build in _URNS:
        match = pattern.match(uri)
        if match is not None:
            path = build(match)
            return CANONICAL + path if path else None
    return None


# ---- Digital Link URIs -> constrained canonical form ---------------------------------------

_SHORT_NAMES = {
    "gtin": "01",
    "itip": "8006",
    "cpid": "8010",
    "gln": "414",
    "party": "417",
    "gsrnp": "8017",
    "gsrn": "8018",
    "gcn": "255",
    "sscc": "00",
    "gdti": "253",
    "ginc": "401",
    "gsin": "402",
    "grai": "8003",
    "giai": "8004",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
}
_PRIMARY = frozenset(
    {"01", "8006", "8010", "414", "417", "8017", "8018", "255", "00", "253", "401", "402"}
    | {"8003", "8004"}
)
# For each primary key, its qualifiers from the finest level of identification to the coarsest;
# the canonical form keeps the finest one present. CPV (22) never identifies on its own.
_QUALIFIERS: dict[str, tuple[str, ...]] = {
    "01": ("21", "235", "10"),
    "8006": ("21", "10"),
    "414": ("254",),
    "8010": ("8011",),
}
_DROPPED = frozenset({"22"})

# The characters a canonical value may hold (GS1 AI encodable set 82 minus those that need
# escaping in a URI path).
_XSAFE = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"
_VALUE = {
    "00": re.compile(r"^\d{18}$"),
    "01": re.compile(r"^\d{14}$"),
    "21": re.compile(rf"^{_XSAFE}{{0,20}}$"),
    "10": re.compile(rf"^{_XSAFE}{{0,20}}$"),
    "235": re.compile(rf"^{_XSAFE}{{0,28}}$"),
    "253": re.compile(rf"^\d{{13}}{_XSAFE}{{0,17}}$"),
    "255": re.compile(r"^\d{13}\d{0,12}$"),
    "401": re.compile(rf"^{_XSAFE}{{0,30}}$"),
    "402": re.compile(r"^\d{17}$"),
    "414": re.compile(r"^\d{13}$"),
    "254": re.compile(rf"^{_XSAFE}{{0,20}}$"),
    "417": re.compile(r"^\d{13}$"),
    "8003": re.compile(rf"^\d{{14}}{_XSAFE}{{0,16}}$"),
    "8004": re.compile(rf"^{_XSAFE}{{0,30}}$"),
    "8006": re.compile(r"^\d{18}$"),
    "8010": re.compile(r"^[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}$"),
    "8011": re.compile(r"^\d{0,12}$"),
    "8017": re.compile(r"^\d{18}$"),
    "8018": re.compile(r"^\d{18}$"),
}
_URL = re.compile(r"^https?://[^/?#]*(/[^?#]*)?(?:[?#].*)?$")


def _from_digital_link(uri: str) -> str | None:
    match = _URL.match(uri)
    if match is None or not match[1]:
        return None
    segments = [_SHORT_NAMES.get(s, s) for s in match[1].split("/")]
    start = next((i for i, s in enumerate(segments) if s in _PRIMARY), None)
    if start is None or start + 1 >= len(segments):
        return None
    key_ai, key = segments[start], segments[start + 1]
    if not re.match(r"^\d{4}", key):
        return None
    rest = segments[start + 2 :]
    if rest and rest[-1] == "":
        rest = rest[:-1]
    if len(rest) % 2:
        return None
    qualifiers = dict(zip(rest[::2], rest[1::2], strict=True))
    allowed = _QUALIFIERS.get(key_ai, ())
    if any(q not in allowed and q not in _DROPPED for q in qualifiers):
        return None
    if key_ai == "01" and len(key) in (8, 12, 13):
        key = key.rjust(14, "0")
    path = [key_ai, key]
    finest = next((q for q in allowed if q in qualifiers), None)
    if finest is not None:
        path += [finest, qualifiers[finest]]
    for ai, value in zip(path[::2], path[1::2], strict=True):
        pattern = _VALUE.get(ai)
        if pattern is None or not pattern.match(value):
            return None
    return CANONICAL + "/" + "/".join(path)


# Pure, and asked again for every event of a document that names the same things (its site,
# its parties, each container several times): answers are remembered.
@lru_cache(maxsize=8192)
def canonical_gs1_uri(value: str) -> str | None:
    """The constrained canonical Digital Link URI for a GS1 identifier in any standard
    spelling, or ``None`` when ``value`` is not one."""
    if value.startswith("urn:epc:"):
        return _from_urn(value)
    if value.startswith(("http://", "https://")):
        return _from_digital_link(value)
    return None
