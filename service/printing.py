"""What every printed document shares: the waste categories' names and colours, and the
embedded CJK font (Noto Sans SC), so label sheets and manifests print Chinese the same on any
viewer or printer."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pylopdf_fonts_zh_cn import sans_path

RGB = tuple[int, int, int]

FONT = "NotoSansSC"


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
