"""QR label images and printable A4 label sheets (SPEC §5).

The sheet embeds a subset of Noto Sans SC (SIL OFL 1.1, shipped by the pip package
``pylopdf-fonts-zh-cn``), so Chinese prints the same on any viewer or printer, whatever fonts
the printing machine has. QR codes are drawn as vector rectangles so they stay sharp at any
printer resolution.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import cast

from fpdf import FPDF
from fpdf.enums import MethodReturnValue
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

from service.labels.signing import short_code
from service.printing import (
    CATEGORY_STYLES,
    DARK,
    FONT,
    RGB,
    WHITE,
    font_path,
    paint,
    qr_code,
    qr_vector,
)

MAX_LABELS_PER_SHEET = 500

BIOHAZARD_NOTICE = "医疗废物 MEDICAL WASTE — 生物危害 BIOHAZARD"
EPIDEMIC_MARK = "EPIDEMIC 涉疫"


@dataclass(frozen=True, slots=True)
class LabelInfo:
    payload: str
    container_id: str
    category: str
    origin_name: str
    department: str
    created_at: datetime
    epidemic: bool = False

    def __post_init__(self) -> None:
        if self.category not in CATEGORY_STYLES:
            raise ValueError(f"unknown waste category {self.category!r}")
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError("created_at must be timezone-aware")
        if not self.payload:
            raise ValueError("payload must not be empty")


def label_png(payload: str, *, box_size: int = 8) -> bytes:
    """The payload as a black-on-white QR code PNG, with the 4-module quiet zone."""
    if box_size < 1:
        raise ValueError("box_size must be at least 1")
    image = qr_code(payload, box_size=box_size).make_image(image_factory=PilImage)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def label_svg(payload: str) -> bytes:
    """The payload as a standalone SVG QR code (one path, 1 mm per module), with quiet zone."""
    image = qr_code(payload).make_image(image_factory=SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# PDF sheet. Units are millimetres, A4 portrait, 2 x 4 cells per page.

_PAGE_W, _PAGE_H = 210.0, 297.0
_MARGIN_X, _MARGIN_Y = 9.0, 11.0
_COLS, _ROWS = 2, 4
_GUTTER_X, _GUTTER_Y = 6.0, 4.0
_CELL_W = (_PAGE_W - 2 * _MARGIN_X - (_COLS - 1) * _GUTTER_X) / _COLS
_CELL_H = (_PAGE_H - 2 * _MARGIN_Y - (_ROWS - 1) * _GUTTER_Y) / _ROWS
_BAND_H = 11.0
_NOTICE_H = 6.5
_ID_H = 2.4
_QR_SIZE = _CELL_H - _BAND_H - _NOTICE_H - _ID_H - 0.6
_CORNER = 1.5

_GREY: RGB = (110, 110, 110)
_EPIDEMIC_RED: RGB = (200, 0, 0)
_HAZARD_YELLOW: RGB = (255, 214, 0)


def _text(
    pdf: FPDF,
    x: float,
    y: float,
    text: str,
    *,
    size: float,
    colour: RGB = DARK,
    width: float = 0,
    align: str = "L",
) -> None:
    """One line of text whose top edge is at y: placed as fpdf2's ``cell`` of that line's
    height would place it (its cell margin on the left, or centred in ``width``), written with
    ``text``, which costs a third of ``cell`` and is paid 15 times per label."""
    pdf.set_font(FONT, size=size)
    pdf.set_text_color(*colour)
    height = size * 0.3528 * 1.15
    left = x + (width - pdf.get_string_width(text)) / 2 if align == "C" else x + pdf.c_margin
    pdf.text(left, y + 0.5 * height + 0.3 * pdf.font_size, text)


_measuring = threading.Lock()


@lru_cache(maxsize=1)
def _measurer() -> FPDF:
    """A page of its own to measure text on: the labels of a batch mostly share their origin
    and department, so their line breaks are worked out once, not once per label."""
    pdf = FPDF(unit="mm")
    pdf.add_font(FONT, fname=font_path())
    pdf.add_page()
    return pdf


@lru_cache(maxsize=1024)
def _fit_lines(
    text: str, width: float, sizes: tuple[float, ...], max_lines: int
) -> tuple[float, tuple[str, ...]]:
    """Largest font size at which text fits in max_lines; otherwise the last size, truncated."""
    with _measuring:
        pdf = _measurer()
        lines: list[str] = []
        size = sizes[-1]
        for size in sizes:
            pdf.set_font(FONT, size=size)
            lines = cast(
                list[str],
                pdf.multi_cell(
                    w=width, h=5, text=text, dry_run=True, output=MethodReturnValue.LINES
                ),
            )
            if len(lines) <= max_lines:
                return size, tuple(lines)
        kept = lines[:max_lines]
        last = kept[-1]
        while last and pdf.get_string_width(last + "…") > width:
            last = last[:-1]
        kept[-1] = last.rstrip() + "…"
        return size, tuple(kept)


def _colour(rgb: RGB) -> str:
    return " ".join(f"{v / 255:.4g}" for v in rgb)


def _circle(cx: float, cy: float, r: float) -> str:
    """A circle as four cubic Bezier arcs."""
    k = r * 0.5523
    return (
        f"{cx + r:.4f} {cy:.4f} m "
        f"{cx + r:.4f} {cy + k:.4f} {cx + k:.4f} {cy + r:.4f} {cx:.4f} {cy + r:.4f} c "
        f"{cx - k:.4f} {cy + r:.4f} {cx - r:.4f} {cy + k:.4f} {cx - r:.4f} {cy:.4f} c "
        f"{cx - r:.4f} {cy - k:.4f} {cx - k:.4f} {cy - r:.4f} {cx:.4f} {cy - r:.4f} c "
        f"{cx + k:.4f} {cy - r:.4f} {cx + r:.4f} {cy - k:.4f} {cx + r:.4f} {cy:.4f} c h"
    )


def _polygon(points: Sequence[tuple[float, float]]) -> str:
    (x0, y0), *rest = points
    return " ".join([f"{x0:.4f} {y0:.4f} m", *(f"{x:.4f} {y:.4f} l" for x, y in rest), "h"])


def _biohazard(cx: float, cy: float, radius: float, background: RGB) -> str:
    """Path operators of the biohazard symbol (Baldwin 1966 proportions, outer radius about
    29 units) in black on background."""
    u = radius / 29.0
    axes = [math.radians(a) for a in (-90.0, 30.0, 150.0)]

    def at(angle: float, distance: float) -> tuple[float, float]:
        return cx + distance * u * math.cos(angle), cy + distance * u * math.sin(angle)

    lobes = [_circle(*at(angle, 11.0), 15.0 * u) for angle in axes]
    holes = [_circle(*at(angle, 15.0), 10.5 * u) for angle in axes]
    holes.append(_circle(cx, cy, 3.0 * u))
    for angle in axes:
        normal = angle + math.pi / 2
        half = 0.5 * u
        dx, dy = half * math.cos(normal), half * math.sin(normal)
        ax, ay = at(angle, 2.0)
        bx, by = at(angle, 5.0)
        holes.append(
            _polygon(
                [(ax - dx, ay - dy), (bx - dx, by - dy), (bx + dx, by + dy), (ax + dx, ay + dy)]
            )
        )

    ring_mid, ring_half, gap = 12.25, 1.75, 1.0
    inner_centres = [(15.0 * math.cos(a), 15.0 * math.sin(a)) for a in axes]

    def visible(theta: float) -> bool:
        px, py = ring_mid * math.cos(theta), ring_mid * math.sin(theta)
        return any(math.hypot(px - qx, py - qy) < 10.5 - gap for qx, qy in inner_centres)

    ring: list[str] = []
    steps = 360
    flags = [visible(2 * math.pi * i / steps) for i in range(steps)]
    i = 0
    while i < steps:
        if not flags[i]:
            i += 1
            continue
        j = i
        while j < steps and flags[j]:
            j += 1
        thetas = [2 * math.pi * k / steps for k in range(i, j)]
        outer = [at(t, ring_mid + ring_half) for t in thetas]
        inner = [at(t, ring_mid - ring_half) for t in reversed(thetas)]
        ring.append(_polygon([*outer, *inner]))
        i = j
    return " ".join(
        ["0 g", *lobes, "f", f"{_colour(background)} rg", *holes, "f", "0 g", *ring, "f"]
    )


@lru_cache(maxsize=1)
def _hazard_sign_ops() -> str:
    """A yellow warning triangle of side 1, black border, the biohazard symbol inside."""
    height = math.sqrt(3) / 2
    triangle = _polygon([(0.5, 0.0), (1.0, height), (0.0, height)])
    symbol = _biohazard(0.5, height * 0.64, 0.24, _HAZARD_YELLOW)
    return f"{_colour(_HAZARD_YELLOW)} rg 0 G 0.06 w {triangle} B {symbol}"


def _hazard_sign(pdf: FPDF, x: float, y: float, side: float) -> None:
    """The hazard sign with its top-left corner at (x, y); the geometry is computed once and
    placed by a transform."""
    paint(pdf, _hazard_sign_ops(), x=x, y=y, scale=side)


def _format_date(moment: datetime, tz: tzinfo | None) -> str:
    local = moment.astimezone(tz) if tz is not None else moment
    return local.strftime("%Y-%m-%d %H:%M")


def _cell(pdf: FPDF, label: LabelInfo, x: float, y: float, tz: tzinfo | None) -> None:
    style = CATEGORY_STYLES[label.category]
    inner_w = _CELL_W

    # Background: category band on top, notice strip at the bottom, both inside the rounded
    # outline, which is drawn last (red and heavier for epidemic waste).
    notice_y = y + _CELL_H - _NOTICE_H
    pdf.set_fill_color(*style.colour)
    pdf.rect(x, y, inner_w, _CELL_H, style="F", round_corners=True, corner_radius=_CORNER)
    pdf.set_fill_color(0, 0, 0)
    top = notice_y - 2 * _CORNER
    pdf.rect(
        x, top, inner_w, y + _CELL_H - top, style="F", round_corners=True, corner_radius=_CORNER
    )
    pdf.set_fill_color(*WHITE)
    pdf.rect(x, y + _BAND_H, inner_w, notice_y - y - _BAND_H, style="F")
    _text(pdf, x + 3, y + 2.2, style.name_zh, size=17, colour=style.text_colour)
    zh_w = pdf.get_string_width(style.name_zh)
    _text(pdf, x + 3 + zh_w + 2.5, y + 3.4, style.name_en, size=12.5, colour=style.text_colour)
    if label.epidemic:
        pdf.set_font(FONT, size=9)
        badge_w = pdf.get_string_width(EPIDEMIC_MARK) + 4
        bx, by = x + inner_w - badge_w - 2.5, y + 2.5
        pdf.set_fill_color(*WHITE)
        pdf.set_draw_color(*_EPIDEMIC_RED)
        pdf.set_line_width(0.6)
        pdf.rect(bx, by, badge_w, _BAND_H - 5, style="DF", round_corners=True, corner_radius=1)
        _text(
            pdf,
            bx,
            by + 0.9,
            EPIDEMIC_MARK,
            size=9,
            colour=_EPIDEMIC_RED,
            width=badge_w,
            align="C",
        )

    # QR code, quiet zone included.
    qr_x, qr_y = x + 1.0, y + _BAND_H + 0.5
    qr_vector(pdf, label.payload, qr_x, qr_y, _QR_SIZE)

    # Right-hand column.
    col_x = qr_x + _QR_SIZE + 1.0
    col_w = x + inner_w - 2.5 - col_x
    line_y = y + _BAND_H + 1.8
    sign_side = 12.0
    _hazard_sign(pdf, col_x, line_y, sign_side)
    _text(pdf, col_x + sign_side + 2, line_y - 0.3, "医疗废物", size=10.5)
    _text(pdf, col_x + sign_side + 2, line_y + 4.5, "MEDICAL WASTE", size=7.5)
    line_y += sign_side * math.sqrt(3) / 2 + 1.6

    def field(caption: str, value: str, max_lines: int, sizes: tuple[float, ...]) -> None:
        nonlocal line_y
        _text(pdf, col_x, line_y, caption, size=6, colour=_GREY)
        line_y += 2.7
        size, lines = _fit_lines(value or "—", col_w, sizes, max_lines)
        for line in lines:
            _text(pdf, col_x, line_y, line, size=size)
            line_y += size * 0.3528 * 1.25
        line_y += 0.9

    field("产生单位 Origin", label.origin_name, 2, (8.5, 7.5, 6.5))
    field("科室 Department", label.department, 1, (8.5, 7.5, 6.5))
    _text(pdf, col_x, line_y + 0.7, "日期 Date", size=6, colour=_GREY)
    _text(pdf, col_x + 11, line_y, _format_date(label.created_at, tz), size=8.5)
    line_y += 4.6
    _text(pdf, col_x, line_y, "编码 Code", size=6, colour=_GREY)
    _text(pdf, col_x, line_y + 2.4, short_code(label.container_id), size=15)

    # Biohazard notice strip, and the full container id under the QR code (outside its quiet zone).
    _text(
        pdf,
        x,
        notice_y + 1.35,
        BIOHAZARD_NOTICE,
        size=8.5,
        colour=_HAZARD_YELLOW,
        width=inner_w,
        align="C",
    )
    _text(
        pdf,
        qr_x,
        qr_y + _QR_SIZE,
        label.container_id,
        size=5.5,
        colour=_GREY,
        width=_QR_SIZE,
        align="C",
    )

    pdf.set_draw_color(*(_EPIDEMIC_RED if label.epidemic else DARK))
    pdf.set_line_width(1.0 if label.epidemic else 0.4)
    pdf.rect(x, y, inner_w, _CELL_H, style="D", round_corners=True, corner_radius=_CORNER)


def _document(title: str, page: str | tuple[float, float]) -> FPDF:
    pdf = FPDF(orientation="P" if page == "A4" else "L", unit="mm", format=page)
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(0, 0, 0)
    pdf.set_creator("medwaste")
    pdf.set_title(title)
    pdf.set_lang("zh-CN")
    pdf.add_font(FONT, fname=font_path())
    return pdf


def _check_count(labels: Sequence[LabelInfo]) -> None:
    if not labels:
        raise ValueError("no labels to print")
    if len(labels) > MAX_LABELS_PER_SHEET:
        raise ValueError(f"at most {MAX_LABELS_PER_SHEET} labels per sheet, got {len(labels)}")


def label_sheet_pdf(labels: Sequence[LabelInfo], *, tz: tzinfo | None = None) -> bytes:
    """A printable A4 PDF of label cells, 8 per page. ``tz``: show dates in this zone."""
    _check_count(labels)
    pdf = _document("医疗废物标签 Medical waste labels", "A4")
    per_page = _COLS * _ROWS
    pages = (len(labels) + per_page - 1) // per_page
    for index, label in enumerate(labels):
        slot = index % per_page
        if slot == 0:
            pdf.add_page()
            page = index // per_page + 1
            _text(
                pdf,
                _MARGIN_X,
                _PAGE_H - _MARGIN_Y + 3.5,
                f"医疗废物标签 Medical waste labels · {page}/{pages}",
                size=6.5,
                colour=_GREY,
            )
        row, col = divmod(slot, _COLS)
        x = _MARGIN_X + col * (_CELL_W + _GUTTER_X)
        y = _MARGIN_Y + row * (_CELL_H + _GUTTER_Y)
        _cell(pdf, label, x, y, tz)
    return bytes(pdf.output())


# Thermal label stock: one label per page, as the roll printers hospitals use print them.
# 100 x 70 mm takes the sheet's cell whole; 60 x 40 mm the QR code, category, code and sign.
THERMAL_STOCKS = {"100x70": (100.0, 70.0), "60x40": (60.0, 40.0)}


def _small_cell(pdf: FPDF, label: LabelInfo, tz: tzinfo | None) -> None:
    width, height = THERMAL_STOCKS["60x40"]
    style = CATEGORY_STYLES[label.category]
    band = 7.5
    pdf.set_fill_color(*style.colour)
    pdf.rect(0, 0, width, band, style="F")
    _text(pdf, 2, 1.2, style.name_zh, size=12, colour=style.text_colour)
    zh_w = pdf.get_string_width(style.name_zh)
    pdf.set_font(FONT, size=7)
    mark_w = pdf.get_string_width(EPIDEMIC_MARK) + 2
    pdf.set_font(FONT, size=8)
    room = width - 2 - (mark_w + 2.5 if label.epidemic else 0)
    if 2 + zh_w + 1.5 + pdf.get_string_width(style.name_en) <= room:  # else Chinese alone
        _text(pdf, 2 + zh_w + 1.5, 2.0, style.name_en, size=8, colour=style.text_colour)
    if label.epidemic:
        pdf.set_fill_color(*WHITE)
        pdf.rect(width - mark_w - 1.2, 1.5, mark_w, band - 3, style="F")
        _text(
            pdf,
            width - mark_w - 1.2,
            2.0,
            EPIDEMIC_MARK,
            size=7,
            colour=_EPIDEMIC_RED,
            width=mark_w,
            align="C",
        )
    qr_size = height - band - 0.6
    qr_vector(pdf, label.payload, 0.3, band + 0.3, qr_size)
    col_x = qr_size + 1.2
    sign_side = 8.0
    _hazard_sign(pdf, col_x, band + 1.2, sign_side)
    _text(pdf, col_x + sign_side + 1, band + 1.4, "医疗废物", size=7)
    _text(pdf, col_x, band + 9.5, "编码 Code", size=5, colour=_GREY)
    _text(pdf, col_x, band + 11.5, short_code(label.container_id), size=10.5)
    _text(pdf, col_x, band + 17.5, _format_date(label.created_at, tz), size=6)
    size, lines = _fit_lines(label.origin_name or "—", width - col_x - 1, (6, 5.5, 5), 2)
    for i, line in enumerate(lines):
        _text(pdf, col_x, band + 21 + i * size * 0.3528 * 1.25, line, size=size)
    pdf.set_draw_color(*(_EPIDEMIC_RED if label.epidemic else DARK))
    pdf.set_line_width(0.6 if label.epidemic else 0.3)
    pdf.rect(0.15, 0.15, width - 0.3, height - 0.3, style="D")


def label_thermal_pdf(
    labels: Sequence[LabelInfo], *, stock: str, tz: tzinfo | None = None
) -> bytes:
    """One label per page on thermal roll stock (``100x70`` or ``60x40`` millimetres)."""
    _check_count(labels)
    width, height = THERMAL_STOCKS[stock]
    pdf = _document(f"医疗废物标签 Medical waste labels {stock} mm", (height, width))
    for label in labels:
        pdf.add_page()
        if stock == "60x40":
            _small_cell(pdf, label, tz)
        else:
            _cell(pdf, label, (width - _CELL_W) / 2, (height - _CELL_H) / 2, tz)
    return bytes(pdf.output())
