"""The printable transfer manifest (医疗废物转移联单), bilingual, A4, with an embedded CJK font.

Laid out as a regulator files it: the three parties, the vehicle and driver, the waste declared
by its codes in the 国家危险废物名录, the containers with their weights, discrepancies, a seal
and signature box per party, and a QR code with the digest of the record it was printed from.
Every table cell wraps within its column and a table continued on the next page repeats its
heading row. A field the record does not hold (an organization without an address or phone, a
trip without its driver's licence or permit number) is left blank to fill in by hand.

Uses the same embedded Noto Sans SC, category names and QR drawing as the label sheets
(:mod:`service.printing`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import cast

from fpdf import FPDF, FontFace
from fpdf.enums import MethodReturnValue, TableCellFillMode, XPos, YPos

from schemas.manifests import Discrepancies, ManifestContainer, ManifestPublic, SignaturePublic
from service.jurisdictions import local_time
from service.manifests.waste_codes import WASTE_CLASS, WASTE_CODES
from service.printing import CATEGORY_STYLES, FONT, font_path, qr_vector

_W = 190.0  # printable width in mm (A4 with 10 mm margins)
_LEFT = 10.0
_BLANK_ROW = 11.0  # room to write an address or a phone number by hand
_QR_SIZE = 30.0
_SIGN_BOX_HEIGHT = 44.0
_SEAL = 22.0  # side of the square left for a party's seal
_HEADING_HEIGHT = 10.0  # doc.heading(): space above, the band, space below

_STATE_NAMES = {
    "open": "待发 Open",
    "in_transit": "运输中 In transit",
    "received": "已接收 Received",
    "closed": "已关闭 Closed",
}
_PARTY_NAMES = {
    "origin": "移出单位 Origin",
    "transporter": "运输单位 Transporter",
    "destination": "接收单位 Destination",
}
_PARTIES = ("origin", "transporter", "destination")

_HEADINGS = FontFace(family=FONT, emphasis="", fill_color=(235, 235, 235))

# Column widths in mm; each table's add up to _W.
PARTY_COLUMNS = (26.0, 62.0, 16.0, 30.0, 36.0, 20.0)
_VEHICLE_COLUMNS = (32.0, 54.0, 52.0, 52.0)
_WASTE_COLUMNS = (25.0, 20.0, 19.0, 34.0, 28.0, 14.0, 25.0, 25.0)
_CONTAINER_COLUMNS = (24.0, 30.0, 32.0, 22.0, 22.0, 22.0, 38.0)


def _when(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %z") if moment else "—"


def _local(moment: datetime | None, tz: tzinfo) -> str:
    """A time in a table cell, local to the origin (the header states the UTC offset)."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _kg(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "—"


def _category(code: str) -> str:
    style = CATEGORY_STYLES.get(code)
    return f"{style.name_zh} {style.name_en}" if style else code


class _Doc:
    def __init__(self) -> None:
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_margins(_LEFT, 10, 10)
        pdf.set_auto_page_break(auto=True, margin=12)
        pdf.set_creator("medwaste")
        pdf.set_lang("zh-CN")
        pdf.add_font(FONT, fname=font_path())
        pdf.add_page()
        self.pdf = pdf

    def line(self, text: str, *, size: float = 9, height: float = 5, align: str = "L") -> None:
        self.pdf.set_font(FONT, size=size)
        self.pdf.multi_cell(
            w=_W, h=height, text=text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def heading(self, text: str) -> None:
        self.pdf.ln(2)
        self.pdf.set_fill_color(220, 220, 220)
        self.pdf.set_font(FONT, size=10.5)
        self.pdf.cell(w=_W, h=6.5, text=text, fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(1)

    def table(
        self,
        widths: Sequence[float],
        heading: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        min_height: float | None = None,
        size: float = 8,
    ) -> None:
        """A bordered table whose cells wrap within their column, rows as tall as their
        tallest cell, the heading row repeated on each page the table runs onto."""
        self.pdf.set_font(FONT, size=size)
        self.pdf.set_fill_color(255, 255, 255)  # the body's cells: no shading left over
        with self.pdf.table(
            col_widths=widths,
            width=sum(widths),
            align="LEFT",
            line_height=size * 0.5,
            text_align="LEFT",
            headings_style=_HEADINGS,
            cell_fill_mode=TableCellFillMode.NONE,
            repeat_headings=1,
            padding=1,
        ) as table:
            table.row(heading)
            for cells in rows:
                table.row(cells, min_height=min_height)
        self.pdf.ln(1)


# A position of the trip's track, as the driver's phone recorded it: when, latitude, longitude.
RoutePoint = tuple[datetime, float, float]
_SKETCH_H = 60.0  # mm


def manifest_pdf(view: ManifestPublic, check_url: str, route: Sequence[RoutePoint] = ()) -> bytes:
    """The manifest as a PDF; ``check_url`` is where its QR code leads (the page that checks
    the copy), ``route`` the positions of the trip's track in time order (sketched; none:
    said so)."""
    tz: tzinfo = local_time(view.origin.jurisdiction)
    doc = _Doc()
    pdf = doc.pdf
    pdf.set_title(f"医疗废物转移联单 Transfer manifest {view.number}")
    by_party = {s.party.value: s for s in view.signatures}

    doc.line("医疗废物转移联单", size=17, height=9, align="C")
    doc.line("Medical Waste Transfer Manifest", size=12, height=6, align="C")
    pdf.ln(2)
    doc.line(f"联单编号 Manifest number: {view.number}", size=11, height=6)
    offset = view.created_at.astimezone(tz).strftime("%z")
    doc.line(
        f"状态 State: {_STATE_NAMES.get(view.state, view.state)}    "
        f"表中时间为移出地当地时间 Times in tables are local to the origin (UTC{offset})"
    )
    doc.line(
        f"创建 Created: {_when(view.created_at, tz)}    "
        f"发运 Dispatched: {_when(view.dispatched_at, tz)}"
    )
    doc.line(
        f"接收 Received: {_when(view.received_at, tz)}    关闭 Closed: {_when(view.closed_at, tz)}"
    )

    doc.heading("单位 Parties")
    doc.table(
        PARTY_COLUMNS,
        ["", "名称 Name", "辖区 Region", "许可证 Licence", "地址 Address", "电话 Phone"],
        [
            [
                _PARTY_NAMES[key],
                party.name,
                party.jurisdiction,
                party.license_number or "—",
                party.address or "",
                party.phone or "",
            ]
            for key, party in zip(
                _PARTIES, (view.origin, view.transporter, view.destination), strict=True
            )
        ],
        min_height=_BLANK_ROW,
    )

    doc.heading("运输 Transport")
    driver = by_party.get("transporter")
    doc.table(
        _VEHICLE_COLUMNS,
        [
            "车牌号 Vehicle plate",
            "驾驶员 Driver",
            "驾驶证号 Driving licence no.",
            "运输许可证号 Transport permit no.",
        ],
        [
            [
                view.vehicle_plate,
                view.driver_name or (driver.printed_name if driver else ""),
                view.driver_licence_number or "",
                view.transport_permit_number or "",
            ]
        ],
        min_height=_BLANK_ROW,
    )

    doc.heading("废物 Waste (国家危险废物名录 2021)")
    doc.table(
        _WASTE_COLUMNS,
        [
            "类别 Category",
            "废物代码 Code",
            "废物类别 Class",
            "危险特性 Hazard",
            "包装 Package",
            "件数 Count",
            "收集kg Collected",
            "接收kg Received",
        ],
        _waste_rows(view.containers),
    )

    doc.heading("容器 Containers")
    doc.table(
        _CONTAINER_COLUMNS,
        [
            "编码 Code",
            "类别 Category",
            "收运 Picked up",
            "收集kg Coll.",
            "收运kg Pickup",
            "接收kg Recv.",
            "接收 Received",
        ],
        [
            [
                c.short_code,
                _category(c.category) + (" *" if c.epidemic else ""),
                _local(c.picked_up_at, tz),
                _kg(c.collection_weight_kg),
                _kg(c.pickup_weight_kg),
                _kg(c.receipt_weight_kg),
                _local(c.received_at, tz),
            ]
            for c in view.containers
        ],
    )
    if any(c.epidemic for c in view.containers):
        doc.line("* 涉疫废物 epidemic waste", size=7.5)
    totals = view.totals
    doc.line(
        f"合计 Totals: {totals.containers} 件 containers, 已接收 received "
        f"{totals.received_containers}; 收集重量 collection weight "
        f"{totals.collection_weight_kg:.2f} kg, 接收重量 receipt weight "
        f"{totals.receipt_weight_kg:.2f} kg"
    )

    doc.heading("差异 Discrepancies")
    for text in _discrepancy_lines(view.discrepancies, view):
        doc.line(text)

    doc.heading("行驶轨迹 Route")
    if not route:
        doc.line("未记录轨迹 No track recorded for this trip")
    else:
        doc.line(
            f"司机手机记录 {len(route)} 个位置 {len(route)} positions recorded by the driver's "
            f"phone, {_when(route[0][0], tz)} to {_when(route[-1][0], tz)}"
        )
        _sketch(pdf, route)

    _signature_boxes(doc, by_party, tz)
    _verification(doc, check_url, view.content_sha256)
    return bytes(pdf.output())


def _sketch(pdf: FPDF, route: Sequence[RoutePoint]) -> None:
    """The route as a line in a box (equirectangular, north up): a dot at the start, a square
    at the end."""
    if pdf.get_y() + _SKETCH_H + 4 > pdf.h - 12:
        pdf.add_page()
    top, left = pdf.get_y() + 2, pdf.l_margin
    pdf.set_draw_color(160, 160, 160)
    pdf.set_line_width(0.2)
    pdf.rect(left, top, _W, _SKETCH_H)
    lats = [p[1] for p in route]
    k = math.cos(math.radians(sum(lats) / len(lats)))
    xs = [p[2] * k for p in route]
    span = max(max(xs) - min(xs), max(lats) - min(lats), 0.005)
    scale = min(_W - 10, _SKETCH_H - 10) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(lats) + min(lats)) / 2
    points = [
        (left + _W / 2 + (x - cx) * scale, top + _SKETCH_H / 2 - (lat - cy) * scale)
        for x, lat in zip(xs, lats, strict=True)
    ]
    pdf.set_draw_color(61, 111, 182)
    pdf.set_line_width(0.6)
    if len(points) > 1:
        pdf.polyline(points)
    pdf.set_fill_color(11, 93, 75)
    pdf.circle(x=points[0][0], y=points[0][1], radius=1.4, style="F")
    pdf.rect(points[-1][0] - 1.2, points[-1][1] - 1.2, 2.4, 2.4, style="F")
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(top + _SKETCH_H + 2)


def _waste_rows(containers: Sequence[ManifestContainer]) -> list[list[str]]:
    """One row per category on the manifest, in the 名录's order, then any category it lacks."""
    order = [*WASTE_CODES, *sorted({c.category for c in containers} - WASTE_CODES.keys())]
    rows: list[list[str]] = []
    for category in order:
        mine = [c for c in containers if c.category == category]
        if not mine:
            continue
        code = WASTE_CODES.get(category)
        received = [c.receipt_weight_kg for c in mine if c.receipt_weight_kg is not None]
        rows.append(
            [
                _category(category),
                code.code if code else "—",
                WASTE_CLASS if code else "—",
                code.characteristic if code else "—",
                code.package if code else "—",
                str(len(mine)),
                f"{sum(c.collection_weight_kg or 0 for c in mine):.2f}",
                f"{sum(received):.2f}" if received else "—",
            ]
        )
    return rows


def _signature_boxes(doc: _Doc, by_party: dict[str, SignaturePublic], tz: tzinfo) -> None:
    """A box per party for its seal and signature, holding the signature recorded."""
    pdf = doc.pdf
    gap = 2.0
    width = (_W - 2 * gap) / 3
    texts = []
    for key in _PARTIES:
        signature = by_party.get(key)
        texts.append(
            f"签字人 Signed by: {signature.printed_name}\n时间 At: {_when(signature.signed_at, tz)}"
            if signature
            else "签字人 Signed by:\n时间 At:"
        )
    pdf.set_font(FONT, size=8)
    text_height = 4 * max(
        len(
            cast(
                list[str],
                pdf.multi_cell(
                    w=width - 4,
                    h=4,
                    text=t,
                    align="L",
                    dry_run=True,
                    output=MethodReturnValue.LINES,
                ),
            )
        )
        for t in texts
    )
    # Title, the signature's lines, then the seal square in the bottom right-hand corner.
    height = max(_SIGN_BOX_HEIGHT, 7.5 + text_height + 2 + _SEAL + 2)
    if pdf.will_page_break(height + _HEADING_HEIGHT):  # the heading stays with its boxes
        pdf.add_page()
    doc.heading("签字盖章 Signatures and seals")
    top = pdf.get_y()
    for index, (key, text) in enumerate(zip(_PARTIES, texts, strict=True)):
        x = _LEFT + index * (width + gap)
        pdf.set_draw_color(0, 0, 0)
        pdf.rect(x, top, width, height)
        pdf.set_xy(x + 2, top + 1.5)
        pdf.set_font(FONT, size=9)
        pdf.cell(w=width - 4, h=5, text=_PARTY_NAMES[key])
        pdf.set_xy(x + 2, top + 7.5)
        pdf.set_font(FONT, size=8)
        pdf.multi_cell(w=width - 4, h=4, text=text, align="L")
        pdf.set_draw_color(150, 150, 150)
        pdf.rect(x + width - _SEAL - 2, top + height - _SEAL - 2, _SEAL, _SEAL)
        pdf.set_xy(x + width - _SEAL - 2, top + height - _SEAL / 2 - 5)
        pdf.set_font(FONT, size=7)
        pdf.set_text_color(150, 150, 150)
        pdf.multi_cell(w=_SEAL, h=3.5, text="盖章\nSeal", align="C")
        pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_xy(_LEFT, top + height + 2)


def _verification(doc: _Doc, check_url: str, digest: str) -> None:
    """The QR code leading to the page that checks this copy, and the digest of the content
    printed."""
    pdf = doc.pdf
    if pdf.will_page_break(_QR_SIZE + _HEADING_HEIGHT):
        pdf.add_page()
    doc.heading("核验 Verification")
    top = pdf.get_y()
    qr_vector(pdf, check_url, _LEFT, top, _QR_SIZE)
    pdf.set_xy(_LEFT + _QR_SIZE + 4, top + 2)
    pdf.set_font(FONT, size=8)
    pdf.multi_cell(
        w=_W - _QR_SIZE - 4,
        h=4.5,
        text=(
            f"内容摘要 SHA-256: {digest}\n"
            "扫码核验: 无需登录, 页面显示打印时的联单记录是否与此摘要一致, 以及打印后记录的"
            "收运、接收、签字。"
            "Scan to check this copy without signing in: the page says whether the record, "
            "as it stood when this copy was printed, has this digest, and what was recorded "
            f"since.\n{check_url}"
        ),
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_y(max(pdf.get_y(), top + _QR_SIZE + 2))


def _discrepancy_lines(found: Discrepancies | None, view: ManifestPublic) -> list[str]:
    if found is None:
        return ["尚未计算 Not yet computed: computed when the destination signs."]
    if not found.any:
        return ["无差异 No discrepancies."]
    codes = {c.container_id: c.short_code for c in view.containers}
    lines: list[str] = []
    if found.missing.count:
        ids = ", ".join(codes.get(i, i) for i in found.missing.container_ids)
        lines.append(f"未接收 Not received ({found.missing.count}): {ids}")
    if found.unexpected.count:
        ids = ", ".join(found.unexpected.container_ids)
        lines.append(
            f"不在联单上 Received but not on the manifest ({found.unexpected.count}): {ids}"
        )
    for item in found.weight:
        lines.append(
            f"重量差异 Weight {codes.get(item.container_id, item.container_id)}: "
            f"{_kg(item.collection_weight_kg)} → {_kg(item.receipt_weight_kg)} kg "
            f"({item.difference_kg:+.2f} kg, {item.difference_pct}%)"
        )
    if found.total.flagged:
        lines.append(
            f"总重量差异 Total weight: {_kg(found.total.collection_weight_kg)} → "
            f"{_kg(found.total.receipt_weight_kg)} kg ({found.total.difference_kg:+.2f} kg)"
        )
    return lines
