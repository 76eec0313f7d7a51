"""The page a printed manifest's QR code opens: the verdict on the copy in large type, what the
record holds now, and what was recorded after the copy was printed. Chinese and English side by
side, as on the paper; one self-contained HTML page (no script, no asset) for any phone."""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape

from schemas.manifests import ManifestVerification, Verdict
from service.jurisdictions import local_time
from service.manifests.models import ManifestState

_VERDICTS = {
    Verdict.matches: (
        "ok",
        "✓ 与记录一致 This copy matches the record",
        "打印时的联单记录与本联单所印摘要相同。"
        " The record, as it stood when this copy was printed, has the digest the copy prints.",
    ),
    Verdict.differs: (
        "bad",
        "✗ 与记录不符 This copy does NOT match the record",
        "本联单所印摘要与打印时的记录不同: 纸质联单可能被改动, 或不是此联单的副本。"
        "请联系生态环境主管部门。"
        " The digest printed on this copy is not the record's at the time it was printed: the"
        " paper may have been altered, or is not a copy of this manifest. Report it to the"
        " environment authority.",
    ),
    Verdict.unchecked: (
        "info",
        "请核对摘要 Compare the digest",
        "未提供纸质联单的摘要: 请将下方记录摘要与纸质联单上所印的 SHA-256 逐字核对。"
        " No printed digest was given: compare the record's digest below with the SHA-256"
        " printed on the paper.",
    ),
}
# The words the phone app and the dashboard use for a manifest's states.
_STATES = {
    ManifestState.open: "待出发 open",
    ManifestState.in_transit: "运输中 in transit",
    ManifestState.received: "已接收 received",
    ManifestState.closed: "已关闭 closed",
}
_CHANGES = {
    "pickup": "收运 picked up",
    "receipt": "接收 received",
    "correction": "更正 corrected",
    "signature": "签字 signed by",
}
_STYLE = """
body{font:16px/1.5 system-ui,"Noto Sans SC",sans-serif;margin:0 auto;max-width:40rem;padding:1rem}
h1{font-size:1.2rem}.verdict{border-radius:.5rem;padding:1rem;margin:1rem 0}
.ok{background:#e3f4e6;border:2px solid #2e7d32}.bad{background:#fde7e7;border:2px solid #c62828}
.info{background:#eef2f7;border:2px solid #5c6b7a}.verdict strong{font-size:1.3rem}
dt{color:#555;font-size:.85rem}dd{margin:0 0 .6rem}code{word-break:break-all;font-size:.9rem}
"""


def verification_page(check: ManifestVerification) -> str:
    zone = local_time(check.jurisdiction)
    css, title, explanation = _VERDICTS[check.verdict]
    # (caption, HTML)
    fields = [
        (caption, escape(value))
        for caption, value in (
            ("联单编号 Manifest no.", check.number),
            ("状态 State", _STATES[check.state]),
            ("产生单位 Origin", check.origin),
            ("运输单位 Transporter", check.transporter),
            ("接收单位 Destination", check.destination),
            ("车牌号 Vehicle plate", check.vehicle_plate),
            ("件数 Containers", str(check.containers)),
        )
    ]
    fields.append(("记录摘要 Record's SHA-256 now", _code(check.content_sha256)))
    if check.printed_sha256 is not None:
        fields.append(("联单所印摘要 Printed SHA-256", _code(check.printed_sha256)))
    if check.printed_at is not None:
        fields.append(("打印时间 Printed at", _when(check.printed_at, zone)))
    changes = "".join(
        f"<li>{_when(c.recorded_at, zone)} — {_CHANGES[c.change]} {escape(c.subject)}</li>"
        for c in check.changes_since
    )
    since = (
        f"<h2>打印后的记录 Recorded since the copy was printed</h2><ul>{changes}</ul>"
        if changes
        else ""
    )
    rows = "".join(f"<dt>{caption}</dt><dd>{value}</dd>" for caption, value in fields)
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(check.number)} — 联单核验 Manifest check</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>医疗废物转移联单核验 Medical waste transfer manifest check</h1>"
        f'<div class="verdict {css}" id="verdict" data-verdict="{check.verdict}">'
        f"<strong>{title}</strong><p>{explanation}</p></div>"
        f"<dl>{rows}</dl>{since}</body></html>"
    )


def _code(digest: str) -> str:
    return f"<code>{escape(digest)}</code>"


def _when(moment: datetime, zone: tzinfo) -> str:
    return escape(moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z").strip())
