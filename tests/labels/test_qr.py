"""service.qr makes the very symbol the ``qrcode`` package makes (ISO/IEC 18004: same
segments, version, lowest-penalty mask and modules), and every QR code printed from it reads
back, with zxing-cpp, as the label it is printed on."""

import io
import random
import string

import pypdfium2 as pdfium
import pytest
import qrcode
import qrcode.constants
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from service import qr
from service.custody.containers import new_container_id
from service.labels import render
from service.labels.render import LabelInfo, label_png, label_sheet_pdf, label_thermal_pdf
from service.labels.signing import generate_key, key_id_for, sign_label
from tests.labels.test_render import make_label

LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


def reference(payload: str | bytes, level: int) -> tuple[int, int, tuple[str, ...]]:
    """Version, mask and rows as the qrcode package makes them, scoring all eight masks."""
    code = qrcode.QRCode(error_correction=level, border=0)
    code.add_data(payload.encode("utf-8") if isinstance(payload, str) else payload)
    code.make(fit=True)
    rows = tuple("".join("1" if module else "0" for module in row) for row in code.modules)
    return code.version, code.best_mask_pattern(), rows


def assert_same_symbol(payload: str | bytes, level: int = qrcode.constants.ERROR_CORRECT_Q) -> None:
    symbol = qr.encode(payload, error_correction=level)
    version, mask, rows = reference(payload, level)
    assert (symbol.version, symbol.mask) == (version, mask), payload
    assert symbol.rows == rows, payload


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return generate_key()


def test_real_label_payloads_give_qrcodes_own_symbol(key: Ed25519PrivateKey) -> None:
    """Labels as the service signs them, and with container ids of other lengths and
    alphabets (digits and capitals make numeric and alphanumeric segments)."""
    rng = random.Random(18004)
    key_id = key_id_for(key.public_key())
    masks, versions = set(), set()
    ids = [new_container_id() for _ in range(120)]
    ids += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 90)))
        for alphabet in (string.ascii_lowercase + string.digits, string.digits, "ABCDEF0123")
        for _ in range(40)
    ]
    for container_id in ids:
        payload = sign_label(container_id, key_id, key)
        assert_same_symbol(payload)
        symbol = qr.encode(payload)
        masks.add(symbol.mask)
        versions.add(symbol.version)
    assert masks == set(range(8)), "every mask must have been chosen somewhere"
    assert len(versions) >= 4 and max(versions) >= 7, versions  # version information too


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_every_level_and_many_versions(level: str) -> None:
    rng = random.Random(level)
    for length in (0, 1, 17, 40, 100, 250, 600, 1200):
        assert_same_symbol(bytes(rng.randrange(256) for _ in range(length)), LEVELS[level])
        assert_same_symbol("".join(rng.choice(string.digits) for _ in range(length)), LEVELS[level])


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=300))
def test_any_payload_gives_qrcodes_own_symbol(payload: str | bytes) -> None:
    assert_same_symbol(payload)


def test_a_payload_too_long_for_any_version_is_refused() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        qr.encode(b"x" * 3000)


def test_dark_runs_cover_exactly_the_dark_modules(key: Ed25519PrivateKey) -> None:
    symbol = qr.encode(make_label(key).payload)
    painted = [["0"] * symbol.size for _ in range(symbol.size)]
    for row, first, length in symbol.dark_runs():
        assert length >= 1
        for column in range(first, first + length):
            assert painted[row][column] == "0", "runs must not overlap"
            painted[row][column] = "1"
    assert tuple("".join(row) for row in painted) == symbol.rows


def test_the_png_shows_the_same_symbol(key: Ed25519PrivateKey) -> None:
    payload = make_label(key).payload
    image = Image.open(io.BytesIO(label_png(payload, box_size=1))).convert("L")
    symbol = qr.encode(payload)
    border = (image.width - symbol.size) // 2
    assert border == 4
    pixels = [
        "".join(
            "1" if image.getpixel((border + c, border + r)) == 0 else "0"
            for c in range(symbol.size)
        )
        for r in range(symbol.size)
    ]
    assert tuple(pixels) == symbol.rows


def decoded(image: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found if barcode.valid]


@pytest.fixture(scope="module")
def batch(key: Ed25519PrivateKey) -> list[LabelInfo]:
    categories = ("infectious", "sharps", "pathological", "pharmaceutical", "chemical")
    return [make_label(key, category=categories[i % 5], epidemic=i % 7 == 0) for i in range(10)]


def test_each_a4_cell_reads_as_its_own_label(batch: list[LabelInfo]) -> None:
    """Every cell cut out of the rendered sheet holds one QR code: its own label's."""
    document = pdfium.PdfDocument(label_sheet_pdf(batch))
    scale = 200 / 72
    px = scale * 72 / 25.4
    per_page = render._COLS * render._ROWS
    for index, label in enumerate(batch):
        page_image = document[index // per_page].render(scale=scale).to_pil()
        row, col = divmod(index % per_page, render._COLS)
        x = render._MARGIN_X + col * (render._CELL_W + render._GUTTER_X)
        y = render._MARGIN_Y + row * (render._CELL_H + render._GUTTER_Y)
        cell = page_image.crop(
            (
                round(x * px),
                round(y * px),
                round((x + render._CELL_W) * px),
                round((y + render._CELL_H) * px),
            )
        )
        assert decoded(cell) == [label.payload], index


@pytest.mark.parametrize("stock", sorted(render.THERMAL_STOCKS))
def test_each_thermal_label_reads_as_its_own_label(batch: list[LabelInfo], stock: str) -> None:
    document = pdfium.PdfDocument(label_thermal_pdf(batch, stock=stock))
    assert len(document) == len(batch)
    for page, label in zip(document, batch, strict=True):
        assert decoded(page.render(scale=300 / 72).to_pil()) == [label.payload]
