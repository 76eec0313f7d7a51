"""The printable transfer manifest (医疗废物转移联单), bilingual, A4, with an embedded CJK font.

Uses the same embedded Noto Sans SC and category colours as the label sheets
(:mod:`service.printing`).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from schemas.manifests import Discrepancies, ManifestPublic, PartyPublic
from service.jurisdictions import local_time
from service.printing import CATEGORY_STYLES, FONT, font_path

_W = 190.0  # printable width in mm (A4 with 10 mm margins)

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


def _when(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %z") if moment else "—"


def _kg(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "—"


class _Doc:
    def __init__(self) -> None:
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_margins(10, 10, 10)
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
        self.pdf.set_fill_color(230, 230, 230)
        self.pdf.set_font(FONT, size=10.5)
        self.pdf.cell(w=_W, h=6.5, text=text, fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(1)

    def row(
        self, cells: list[str], widths: list[float], *, size: float = 8, bold: bool = False
    ) -> None:
        self.pdf.set_font(FONT, size=size)
        if bold:
            self.pdf.set_fill_color(245, 245, 245)
        for text, width in zip(cells, widths, strict=True):
            self.pdf.cell(w=width, h=5.5, text=text, border=1, fill=bold)
        self.pdf.ln(5.5)


def manifest_pdf(view: ManifestPublic) -> bytes:
    """The manifest as a PDF: number, parties, vehicle, containers, totals, discrepancies,
    signatures."""
    tz: tzinfo = local_time(view.origin.jurisdiction)
    doc = _Doc()
    pdf = doc.pdf
    pdf.set_title(f"医疗废物转移联单 Transfer manifest {view.number}")

    doc.line("医疗废物转移联单", size=17, height=9, align="C")
    doc.line("Medical Waste Transfer Manifest", size=12, height=6, align="C")
    pdf.ln(2)
    doc.line(f"联单编号 Manifest number: {view.number}", size=11, height=6)
    doc.line(f"状态 State: {_STATE_NAMES.get(view.state, view.state)}")
    doc.line(
        f"车牌号 Vehicle plate: {view.vehicle_plate}    "
        f"创建 Created: {_when(view.created_at, tz)}    "
        f"发运 Dispatched: {_when(view.dispatched_at, tz)}"
    )
    doc.line(
        f"接收 Received: {_when(view.received_at, tz)}    关闭 Closed: {_when(view.closed_at, tz)}"
    )

    doc.heading("单位 Parties")
    widths = [42.0, 78.0, 26.0, 44.0]
    doc.row(["", "名称 Name", "辖区 Region", "许可证 Licence"], widths, bold=True)
    parties: list[tuple[str, PartyPublic]] = [
        ("origin", view.origin),
        ("transporter", view.transporter),
        ("destination", view.destination),
    ]
    for key, party in parties:
        doc.row(
            [_PARTY_NAMES[key], party.name, party.jurisdiction, party.license_number or "—"],
            widths,
        )

    doc.heading("容器 Containers")
    widths = [24.0, 34.0, 34.0, 22.0, 22.0, 22.0, 32.0]
    doc.row(
        [
            "编码 Code",
            "类别 Category",
            "收运 Picked up",
            "收集kg Coll.",
            "收运kg Pickup",
            "接收kg Recv.",
            "接收 Received",
        ],
        widths,
        bold=True,
    )
    for c in view.containers:
        style = CATEGORY_STYLES.get(c.category)
        category = f"{style.name_zh} {style.name_en}" if style else c.category
        if c.epidemic:
            category += " *"
        doc.row(
            [
                c.short_code,
                category,
                _when(c.picked_up_at, tz)[:16],
                _kg(c.collection_weight_kg),
                _kg(c.pickup_weight_kg),
                _kg(c.receipt_weight_kg),
                _when(c.received_at, tz)[:16],
            ],
            widths,
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

    doc.heading("签字 Signatures")
    widths = [42.0, 60.0, 50.0, 38.0]
    doc.row(["", "签字人 Printed name", "时间 Signed at", "用户 User"], widths, bold=True)
    by_party = {s.party.value: s for s in view.signatures}
    for key in ("origin", "transporter", "destination"):
        signature = by_party.get(key)
        doc.row(
            [
                _PARTY_NAMES[key],
                signature.printed_name if signature else "未签 not signed",
                _when(signature.signed_at, tz) if signature else "—",
                str(signature.user_id)[:8] if signature else "—",
            ],
            widths,
        )
    return bytes(pdf.output())


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
