"""Label images are checked with independent tools: zxing-cpp reads the QR codes, resvg
rasterises the SVG, pdfium renders the PDF and extracts its text layer."""

import base64
import io
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pypdfium2 as pdfium
import pytest
import resvg_py
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from service.labels import render
from service.labels.render import (
    BIOHAZARD_NOTICE,
    EPIDEMIC_MARK,
    MAX_LABELS_PER_SHEET,
    LabelInfo,
    label_png,
    label_sheet_pdf,
    label_svg,
)
from service.labels.signing import generate_key, key_id_for, short_code, sign_label
from service.printing import CATEGORY_STYLES

CATEGORIES = ["infectious", "sharps", "pathological", "pharmaceutical", "chemical"]
HOHHOT = "呼和浩特市第一医院 Hohhot First Hospital"
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return generate_key()


def new_container_id() -> str:
    return base64.b32encode(os.urandom(16)).decode("ascii").rstrip("=").lower()


def make_label(
    key: Ed25519PrivateKey,
    *,
    category: str = "infectious",
    origin_name: str = HOHHOT,
    department: str = "感染科 Infectious Diseases",
    epidemic: bool = False,
) -> LabelInfo:
    container_id = new_container_id()
    return LabelInfo(
        payload=sign_label(container_id, key_id_for(key.public_key()), key),
        container_id=container_id,
        category=category,
        origin_name=origin_name,
        department=department,
        created_at=datetime(2026, 3, 4, 18, 30, tzinfo=UTC),
        epidemic=epidemic,
    )


def decode_all(image: Image.Image) -> list[zxingcpp.Barcode]:
    return [
        barcode
        for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        if barcode.valid
    ]


def test_png_decodes_to_the_exact_payload(key: Ed25519PrivateKey) -> None:
    payload = make_label(key).payload
    data = label_png(payload)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")

    image = Image.open(io.BytesIO(data))
    (barcode,) = decode_all(image)
    assert barcode.text == payload
    assert barcode.ec_level in {"M", "Q"}

    gray = image.convert("L")
    quiet = 4 * 8
    for x in range(gray.width):
        for y in (*range(quiet), *range(gray.height - quiet, gray.height)):
            assert gray.getpixel((x, y)) == 255, "quiet zone must be white"


def test_png_box_size_scales_the_image(key: Ed25519PrivateKey) -> None:
    payload = make_label(key).payload
    small = Image.open(io.BytesIO(label_png(payload, box_size=4)))
    large = Image.open(io.BytesIO(label_png(payload, box_size=12)))
    assert large.width == small.width * 3
    (barcode,) = decode_all(small)
    assert barcode.text == payload
    with pytest.raises(ValueError):
        label_png(payload, box_size=0)


def test_svg_is_valid_and_decodes_when_rasterised(key: Ed25519PrivateKey) -> None:
    payload = make_label(key).payload
    data = label_svg(payload)

    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    view_box = [float(v) for v in root.attrib["viewBox"].split()]
    assert view_box[0] == view_box[1] == 0
    assert view_box[2] == view_box[3]
    modules = int(view_box[2]) - 8  # 4-module quiet zone on each side
    assert modules >= 21 and (modules - 17) % 4 == 0, "a QR symbol is 17 + 4 * version modules"
    assert Image.open(io.BytesIO(label_png(payload, box_size=1))).width == modules + 8

    raster = resvg_py.svg_to_bytes(svg_string=data.decode("utf-8"), background="#ffffff", dpi=300)
    (barcode,) = decode_all(Image.open(io.BytesIO(bytes(raster))))
    assert barcode.text == payload


def test_label_info_validates() -> None:
    good = {
        "payload": "MW1.x.y.z",
        "container_id": "abcdefgh",
        "category": "sharps",
        "origin_name": "o",
        "department": "d",
        "created_at": datetime.now(UTC),
    }
    LabelInfo(**good)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LabelInfo(**{**good, "category": "radioactive"})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LabelInfo(**{**good, "created_at": datetime(2026, 1, 1)})  # type: ignore[arg-type]


def test_sheet_size_limits(key: Ed25519PrivateKey) -> None:
    with pytest.raises(ValueError):
        label_sheet_pdf([])
    label = make_label(key)
    with pytest.raises(ValueError):
        label_sheet_pdf([label] * (MAX_LABELS_PER_SHEET + 1))


@pytest.fixture(scope="module")
def sheet(key: Ed25519PrivateKey) -> tuple[list[LabelInfo], bytes]:
    labels = [
        make_label(
            key,
            category=CATEGORIES[i % len(CATEGORIES)],
            origin_name=HOHHOT if i % 2 == 0 else "Inner Mongolia People's Hospital " * 3,
            department="检验科" if i % 3 else "",
            epidemic=i in (1, 9),
        )
        for i in range(10)
    ]
    return labels, label_sheet_pdf(labels, tz=BEIJING)


def test_sheet_qr_codes_all_decode(sheet: tuple[list[LabelInfo], bytes]) -> None:
    labels, pdf = sheet
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 2
    found: list[str] = []
    for page in document:
        image = page.render(scale=200 / 72).to_pil()
        found += [barcode.text for barcode in decode_all(image)]
    assert sorted(found) == sorted(label.payload for label in labels)


def test_sheet_qr_codes_are_large_enough_to_scan(sheet: tuple[list[LabelInfo], bytes]) -> None:
    _, pdf = sheet
    page = pdfium.PdfDocument(pdf)[0]
    dpi = 200
    image = page.render(scale=dpi / 72).to_pil()
    for barcode in decode_all(image):
        xs = [barcode.position.top_left.x, barcode.position.top_right.x]
        width_mm = (max(xs) - min(xs)) / dpi * 25.4
        assert width_mm >= 35, "QR symbol should be at least 35 mm wide on the printed label"


def test_sheet_text_layer_is_bilingual(sheet: tuple[list[LabelInfo], bytes]) -> None:
    labels, pdf = sheet
    document = pdfium.PdfDocument(pdf)
    text = "\n".join(page.get_textpage().get_text_range() for page in document)
    compact = re.sub(r"\s+", "", text)

    for style in CATEGORY_STYLES.values():
        assert style.name_zh in text
        assert style.name_en in text
    assert "呼和浩特市第一医院" in text
    assert "检验科" in text
    assert re.sub(r"\s+", "", BIOHAZARD_NOTICE) in compact
    assert compact.count(re.sub(r"\s+", "", EPIDEMIC_MARK)) == 2
    for label in labels:
        assert short_code(label.container_id) in text
    assert "2026-03-05 02:30" in text  # 18:30 UTC shown in the requested zone (UTC+8)


def test_sheet_embeds_its_cjk_font(sheet: tuple[list[LabelInfo], bytes]) -> None:
    _, pdf = sheet
    assert re.search(rb"/FontFile[23]?\b", pdf), "CJK font must be embedded, not referenced"
    assert b"NotoSansSC" in pdf


def test_sheet_renders_chinese_glyphs(key: Ed25519PrivateKey) -> None:
    """The same cell with a Chinese and with an ASCII origin must differ where the text is."""
    chinese = make_label(key, origin_name="呼和浩特市", department="")
    pages = []
    for origin in ("呼和浩特市", "     "):
        label = LabelInfo(
            payload=chinese.payload,
            container_id=chinese.container_id,
            category=chinese.category,
            origin_name=origin,
            department="",
            created_at=chinese.created_at,
        )
        pages.append(
            pdfium.PdfDocument(label_sheet_pdf([label]))[0].render(scale=4).to_pil().convert("L")
        )
    with_text, without_text = pages
    diff = [a != b for a, b in zip(with_text.tobytes(), without_text.tobytes(), strict=True)]
    assert sum(diff) > 500, "Chinese origin name left no ink on the page"


def test_sheet_band_colours_follow_the_category(key: Ed25519PrivateKey) -> None:
    labels = [make_label(key, category=category) for category in CATEGORIES]
    scale = 4
    page = pdfium.PdfDocument(label_sheet_pdf(labels))[0].render(scale=scale).to_pil()
    px_per_mm = scale * 72 / 25.4
    colours = []
    for slot, category in enumerate(CATEGORIES):
        row, col = divmod(slot, render._COLS)
        x = render._MARGIN_X + col * (render._CELL_W + render._GUTTER_X) + render._CELL_W - 6
        y = render._MARGIN_Y + row * (render._CELL_H + render._GUTTER_Y) + 1.2
        pixel = page.getpixel((round(x * px_per_mm), round(y * px_per_mm)))
        assert isinstance(pixel, tuple)
        expected = CATEGORY_STYLES[category].colour
        assert all(abs(a - b) <= 3 for a, b in zip(pixel[:3], expected, strict=True)), category
        colours.append(expected)
    assert len(set(colours)) == len(CATEGORIES)
