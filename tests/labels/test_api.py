"""Label images and sheets over HTTP: they decode to the container's signed payload, and only
the containers a caller may see are printed."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
import resvg_py
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session

from service.auth.roles import Role
from service.organizations.models import OrgKind
from tests.conftest import FakeClock
from tests.custody.helpers import hospital, register
from tests.factories import login, make_org, make_user


def _decode(image: Image.Image) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_png_and_svg_decode_to_the_label_payload(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    png = client.get(f"/api/v1/containers/{c['id']}/label.png", headers=h.staff)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert _decode(Image.open(io.BytesIO(png.content))) == [c["qr_payload"]]

    svg = client.get(f"/api/v1/containers/{c['id']}/label.svg", headers=h.staff)
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    raster = resvg_py.svg_to_bytes(svg_string=svg.text, background="#ffffff", dpi=300)
    assert _decode(Image.open(io.BytesIO(bytes(raster)))) == [c["qr_payload"]]


def test_another_organizations_label_is_not_found(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    other = hospital(session, client)
    for suffix in ("png", "svg"):
        response = client.get(f"/api/v1/containers/{c['id']}/label.{suffix}", headers=other.staff)
        assert response.status_code == 404
    sheet = client.get(f"/api/v1/labels/sheet.pdf?ids={c['id']}", headers=other.staff)
    assert sheet.status_code == 404
    unknown = client.get("/api/v1/containers/nosuchcontainer0000/label.png", headers=h.staff)
    assert unknown.status_code == 404


def test_sheet_prints_every_label_of_a_batch_and_they_decode(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    response = client.post(
        "/api/v1/containers",
        json={"count": 9, "category": "sharps", "site_id": str(h.site.id), "department": "急诊"},
        headers=h.staff,
    )
    made = response.json()
    sheet = client.get(f"/api/v1/labels/sheet.pdf?batch_id={made['batch_id']}", headers=h.staff)
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "application/pdf"
    document = pdfium.PdfDocument(sheet.content)
    assert len(document) == 2  # 8 labels a page
    found: list[str] = []
    for page in document:
        found += _decode(page.render(scale=200 / 72).to_pil())
    assert sorted(found) == sorted(c["qr_payload"] for c in made["containers"])
    text = "".join(page.get_textpage().get_text_range() for page in document)
    assert h.org.name in text and "损伤性" in text


def test_sheet_by_ids_needs_every_id_visible(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    mine = register(client, h, count=2)
    other = hospital(session, client)
    [theirs] = register(client, other)
    ids = ",".join(c["id"] for c in mine)
    ok = client.get(f"/api/v1/labels/sheet.pdf?ids={ids}", headers=h.staff)
    assert ok.status_code == 200
    page = pdfium.PdfDocument(ok.content)[0]
    assert sorted(_decode(page.render(scale=200 / 72).to_pil())) == sorted(
        c["qr_payload"] for c in mine
    )
    mixed = client.get(f"/api/v1/labels/sheet.pdf?ids={ids},{theirs['id']}", headers=h.staff)
    assert mixed.status_code == 404
    assert theirs["id"] in mixed.json()["detail"]


def test_sheet_input_limits(client: TestClient, session: Session, clock: FakeClock) -> None:
    h = hospital(session, client)
    too_many = ",".join(f"c{i:08d}" for i in range(501))
    assert (
        client.get(f"/api/v1/labels/sheet.pdf?ids={too_many}", headers=h.staff).status_code == 422
    )
    assert client.get("/api/v1/labels/sheet.pdf", headers=h.staff).status_code == 422
    assert client.get("/api/v1/labels/sheet.pdf?batch_id=nope", headers=h.staff).status_code == 422


def test_a_regulator_prints_labels_in_the_jurisdiction(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    regulator = make_user(session, Role.regulator, make_org(session, OrgKind.regulator))
    response = client.get(
        f"/api/v1/containers/{c['id']}/label.png", headers=login(client, regulator)
    )
    assert response.status_code == 200


@pytest.mark.parametrize(("stock", "size_mm"), [("100x70", (100, 70)), ("60x40", (60, 40))])
def test_thermal_stock_prints_one_label_per_page_that_decodes(
    client: TestClient, session: Session, clock: FakeClock, stock: str, size_mm: tuple[int, int]
) -> None:
    h = hospital(session, client)
    made = client.post(
        "/api/v1/containers",
        json={
            "count": 3,
            "category": "pharmaceutical",
            "site_id": str(h.site.id),
            "epidemic": True,
        },
        headers=h.staff,
    ).json()
    printed = client.get(
        "/api/v1/labels/sheet.pdf",
        params={"batch_id": made["batch_id"], "stock": stock},
        headers=h.staff,
    )
    assert printed.status_code == 200, printed.text
    assert stock in printed.headers["content-disposition"]
    document = pdfium.PdfDocument(printed.content)
    assert len(document) == 3  # one label per page
    by_payload = {c["qr_payload"]: c for c in made["containers"]}
    printed_payloads = []
    for page in document:
        width, height = (round(v / 72 * 25.4) for v in page.get_size())
        assert (width, height) == size_mm
        [payload] = _decode(page.render(scale=300 / 72).to_pil())
        printed_payloads.append(payload)
        container = by_payload[payload]
        text = page.get_textpage().get_text_range()
        assert container["short_code"] in text
        assert "药物性" in text and "涉疫" in text
    assert sorted(printed_payloads) == sorted(by_payload)  # each bag once


def test_an_unknown_stock_is_a_problem(client: TestClient, session: Session) -> None:
    h = hospital(session, client)
    made = client.post(
        "/api/v1/containers",
        json={"count": 1, "category": "sharps", "site_id": str(h.site.id)},
        headers=h.staff,
    ).json()
    for stock in ("a5", "", "100X70"):
        r = client.get(
            "/api/v1/labels/sheet.pdf",
            params={"batch_id": made["batch_id"], "stock": stock},
            headers=h.staff,
        )
        assert r.status_code == 422, stock
        assert r.json()["errors"][0]["field"] == "query.stock"
