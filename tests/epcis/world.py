"""A region for EPCIS tests (hospital, transporter, disposal plant) and whole container lives
made through the real API; the same region can be built again in a second database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.app import create_app
from service.auth.models import User
from service.auth.roles import Role
from service.config import Settings
from service.organizations.models import Organization, OrgKind, Site
from tests.conftest import Database, FakeClock, through
from tests.factories import login, make_org, make_user


@dataclass
class Party:
    org: Organization
    user: User
    site: Site | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Region:
    hospital: Party
    transporter: Party
    plant: Party

    def by_org(self) -> dict[uuid.UUID, Party]:
        return {p.org.id: p for p in (self.hospital, self.transporter, self.plant)}


@dataclass(frozen=True)
class Keys:
    """The identities of the region's organizations, kept to build it again elsewhere."""

    ids: dict[str, uuid.UUID]
    site_ids: dict[str, uuid.UUID]
    gs1: bool


def new_keys(gs1: bool) -> Keys:
    return Keys(
        ids={k: uuid.uuid4() for k in ("hospital", "transporter", "plant")},
        site_ids={k: uuid.uuid4() for k in ("hospital", "plant")},
        gs1=gs1,
    )


def _gln(prefix: str, ref: str) -> str:
    from service.organizations.gs1 import gs1_check_digit

    body = (prefix + ref).ljust(12, "0")[:12]
    return body + gs1_check_digit(body)


def build_region(session: Session, client: TestClient, keys: Keys) -> Region:
    """The region; with ``keys.gs1`` its organizations and sites carry GS1 keys (and get fresh
    database ids), otherwise they reuse ``keys``' ids (the same organizations elsewhere)."""
    parties = {}
    prefixes = {"hospital": "6901234", "transporter": "6905555", "plant": "6909876"}
    kinds = {
        "hospital": (OrgKind.hospital, Role.hospital_staff),
        "transporter": (OrgKind.transporter, Role.driver),
        "plant": (OrgKind.disposal, Role.disposal_operator),
    }
    for name, (kind, role) in kinds.items():
        extra: dict[str, Any] = (
            {"gs1_company_prefix": prefixes[name], "gln": _gln(prefixes[name], "00000")}
            if keys.gs1
            else {"id": keys.ids[name]}
        )
        org = make_org(session, kind, name=f"{name} {uuid.uuid4().hex[:4]}", **extra)
        site = None
        if name in keys.site_ids:
            site = Site(
                id=uuid.uuid4() if keys.gs1 else keys.site_ids[name],
                organization_id=org.id,
                name=f"{name} site",
                latitude=40.8426,
                longitude=111.749,
                gln=_gln(prefixes[name], "00011") if keys.gs1 else None,
            )
            session.add(site)
            session.flush()
        user = make_user(session, role, org)
        parties[name] = Party(org, user, site, login(client, user))
    return Region(parties["hospital"], parties["transporter"], parties["plant"])


@contextmanager
def second_deployment(
    database: Database, tmp_path: Path, clock: FakeClock, base_url: str
) -> Iterator[tuple[TestClient, Session]]:
    """The app on another (fresh) database, committing for real. No background workers (as
    in the test settings): the transparency log's checkpoint thread would write to the same
    SQLite file beside the test's session, whose transactions are not BEGIN IMMEDIATE."""
    settings = Settings(
        data_dir=tmp_path / "second",
        sweep_interval_seconds=0,
        log_checkpoint_seconds=0,
        public_base_url=base_url,
    )
    app = create_app(settings, engine=database.engine, clock=clock)
    session = Session(database.engine, expire_on_commit=False)
    app.state.sessions = through(session)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, session
    finally:
        session.close()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def live(
    client: TestClient,
    region: Region,
    start: datetime,
    *,
    weights: tuple[float, float] = (4.35, 4.3),
    correct: str | None = None,
    refuse_on_the_way: bool = False,
    clock: FakeClock | None = None,
) -> str:
    """One container from registration to incineration; returns its id. ``correct``:
    ``incorrect_data`` fixes the receipt weight afterwards, ``did_not_occur`` voids the
    store scan."""
    h, t, p = region.hospital, region.transporter, region.plant
    assert h.site is not None and p.site is not None
    # Registered just before the life begins: no event may be dated before registration.
    now = clock.now if clock is not None else None
    if clock is not None:
        clock.now = start - timedelta(minutes=1)
    [made] = _ok(
        client.post(
            "/api/v1/containers",
            json={"count": 1, "category": "sharps", "site_id": str(h.site.id), "department": "ICU"},
            headers=h.headers,
        ),
        201,
    )["containers"]
    if clock is not None and now is not None:
        clock.now = now
    qr = made["qr_payload"]

    def scan(
        headers: dict[str, str], action: str, at: datetime, status: int = 201, **extra: Any
    ) -> Any:
        body = {
            "qr_payload": qr,
            "action": action,
            "client_event_id": f"t-{uuid.uuid4()}",
            "scanned_at": at.isoformat(),
            **{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in extra.items()},
        }
        return _ok(client.post("/api/v1/scans", json=body, headers=headers), status)

    collected = scan(h.headers, "collect", start, weight_kg=weights[0], site_id=h.site.id)
    assert collected["container"]["state"] == "collected"
    store = scan(h.headers, "store", start + timedelta(minutes=40), site_id=h.site.id)
    if refuse_on_the_way:
        # a plant operator tries to dispose of it at the hospital: refused, recorded
        scan(p.headers, "dispose", start + timedelta(minutes=50), status=409, method="incineration")
    manifest = _ok(
        client.post(
            "/api/v1/manifests",
            json={
                "origin_organization_id": str(h.org.id),
                "destination_organization_id": str(p.org.id),
                "vehicle_plate": "蒙A·D1234",
            },
            headers=t.headers,
        ),
        201,
    )
    scan(
        t.headers,
        "pickup",
        start + timedelta(hours=20),
        manifest_id=manifest["id"],
        latitude=40.8426,
        longitude=111.749,
    )
    for party, role in ((h, "origin"), (t, "transporter")):
        _ok(
            client.post(
                f"/api/v1/manifests/{manifest['id']}/sign",
                json={"party": role, "printed_name": "王"},
                headers=party.headers,
            )
        )
    receipt = scan(
        p.headers, "receive", start + timedelta(hours=23), weight_kg=weights[1], site_id=p.site.id
    )
    _ok(
        client.post(
            f"/api/v1/manifests/{manifest['id']}/sign",
            json={"party": "destination", "printed_name": "李"},
            headers=p.headers,
        )
    )
    if correct == "incorrect_data":
        scan(
            p.headers,
            "correct",
            start + timedelta(hours=23, minutes=30),
            corrects_event_id=receipt["event"]["id"],
            correction_reason="incorrect_data",
            correction_data={"weight_kg": 4.31},
        )
    if correct == "did_not_occur":
        scan(
            h.headers,
            "correct",
            start + timedelta(hours=23, minutes=40),
            corrects_event_id=store["event"]["id"],
            correction_reason="did_not_occur",
        )
    scan(
        p.headers, "dispose", start + timedelta(hours=26), method="incineration", site_id=p.site.id
    )
    return str(made["id"])
