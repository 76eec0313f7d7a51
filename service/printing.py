"""What every printed document shares: the waste categories' names and colours, the
embedded CJK font (Noto Sans SC), so label sheets and manifests print Chinese the same on any
viewer or printer, and QR codes drawn as vector paths, sharp at any printer resolution."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import qrcode
import qrcode.constants
from fpdf import FPDF
from pylopdf_fonts_zh_cn import sans_path

from service import qr

RGB = tuple[int, int, int]

FONT = "NotoSansSC"

QR_BORDER_MODULES = 4
_QR_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q


@dataclass(frozen=True, slots=True)
class CategoryStyle:
    name_zh: str
    name_en: str
    colour: RGB
    text_colour: RGB


DARK: RGB = (20, 20, 20)
WHITE: RGB = (255, 255, 255)

CATEGORY_STYLES: dict[str, CategoryStyle] = {
    "infectious": CategoryStyle("感染性", "Infectious", (255, 214, 0), DARK),
    "sharps": CategoryStyle("损伤性", "Sharps", (247, 134, 28), DARK),
    "pathological": CategoryStyle("病理性", "Pathological", (190, 30, 45), WHITE),
    "pharmaceutical": CategoryStyle("药物性", "Pharmaceutical", (0, 94, 170), WHITE),
    "chemical": CategoryStyle("化学性", "Chemical", (108, 52, 160), WHITE),
}


@lru_cache(maxsize=1)
def font_path() -> str:
    """The embedded font file; a missing font is an installation fault, said at once."""
    path = sans_path()
    if not path.is_file():
        raise RuntimeError(f"CJK font missing: {path}")
    return str(path)


def qr_code(payload: str, *, box_size: int = 10) -> qrcode.QRCode[Any]:
    """The payload as a ``qrcode`` QR code for its image writers (error correction Q, the
    4-module quiet zone), with the mask ``qr.encode`` chose: the same symbol as the PDFs print,
    without ``qrcode`` scoring the eight masks again."""
    mask = qr.encode(payload, error_correction=_QR_ERROR_CORRECTION).mask
    code: qrcode.QRCode[Any] = qrcode.QRCode(
        error_correction=_QR_ERROR_CORRECTION,
        box_size=box_size,
        border=QR_BORDER_MODULES,
        mask_pattern=mask,
    )
    code.add_data(payload.encode("utf-8"))
    code.make(fit=True)
    return code


def paint(pdf: FPDF, ops: str, *, x: float, y: float, scale: float) -> None:
    """Raw PDF path operators drawn in a frame whose origin is (x, y) on the page, y pointing
    down, one unit ``scale`` page units long, inside their own graphics state (q ... Q), so
    the colours and line width they set end with them.

    Drawing a QR code or a hazard sign through fpdf2's shape calls costs milliseconds each (a
    rectangle call per run of modules); operators written once and placed by a transform cost
    microseconds. fpdf2 has no public call for raw content: ``_out`` is what its own shape
    calls write through."""
    k = pdf.k
    pdf._out(f"q {scale * k:.5f} 0 0 {-scale * k:.5f} {x * k:.3f} {(pdf.h - y) * k:.3f} cm {ops} Q")


def qr_vector(pdf: FPDF, payload: str, x: float, y: float, size: float) -> None:
    """The payload's QR code drawn at (x, y) as a square of side size, quiet zone included,
    white, with the dark modules as one filled path of rectangles, one per run in a row."""
    symbol = qr.encode(payload, error_correction=_QR_ERROR_CORRECTION)
    side = symbol.size + 2 * QR_BORDER_MODULES
    border = QR_BORDER_MODULES
    runs = " ".join(
        f"{c + border} {r + border} {length} 1 re" for r, c, length in symbol.dark_runs()
    )
    paint(pdf, f"1 g 0 0 {side} {side} re f 0 g {runs} f", x=x, y=y, scale=size / side)
