"""What every printed document shares: the waste categories' names and colours, the
embedded CJK font (Noto Sans SC), so label sheets and manifests print Chinese the same on any
viewer or printer, and QR codes drawn as vector rectangles, sharp at any printer resolution."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import qrcode
import qrcode.constants
from fpdf import FPDF
from pylopdf_fonts_zh_cn import sans_path

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
    """The payload as a QR code (error correction Q, the 4-module quiet zone)."""
    code: qrcode.QRCode[Any] = qrcode.QRCode(
        error_correction=_QR_ERROR_CORRECTION, box_size=box_size, border=QR_BORDER_MODULES
    )
    code.add_data(payload.encode("utf-8"))
    code.make(fit=True)
    return code


def qr_vector(pdf: FPDF, payload: str, x: float, y: float, size: float) -> None:
    """The payload's QR code drawn at (x, y) as a square of side size of filled rectangles,
    one per run of dark modules in a row, on white."""
    matrix = qr_code(payload).get_matrix()
    module = size / len(matrix)
    pdf.set_fill_color(*WHITE)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    overlap = module * 0.02
    for row_index, row in enumerate(matrix):
        start: int | None = None
        for col_index, dark in enumerate([*row, False]):
            if dark and start is None:
                start = col_index
            elif not dark and start is not None:
                pdf.rect(
                    x + start * module,
                    y + row_index * module,
                    (col_index - start) * module + overlap,
                    module + overlap,
                    style="F",
                )
                start = None
