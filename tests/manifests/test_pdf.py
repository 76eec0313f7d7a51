"""The printed transfer manifest (转移联单) as a regulator reads it: pdfium renders the PDF and
reads its text layer with each character's box; zxing reads the QR code off the rendered page."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdfium2 as pdfium
import rfc8785
from fastapi.testclient import TestClient
from sqlmodel import Session

from schemas.manifests import (
    ManifestContainer,
    ManifestPublic,
    ManifestTotals,
    PartyPublic,
    SignaturePublic,
)
from service.jurisdictions import local_time
from service.manifests.models import Party
from service.manifests.pdf import PARTY_COLUMNS, manifest_pdf
from tests.conftest import FakeClock
from tests.custody.helpers import register, scan
from tests.manifests.helpers import (
    Region,
    new_manifest,
    pickup,
    qr_codes,
    receive,
    region,
    sign,
)

MM = 72 / 25.4  # PDF points per millimetre
LEFT_MARGIN_MM = 10.0

LONG_NAMES = {
    "origin": "内蒙古自治区呼和浩特市赛罕区人民政府卫生健康委员会直属第一人民医院"
    "（内蒙古医科大学附属教学医院）东院区住院部医疗废物暂存间",
    "transporter": "内蒙古自治区呼和浩特市城发环境卫生服务集团有限公司危险废物专业运输分公司"
    "第三车队医疗废物收运专线（赛罕区、玉泉区、新城区）",
    "destination": "内蒙古自治区医疗废物集中处置中心（呼和浩特市固体废物处置有限责任公司）"
    "高温蒸汽灭菌及焚烧处置车间医疗废物接收、称重与登记站",
}


class Text:
    """A PDF's text layer, page by page, each character with its box in points."""

    def __init__(self, pdf: bytes) -> None:
        self.chars: list[tuple[int, str, tuple[float, float, float, float]]] = []
        for number, page in enumerate(pdfium.PdfDocument(pdf)):
            text_page = page.get_textpage()
            for index in range(text_page.count_chars()):
                char = text_page.get_text_range(index, 1)
                if char.strip():
                    self.chars.append((number, char, text_page.get_charbox(index)))
        self.joined = "".join(c for _, c, _ in self.chars)

    def pages(self, needle: str) -> list[int]:
        """The pages where the text occurs, whole, however its lines were broken."""
        key = "".join(needle.split())
        start, found = 0, []
        while (at := self.joined.find(key, start)) != -1:
            found.append(self.chars[at][0])
            start = at + 1
        return found

    def occurrences(self, needle: str) -> list[list[tuple[float, float, float, float]]]:
        """The character boxes of each occurrence of the text."""
        key = "".join(needle.split())
        found, start = [], 0
        while (at := self.joined.find(key, start)) != -1:
            found.append([box for _, _, box in self.chars[at : at + len(key)]])
            start = at + 1
        return found

    def boxes(self, needle: str) -> list[tuple[float, float, float, float]]:
        """The character boxes of the text's single occurrence."""
        found = self.occurrences(needle)
        assert found, f"{needle!r} not found whole in the text layer"
        assert len(found) == 1, f"{needle!r} printed more than once"
        return found[0]


def _column(index: int) -> tuple[float, float]:
    """The x-range, in points, of a column of the parties table."""
    left = LEFT_MARGIN_MM + sum(PARTY_COLUMNS[:index])
    return left * MM, (left + PARTY_COLUMNS[index]) * MM


def _inside(boxes: list[tuple[float, float, float, float]], column: tuple[float, float]) -> bool:
    return all(column[0] <= b[0] and b[2] <= column[1] for b in boxes)


def _rename(session: Session, r: Region) -> None:
    for key, org in (
        ("origin", r.hospital.org),
        ("transporter", r.transporter.org),
        ("destination", r.plant.org),
    ):
        org.name = LONG_NAMES[key]
        session.add(org)
    session.commit()


def _trip(client: TestClient, r: Region, clock: FakeClock) -> dict[str, Any]:
    """Two infectious containers and a sharps box, collected, picked up, signed by origin and
    transporter, received (one lighter) and signed by the destination."""
    containers = register(client, r.hospital, count=2) + register(
        client, r.hospital, count=1, category="sharps"
    )
    for c, weight in zip(containers, (4.0, 6.5, 1.25), strict=True):
        collect = scan(
            client, r.hospital.staff, c["qr_payload"], "collect", clock.now, weight_kg=weight
        )
        assert collect.status_code == 201, collect.text
        assert (
            scan(client, r.hospital.staff, c["qr_payload"], "store", clock.now).status_code == 201
        )
    manifest = new_manifest(client, r)
    clock.advance(minutes=5)
    for c in containers:
        assert pickup(client, r, manifest, c, clock.now).status_code == 201
    assert sign(client, r.hospital.staff, manifest, "origin").status_code == 200
    assert sign(client, r.transporter.headers, manifest, "transporter").status_code == 200
    clock.advance(minutes=5)
    for c, weight in zip(containers, (4.0, 6.0, 1.25), strict=True):
        assert receive(client, r, c, weight, clock.now).status_code == 201
    return manifest


def _pdf(client: TestClient, r: Region, manifest_id: str) -> bytes:
    response = client.get(f"/api/v1/manifests/{manifest_id}.pdf", headers=r.regulator.headers)
    assert response.status_code == 200, response.text
    content: bytes = response.content
    return content


def test_long_party_names_wrap_within_their_column(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    _rename(session, r)
    manifest = _trip(client, r, clock)
    text = Text(_pdf(client, r, manifest["id"]))
    licences = {
        "transporter": r.transporter.org.license_number,
        "destination": r.plant.org.license_number,
    }
    name_column, licence_column = _column(1), _column(3)
    bottoms = []
    for key, name in LONG_NAMES.items():
        assert len(name) >= 60
        boxes = text.boxes(name)
        # Whole, wrapped onto several lines, and every character inside the name column.
        assert len({round(b[1]) for b in boxes}) >= 2, f"{key}'s name did not wrap"
        assert _inside(boxes, name_column), f"{key}'s name runs out of its column"
        bottoms.append((min(b[1] for b in boxes), max(b[3] for b in boxes)))
        licence = licences.get(key)
        if licence:
            assert _inside(text.boxes(licence), licence_column)
    # Each party's row lies wholly below the previous one's: rows grow with their names.
    for (above_bottom, _), (_, below_top) in itertools.pairwise(bottoms):
        assert below_top < above_bottom
    # The fields the record does not hold are there to be filled in by hand.
    for label in ("地址 Address", "电话 Phone", "驾驶证号", "运输许可证号 Transport permit no."):
        assert text.pages(label), label


def test_the_manifest_declares_its_waste_by_code(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    manifest = _trip(client, r, clock)
    text = Text(_pdf(client, r, manifest["id"]))
    # One row per category: name, 名录 code, class, hazard, package, count, kg out and in.
    assert text.pages(
        "感染性 Infectious 841-001-01 HW01 医疗废物 In 感染性 包装袋 Bag 2 10.50 10.00"
    )
    assert text.pages(
        "损伤性 Sharps 841-002-01 HW01 医疗废物 In 感染性 利器盒 Sharps box 1 1.25 1.25"
    )
    assert not text.pages("841-003-01")  # no pathological waste on this trip
    assert text.pages("车牌号 Vehicle plate")
    assert text.pages("蒙A·12345")
    # The transporter's signatory is printed as the driver, and in the transporter's box.
    assert len(text.pages("transporter 签字人")) == 2


def test_signature_boxes_hold_the_recorded_signatures(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    manifest = _trip(client, r, clock)
    before = Text(_pdf(client, r, manifest["id"]))
    assert before.pages("接收单位 Destination 签字人 Signed by: 时间 At: 盖章 Seal")
    assert before.pages("移出单位 Origin 签字人 Signed by: origin 签字人")
    signed = sign(client, r.plant.headers, manifest, "destination").json()
    after = Text(_pdf(client, r, manifest["id"]))
    at = datetime.fromisoformat(signed["signatures"][-1]["signed_at"])
    local = at.astimezone(local_time("CN-15")).strftime("%Y-%m-%d %H:%M")
    assert after.pages(
        f"接收单位 Destination 签字人 Signed by: destination 签字人 时间 At: {local}"
    )


def _canonical_sha256(record: dict[str, Any]) -> str:
    """The digest as documented for a regulator to recompute from the record's JSON: the
    chosen fields, canonicalised by RFC 8785, SHA-256."""

    def pick(item: dict[str, Any], *fields: str) -> dict[str, Any]:
        return {f: item[f] for f in fields}

    def present(item: dict[str, Any], *fields: str) -> dict[str, Any]:
        return {f: item[f] for f in fields if item[f] is not None}

    content = {
        "number": record["number"],
        "vehicle_plate": record["vehicle_plate"],
        **present(record, "driver_name", "driver_licence_number", "transport_permit_number"),
        **{
            p: pick(record[p], "organization_id", "name", "license_number")
            | present(record[p], "address", "phone")
            for p in ("origin", "transporter", "destination")
        },
        "containers": sorted(
            (
                pick(
                    c,
                    "container_id",
                    "short_code",
                    "category",
                    "collection_weight_kg",
                    "pickup_weight_kg",
                    "receipt_weight_kg",
                )
                for c in record["containers"]
            ),
            key=lambda c: c["container_id"],
        ),
        "signatures": sorted(
            (pick(s, "party", "printed_name", "signed_at") for s in record["signatures"]),
            key=lambda s: s["party"],
        ),
    }
    return hashlib.sha256(rfc8785.dumps(content)).hexdigest()


def test_the_qr_code_leads_to_the_check_of_the_printed_digest(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    _rename(session, r)
    manifest = _trip(client, r, clock)
    record = client.get(f"/api/v1/manifests/{manifest['id']}", headers=r.regulator.headers).json()
    digest = _canonical_sha256(record)
    assert record["content_sha256"] == digest
    pdf = _pdf(client, r, manifest["id"])
    assert Text(pdf).pages(f"SHA-256: {digest}")
    printed_at = clock.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    check_url = (
        f"http://127.0.0.1:8000/verify/manifests/{manifest['id']}?sha256={digest}&at={printed_at}"
    )
    assert qr_codes(pdf) == [check_url]
    # The page it opens needs no sign-in and finds the copy true.
    page = client.get(check_url.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200
    assert 'data-verdict="matches"' in page.text

    # A signature added changes the record's content, and so its digest.
    clock.advance(minutes=1)
    sign(client, r.plant.headers, manifest, "destination")
    signed = client.get(f"/api/v1/manifests/{manifest['id']}", headers=r.regulator.headers).json()
    assert signed["content_sha256"] == _canonical_sha256(signed) != digest
    assert Text(_pdf(client, r, manifest["id"])).pages(f"SHA-256: {signed['content_sha256']}")


def test_recorded_contacts_and_transport_papers_are_printed_and_digested(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    r = region(session, client)
    contacts = [
        (r.hospital.org, "呼和浩特市赛罕区昭乌达路20号", "0471-3280000"),
        (r.transporter.org, "呼和浩特市新城区东二环路1号", "+86 471 6620000"),
    ]
    for org, address, phone in contacts:
        org.address, org.phone = address, phone
        session.add(org)
    session.commit()
    record = new_manifest(
        client,
        r,
        driver_name="张伟",
        driver_licence_number="150102198001011234",
        transport_permit_number="蒙交运管许可呼字150100001234号",
    )
    assert record["driver_name"] == "张伟"
    assert record["origin"]["phone"] == "0471-3280000"
    assert record["destination"]["address"] is None
    assert record["content_sha256"] == _canonical_sha256(record)
    text = Text(_pdf(client, r, record["id"]))
    for printed in (
        "呼和浩特市赛罕区昭乌达路20号",
        "0471-3280000",
        "+86 471 6620000",
        "张伟",
        "150102198001011234",
        "蒙交运管许可呼字150100001234号",
    ):
        assert text.pages(printed), printed


def _view(containers: int, *, category: str = "infectious") -> ManifestPublic:
    """A manifest view as manifest_view builds it, without a database."""
    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    party = [
        PartyPublic(
            organization_id=uuid.uuid4(),
            name=n,
            kind="k",
            jurisdiction="CN-15",
            license_number=None,
        )
        for n in ("医院", "运输公司", "处置中心")
    ]
    lines = [
        ManifestContainer(
            container_id=f"c-{i:04d}",
            short_code=f"SC{i:04d}",
            category=category,
            epidemic=False,
            state="in_transit",
            picked_up_at=at + timedelta(minutes=i),
            collection_weight_kg=None,
            pickup_weight_kg=None,
            received_at=None,
            receipt_weight_kg=None,
        )
        for i in range(containers)
    ]
    return ManifestPublic(
        id=uuid.uuid4(),
        number="CN15-2026-000001",
        state="open",
        origin_organization_id=party[0].organization_id,
        transporter_organization_id=party[1].organization_id,
        destination_organization_id=party[2].organization_id,
        vehicle_plate="蒙A·D1234",
        driver_user_id=None,
        created_by_user_id=uuid.uuid4(),
        created_at=at,
        dispatched_at=None,
        received_at=None,
        closed_at=None,
        origin=party[0],
        transporter=party[1],
        destination=party[2],
        containers=lines,
        signatures=[],
        totals=ManifestTotals(
            containers=containers,
            received_containers=0,
            collection_weight_kg=0,
            receipt_weight_kg=0,
        ),
        discrepancies=None,
        content_sha256="0" * 64,
    )


def test_a_container_table_over_several_pages_repeats_its_heading() -> None:
    pdf = manifest_pdf(_view(120), "http://example.org/api/v1/manifests/x")
    text = Text(pdf)
    table_pages = {page for i in range(120) for page in text.pages(f"SC{i:04d}")}
    assert len(table_pages) >= 3
    # Each page the table runs onto starts with its heading row, once.
    assert text.pages("编码 Code 类别 Category 收运 Picked up") == sorted(table_pages)
    for i in range(120):
        assert len(text.pages(f"SC{i:04d}")) == 1


def test_unsigned_unweighed_and_unknown_category_print_blank_not_wrong() -> None:
    view = _view(1, category="radioactive")
    text = Text(manifest_pdf(view, "http://example.org/r"))
    # A category the 名录 table lacks is declared without a code rather than with a wrong one.
    assert text.pages("radioactive — — — — 1 0.00 —")
    assert not text.pages("841-")
    assert text.pages("运输单位 Transporter 签字人 Signed by: 时间 At:")
    assert text.pages("尚未计算 Not yet computed")


def test_a_long_printed_name_stays_inside_its_signature_box() -> None:
    view = _view(2)
    name = "阿卜杜热合曼·买买提依明·" * 8
    view.signatures.append(
        SignaturePublic(
            party=Party.origin,
            user_id=uuid.uuid4(),
            organization_id=view.origin.organization_id,
            printed_name=name,
            signed_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        )
    )
    text = Text(manifest_pdf(view, "http://example.org/r"))
    boxes = text.boxes(name)
    box_width = (190 - 2 * 2) / 3  # three boxes across the page, 2 mm apart
    assert _inside(boxes, (LEFT_MARGIN_MM * MM, (LEFT_MARGIN_MM + box_width) * MM))
    assert len({round(b[1]) for b in boxes}) >= 3
    assert text.pages(f"Signed by: {name} 时间 At: 2026-03-02 17:30 +0800 盖章 Seal")
    # The box grows with the name: the origin's seal area starts below its last line.
    seals = text.occurrences("盖章 Seal")
    assert len(seals) == 3
    assert max(b[3] for b in seals[0]) < min(b[1] for b in boxes)
