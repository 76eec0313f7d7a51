"""The ledger's guarantees inside the database: append-only rows, tamper evidence,
and one winner among concurrent writers."""

from __future__ import annotations

import functools
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from schemas.custody import ContainersCreate, ScanCreate
from service.anomalies.profile import SHIPPED
from service.auth.actor import Actor
from service.auth.roles import Role
from service.config import Settings
from service.custody.containers import advance, register_containers
from service.custody.errors import ScanRefusal
from service.custody.ledger import chain_of, verify_container_chain
from service.custody.machine import Action, State
from service.custody.models import Container, CustodyEvent, ScanReceipt, ScanRejection
from service.db import make_engine, session_scope, write_scans
from service.labels.keys import load_signer, public_keys
from service.organizations.models import OrgKind
from service.scanning.held import load_held
from service.scanning.service import submit_scan
from service.scanning.sync import sync_scans
from tests.conftest import Database, FakeClock
from tests.custody.helpers import hospital, register, scan
from tests.factories import make_org, make_site, make_user


def _collected(
    client: TestClient, session: Session, clock: FakeClock
) -> tuple[dict[str, str], str]:
    h = hospital(session, client)
    [c] = register(client, h)
    assert (
        scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=4.0).status_code
        == 201
    )
    assert scan(client, h.staff, c["qr_payload"], "store", clock.now).status_code == 201
    return h.staff, c["id"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE custody_event SET weight_kg = 0.1",
        "DELETE FROM custody_event",
    ],
)
def test_database_refuses_to_change_custody_events(
    client: TestClient, session: Session, clock: FakeClock, statement: str
) -> None:
    _collected(client, session, clock)
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement))


def test_database_refuses_to_change_rejections(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    assert scan(client, h.staff, c["qr_payload"], "store", clock.now).status_code == 409
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM scan_rejection"))


def _disable_guard(session: Session, database: Database) -> None:
    """What someone with database superuser rights could do to rewrite history."""
    if database.backend == "postgresql":
        session.execute(text("ALTER TABLE custody_event DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER custody_event_no_update"))
        session.execute(text("DROP TRIGGER custody_event_no_delete"))


def test_edited_row_fails_verification_at_that_event(
    client: TestClient, session: Session, clock: FakeClock, database: Database
) -> None:
    staff, container_id = _collected(client, session, clock)
    events = client.get(f"/api/v1/containers/{container_id}/events", headers=staff).json()
    assert events["verified"] is True
    collect_id = events["events"][1]["id"]

    _disable_guard(session, database)
    session.execute(
        text("UPDATE custody_event SET weight_kg = 1.5 WHERE id = :id"), {"id": collect_id}
    )
    session.expire_all()

    tampered = client.get(f"/api/v1/containers/{container_id}/events", headers=staff).json()
    assert tampered["verified"] is False
    assert tampered["first_bad_event_id"] == collect_id
    assert "hash" in tampered["verification_detail"]


def test_deleted_last_event_fails_verification(
    client: TestClient, session: Session, clock: FakeClock, database: Database
) -> None:
    staff, container_id = _collected(client, session, clock)
    _disable_guard(session, database)
    session.execute(
        text("DELETE FROM custody_event WHERE container_id = :c AND seq = 3"), {"c": container_id}
    )
    session.expire_all()
    tampered = client.get(f"/api/v1/containers/{container_id}/events", headers=staff).json()
    assert tampered["verified"] is False


def _committed_setup(database: Database, settings: Settings) -> tuple[list[Actor], str, str]:
    """A hospital with one collected container and several staff, committed for real."""
    now = datetime.now(UTC)
    with session_scope(database.engine, write=True) as s:
        org = make_org(s, OrgKind.hospital)
        site = make_site(s, org)
        users = [make_user(s, Role.hospital_staff, org) for _ in range(8)]
        actors = [
            Actor(
                user_id=u.id,
                username=u.username,
                role=Role.hospital_staff,
                organization_id=org.id,
                organization_kind=OrgKind.hospital,
                jurisdiction="CN-15",
            )
            for u in users
        ]
        signer = load_signer(session=s, settings=settings)
        _, [(container, payload)] = register_containers(
            session=s,
            actor=actors[0],
            signer=signer,
            request=ContainersCreate(count=1, category="sharps", site_id=site.id),
            now=now,
        )
        container_id = container.id
    return actors, container_id, payload


def test_concurrent_scans_make_one_transition_and_one_chain(
    fresh_database: Database, tmp_path: Path
) -> None:
    """Eight phones collect the same container at once: exactly one wins, the chain stays one
    line, the others are refused (and recorded)."""
    database = fresh_database
    settings = Settings(data_dir=tmp_path)
    actors, container_id, payload = _committed_setup(database, settings)
    # A second engine: its own connection pool, as a second server process would have.
    engine = make_engine(database.url, pool_size=8)
    barrier = threading.Barrier(len(actors))
    outcomes: list[str] = []
    lock = threading.Lock()

    def phone(actor: Actor) -> None:
        barrier.wait()
        scan_body = ScanCreate(
            qr_payload=payload,
            action="collect",
            client_event_id=str(uuid.uuid4()),
            scanned_at=datetime.now(UTC),
            weight_kg=2.0,
        )
        try:
            with session_scope(engine, write=True) as s:
                submit_scan(
                    profiles=SHIPPED,
                    session=s,
                    actor=actor,
                    scan=scan_body,
                    public_keys=public_keys(s),
                    now=datetime.now(UTC),
                )
            result = "created"
        except ScanRefusal as exc:
            result = f"refused {exc.status}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=phone, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    engine.dispose()

    assert sorted(outcomes) == ["created"] + ["refused 409"] * (len(actors) - 1)
    with Session(database.engine) as s:
        container = s.get(Container, container_id)
        assert container is not None and container.state == "collected"
        events = chain_of(s, container_id)
        assert [e.action for e in events] == ["register", "collect"]
        assert verify_container_chain(container, events).verified
        refused = s.exec(
            select(ScanRejection).where(ScanRejection.container_id == container_id)
        ).all()
        assert len(refused) == len(actors) - 1


def test_concurrent_retries_of_one_scan_record_it_once(
    fresh_database: Database, tmp_path: Path
) -> None:
    """A phone's scan sent eight times at once (one client_event_id), each on a connection of
    its own, four times alone and four times in a sync batch with another scan: one event, one
    receipt, one "created" and seven replays of it."""
    database = fresh_database
    actors, container_id, payload = _committed_setup(database, Settings(data_dir=tmp_path))
    engine = make_engine(database.url, pool_size=8)
    scan_body = ScanCreate(
        qr_payload=payload,
        action="collect",
        client_event_id="sent-eight-times",
        scanned_at=datetime.now(UTC),
        weight_kg=2.0,
    )
    barrier = threading.Barrier(8)
    answers: list[tuple[str, int | None]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def alone(s: Session) -> tuple[str, int | None]:
        answer = submit_scan(
            profiles=SHIPPED,
            session=s,
            actor=actors[0],
            scan=scan_body,
            public_keys=public_keys(s),
            now=datetime.now(UTC),
        )
        return "duplicate" if answer.duplicate else "created", answer.body["event"]["id"]

    def in_a_batch(s: Session, n: int) -> tuple[str, int | None]:
        other = scan_body.model_copy(
            update={"client_event_id": f"other-{n}", "action": Action.inspect}
        )
        [first, _] = sync_scans(
            session=s,
            actor=actors[0],
            device_id="phone-1",
            scans=[scan_body.model_dump(mode="json"), other.model_dump(mode="json")],
            public_keys=public_keys(s),
            now=datetime.now(UTC),
            profiles=SHIPPED,
        )
        return first["status"], (first["event"] or {}).get("id")

    def phone(n: int) -> None:
        barrier.wait()
        try:
            # As the routes run them: once more if another retry committed first.
            answer = write_scans(
                functools.partial(session_scope, engine, write=True),
                (lambda s: alone(s)) if n % 2 else functools.partial(in_a_batch, n=n),
            )
        except BaseException as exc:  # any failure is the finding
            with lock:
                failures.append(exc)
            return
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=phone, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    engine.dispose()

    assert failures == []
    assert sorted(status for status, _ in answers) == ["created"] + ["duplicate"] * 7
    assert len({event_id for _, event_id in answers}) == 1
    with Session(database.engine) as s:
        assert [e.action for e in chain_of(s, container_id)] == ["register", "collect"]
        receipts = s.exec(
            select(ScanReceipt).where(ScanReceipt.client_event_id == "sent-eight-times")
        ).all()
        assert len(receipts) == 1


def test_the_scan_path_never_writes_over_a_head_that_moved(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    """The scan path writes an event and its container back with Core, guarded by the chain
    head it locked (one statement on PostgreSQL): a copy read before another event was
    chained is refused, and neither it nor its event is written."""
    h = hospital(session, client)
    [c] = register(client, h)
    stale = load_held(session.connection(), [c["id"]])[c["id"]].container
    assert (
        scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=4.0).status_code
        == 201
    )

    def inspect(copy: Container) -> CustodyEvent:
        return advance(
            session.connection(),
            copy,
            action=Action.inspect,
            from_state=copy.state,
            to_state=copy.state,
            actor_user_id=h.user.id,
            actor_organization_id=h.org.id,
            custodian_before=h.org.id,
            custodian_after=h.org.id,
            occurred_at=clock.now,
            recorded_at=clock.now,
        )

    with pytest.raises(RuntimeError, match="moved on"):
        inspect(stale)
    stored = session.exec(select(Container).where(Container.id == c["id"])).one()
    session.refresh(stored)
    assert (stored.state, stored.last_seq) == (State.collected, 2)
    assert [e.action for e in chain_of(session, c["id"])] == ["register", "collect"]
    # The current copy at its current head is written, event and container together.
    fresh = load_held(session.connection(), [c["id"]])[c["id"]].container
    event = inspect(fresh)
    assert isinstance(event.id, int)
    session.refresh(stored)
    events = chain_of(session, c["id"])
    assert [(e.id, e.seq, e.action) for e in events][-1] == (event.id, 3, "inspect")
    assert (stored.last_seq, stored.last_hash) == (3, event.hash)
    assert verify_container_chain(stored, events).verified
