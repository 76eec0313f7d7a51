"""Manifests under real concurrency: committed rows, separate connections, threads at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from schemas.custody import ContainersCreate, ScanCreate
from schemas.manifests import ManifestCreate
from service.anomalies.profile import SHIPPED
from service.auth.actor import Actor
from service.auth.models import User
from service.auth.roles import Role
from service.config import Settings
from service.custody.containers import register_containers
from service.custody.errors import ScanRefusal
from service.custody.ledger import chain_of, verify_container_chain
from service.custody.models import Container, ScanRejection
from service.db import make_engine, session_scope
from service.labels.keys import load_signer, public_keys
from service.manifests.service import create_manifest
from service.organizations.models import Organization, OrgKind
from service.scanning.service import submit_scan
from tests.conftest import Database
from tests.factories import make_org, make_site, make_user

THREADS = 8


def _actor(user: User, org: Organization) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        organization_id=org.id,
        organization_kind=OrgKind(org.kind),
        jurisdiction=org.jurisdiction,
    )


def _race(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run ``work(i)`` in n threads released together; each result or raised exception."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.parametrize("jurisdiction", ["CN-64", f"ZZ-{uuid.uuid4().hex[:6].upper()}"])
def test_concurrent_manifests_get_distinct_numbers(
    fresh_database: Database, jurisdiction: str
) -> None:
    with session_scope(fresh_database.engine, write=True) as s:
        origin = make_org(s, OrgKind.hospital, jurisdiction=jurisdiction)
        carrier = make_org(s, OrgKind.transporter, jurisdiction=jurisdiction)
        plant = make_org(s, OrgKind.disposal, jurisdiction=jurisdiction)
        drivers = [_actor(make_user(s, Role.driver, carrier), carrier) for _ in range(THREADS)]
    engine = make_engine(fresh_database.url, pool_size=THREADS)
    request = ManifestCreate(
        origin_organization_id=origin.id,
        destination_organization_id=plant.id,
        vehicle_plate="宁A·00001",
    )

    def open_trip(i: int) -> str:
        with session_scope(engine, write=True) as s:
            return create_manifest(
                session=s, actor=drivers[i], request=request, now=datetime.now(UTC)
            ).number

    try:
        numbers = _race(open_trip)
    finally:
        engine.dispose()
    assert all(isinstance(n, str) for n in numbers), numbers
    assert len(set(numbers)) == THREADS
    serials = sorted(int(n[-6:]) for n in numbers)
    assert serials == list(range(serials[0], serials[0] + THREADS))  # no gaps, no repeats
    if jurisdiction.startswith("CN-"):
        assert all(len(n) == 14 and n[4:8] == "6400" for n in numbers)
    else:
        assert serials[0] == 1


def test_concurrent_pickups_by_two_companies_have_one_winner(
    fresh_database: Database, tmp_path: Path
) -> None:
    """Eight drivers of two companies, each with a manifest from the hospital, scan one
    container at the same moment: one pickup, one unbroken chain, the rest refused and on
    record."""
    if fresh_database.backend != "postgresql":
        pytest.skip("row-lock concurrency needs PostgreSQL (SQLite serializes every writer)")
    settings = Settings(data_dir=tmp_path)
    now = datetime.now(UTC)
    with session_scope(fresh_database.engine, write=True) as s:
        hospital = make_org(s, OrgKind.hospital)
        site = make_site(s, hospital)
        nurse = _actor(make_user(s, Role.hospital_staff, hospital), hospital)
        plant = make_org(s, OrgKind.disposal)
        companies = [make_org(s, OrgKind.transporter) for _ in range(2)]
        drivers = [
            _actor(make_user(s, Role.driver, companies[i % 2]), companies[i % 2])
            for i in range(THREADS)
        ]
        manifests = [
            create_manifest(
                session=s,
                actor=drivers[i],
                request=ManifestCreate(
                    origin_organization_id=hospital.id,
                    destination_organization_id=plant.id,
                    vehicle_plate=f"蒙A·0000{i}",
                ),
                now=now,
            ).id
            for i in range(2)
        ]
        signer = load_signer(session=s, settings=settings)
        _, [(container, payload)] = register_containers(
            session=s,
            actor=nurse,
            signer=signer,
            request=ContainersCreate(count=1, category="infectious", site_id=site.id),
            now=now,
        )
        container_id = container.id
        submit_scan(
            profiles=SHIPPED,
            session=s,
            actor=nurse,
            scan=ScanCreate(
                qr_payload=payload,
                action="collect",
                client_event_id=str(uuid.uuid4()),
                scanned_at=now,
                weight_kg=3.0,
            ),
            public_keys=public_keys(s),
            now=now,
        )

    engine = make_engine(fresh_database.url, pool_size=THREADS)

    def pick_up(i: int) -> str:
        scan = ScanCreate(
            qr_payload=payload,
            action="pickup",
            client_event_id=str(uuid.uuid4()),
            scanned_at=datetime.now(UTC),
            manifest_id=manifests[i % 2],
        )
        try:
            with session_scope(engine, write=True) as s:
                submit_scan(
                    profiles=SHIPPED,
                    session=s,
                    actor=drivers[i],
                    scan=scan,
                    public_keys=public_keys(s),
                    now=datetime.now(UTC),
                )
        except ScanRefusal as exc:
            return f"refused {exc.status}"
        return "created"

    try:
        outcomes = _race(pick_up)
    finally:
        engine.dispose()

    assert outcomes.count("created") == 1, outcomes
    assert all(o in ("created", "refused 409", "refused 403") for o in outcomes), outcomes
    with Session(fresh_database.engine) as s:
        stored = s.get(Container, container_id)
        assert stored is not None and stored.state == "in_transit"
        events = chain_of(s, container_id)
        assert [e.action for e in events] == ["register", "collect", "pickup"]
        assert verify_container_chain(stored, events).verified
        assert stored.current_manifest_id == events[-1].manifest_id
        refused = s.exec(
            select(ScanRejection).where(ScanRejection.container_id == container_id)
        ).all()
        assert len(refused) == THREADS - 1
