"""A scan and a sync batch are the requests phones send most: each does its whole work (its
caller, the scan, the commit) in one trip to the thread pool, taking its turn among the others
(one at a time on SQLite); a request without a valid token is refused before anything else is
done for it; a scan reads its container, the directory epoch and (for a pickup or a receipt)
its trip's manifest in one statement."""

from __future__ import annotations

import inspect
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlmodel import Session, col, func, select

from mobile_api.router import router as mobile_router
from service.app import create_app
from service.audit.models import AuditEntry
from service.config import Settings
from service.custody.models import Container, CustodyEvent, ScanReceipt, ScanRejection
from service.custody.router import router as custody_router
from service.db import is_sqlite
from service.manifests.models import ManifestState
from service.scanning.checks import named_manifest
from service.scanning.closing import close_scan
from service.scanning.held import ScanBatch
from service.scanning.router import router as scanning_router
from tests.anomalies.helpers import chain
from tests.conftest import FakeClock, through
from tests.custody.helpers import hospital, register, scan

PHONE_ROUTES = [("POST", "/api/v1/scans"), ("POST", "/mobile/v1/sync")]


def _route(method: str, path: str) -> APIRoute:
    [route] = [
        r
        for router in (scanning_router, mobile_router, custody_router)
        for r in router.routes
        if isinstance(r, APIRoute) and r.path == path and method in r.methods
    ]
    return route


def _runs_on_the_loop(call: Any) -> bool:
    target = call if inspect.isroutine(call) else type(call).__call__
    return inspect.iscoroutinefunction(target)


def _thread_pool_calls(dependant: Dependant) -> list[str]:
    """What FastAPI would run in the thread pool for this route (its ``def`` dependencies)."""
    found = []
    for sub in dependant.dependencies:
        if sub.call is not None and not _runs_on_the_loop(sub.call):
            found.append(getattr(sub.call, "__name__", repr(sub.call)))
        found += _thread_pool_calls(sub)
    return found


@pytest.mark.parametrize(("method", "path"), PHONE_ROUTES)
def test_a_phone_route_goes_to_the_thread_pool_once(method: str, path: str) -> None:
    route = _route(method, path)
    assert inspect.iscoroutinefunction(route.endpoint)
    assert _thread_pool_calls(route.dependant) == []
    # The check sees a route that resolves its session and caller the usual way.
    usual = _route("GET", "/api/v1/containers/{container_id}")
    assert {"get_session", "current_actor"} <= set(_thread_pool_calls(usual.dependant))


def _counts(session: Session) -> tuple[int, int]:
    return (
        session.exec(select(func.count()).select_from(CustodyEvent)).one(),
        session.exec(select(func.count()).select_from(ScanRejection)).one(),
    )


MALFORMED = {"qr_payload": 7, "action": "teleport"}


@pytest.mark.parametrize(("method", "path"), PHONE_ROUTES)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer "]
)
def test_without_a_valid_token_the_body_is_not_judged(
    client: TestClient, session: Session, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    before = _counts(session)
    response = client.request(method, path, json=MALFORMED, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert _counts(session) == before
    # The refusal is on the audit log, as every write request is.
    entry = session.exec(select(AuditEntry).order_by(AuditEntry.id.desc())).first()  # type: ignore[union-attr]
    assert entry is not None and (entry.path, entry.status_code) == (path, 401)


@pytest.mark.parametrize(("method", "path"), PHONE_ROUTES)
def test_with_a_valid_token_a_malformed_body_is_a_422(
    client: TestClient, session: Session, method: str, path: str
) -> None:
    h = hospital(session, client)
    before = _counts(session)
    response = client.request(method, path, json=MALFORMED, headers=h.staff)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _counts(session) == before


def test_on_sqlite_the_phone_routes_work_one_at_a_time(
    app: FastAPI, session: Session, engine: Engine
) -> None:
    if not is_sqlite(engine):
        pytest.skip("PostgreSQL writers work side by side (they lock rows)")
    inner = app.state.sessions
    guard = threading.Lock()
    working = 0
    most = 0

    @contextmanager
    def counted(*, write: bool = False) -> Iterator[Session]:
        nonlocal working, most
        with guard:
            working += 1
            most = max(most, working)
        try:
            time.sleep(0.02)  # a turn long enough for the other requests to arrive
            with inner(write=write) as unit:
                yield unit
        finally:
            with guard:
                working -= 1

    with TestClient(app, raise_server_exceptions=False) as client:
        h = hospital(session, client)
        app.state.sessions = counted
        scans = [
            {
                "qr_payload": f"MW1.unknown.{n}",
                "action": "inspect",
                "client_event_id": f"one-at-a-time-{n:04d}",
                "scanned_at": "2026-01-05T08:00:00+00:00",
            }
            for n in range(8)
        ]
        with ThreadPoolExecutor(len(scans)) as pool:
            answers = list(
                pool.map(lambda s: client.post("/api/v1/scans", json=s, headers=h.staff), scans)
            )
    assert {a.status_code for a in answers} == {422}, {a.text for a in answers}
    assert most == 1


def test_a_started_server_works_on_as_many_scans_at_once_as_its_database_allows(
    settings: Settings, engine: Engine, session: Session, clock: FakeClock
) -> None:
    app = create_app(settings.model_copy(update={"scan_threads": 3}), engine=engine, clock=clock)
    app.state.sessions = through(session)
    with TestClient(app):
        assert app.state.scan_turns.total_tokens == (1 if is_sqlite(engine) else 3)
    assert app.state.scan_turns is None


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_scan_reads_its_container_and_the_directory_epoch_in_one_statement(
    client: TestClient, session: Session, engine: Engine, clock: FakeClock
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    with _statements(engine) as seen:
        answer = scan(client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=2.0)
    assert answer.status_code == 201, answer.text
    reads_epoch = [s for s in seen if "directory_epoch" in s]
    assert len(reads_epoch) == 1
    assert "FROM container" in reads_epoch[0]


def _manifest_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if "FROM manifest" in s or "JOIN manifest" in s]


def test_a_pickup_and_a_receipt_read_their_manifest_with_their_container(
    client: TestClient, session: Session, engine: Engine, clock: FakeClock
) -> None:
    ch = chain(session, client)
    trip = ch.manifest()
    c = ch.register()
    at = clock.now
    assert ch.scan(ch.staff, c, "collect", at, weight_kg=3.0).status_code == 201
    steps = [
        (ch.driver, "pickup", {"manifest_id": trip.id}),
        (ch.operator, "receive", {"weight_kg": 3.0, "site_id": ch.plant_site.id}),
        (ch.operator, "dispose", {"method": "incineration", "site_id": ch.plant_site.id}),
    ]
    for user, action, extra in steps:
        ch.headers(user)  # logged in before the statements are counted
        session.expunge_all()  # nothing the scan needs is in the test session's identity map
        with _statements(engine) as seen:
            answer = ch.scan(user, c, action, at, **extra)
        assert answer.status_code == 201, answer.text
        reads = _manifest_reads(seen)
        if action == "dispose":
            assert reads == []
        else:
            [read] = reads
            assert "FROM container" in read and "directory_epoch" in read
    assert answer.json()["container"]["state"] == "disposed"


def test_a_pickup_naming_another_manifest_than_it_read_is_judged_by_the_one_it_names(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    ch = chain(session, client)
    on_board, closed = ch.manifest(), ch.manifest(ManifestState.closed)
    c = ch.register()
    at = clock.now
    assert ch.scan(ch.staff, c, "collect", at, weight_kg=3.0).status_code == 201
    session.expunge_all()
    missing = ch.scan(ch.driver, c, "pickup", at, manifest_id=uuid.uuid4())
    assert missing.status_code == 404, missing.text
    refused = ch.scan(ch.driver, c, "pickup", at, manifest_id=closed.id)
    assert refused.status_code == 409, refused.text
    assert "closed" in refused.json()["detail"]
    taken = ch.scan(ch.driver, c, "pickup", at, manifest_id=on_board.id)
    assert taken.status_code == 201, taken.text
    assert taken.json()["event"]["manifest_id"] == str(on_board.id)
    wrong = ch.scan(ch.operator, c, "receive", at, weight_kg=3.0, manifest_id=closed.id)
    assert wrong.status_code == 409, wrong.text
    assert "another manifest" in wrong.json()["detail"]


def test_a_manifest_read_before_stands_only_for_itself(
    client: TestClient, session: Session
) -> None:
    ch = chain(session, client)
    read, other = ch.manifest(), ch.manifest()
    assert named_manifest(session, read.id, read) is read
    found = named_manifest(session, other.id, read)
    assert found is not None and found.id == other.id
    assert named_manifest(session, None, read) is None
    assert named_manifest(session, uuid.uuid4(), read) is None


def test_a_scans_receipt_audit_row_and_log_index_take_one_statement_on_postgresql(
    client: TestClient, session: Session, engine: Engine, clock: FakeClock
) -> None:
    """On PostgreSQL the statement that writes the receipt and the audit row also puts the
    event into the transparency log (no early run of the sequencing trigger); the leaf is the
    next one, holds the event's stored hash, and the trigger adds no second one at commit."""
    h = hospital(session, client)
    [c, d] = register(client, h, 2)

    def collect(container: dict[str, Any], key: str) -> Any:
        extra = {"weight_kg": 2.0, "client_event_id": key}
        return scan(client, h.staff, container["qr_payload"], "collect", clock.now, **extra)

    size_before = _log_size(session)
    with _statements(engine) as seen:
        answer = collect(c, "closing-1")
    assert answer.status_code == 201, answer.text
    writes = [s for s in seen if "scan_receipt (" in s or "audit_entry (" in s or "log_" in s]
    if is_sqlite(engine):
        assert len(writes) == 3
    else:
        [one] = writes
        assert one.startswith("WITH head AS (UPDATE log_head")
        # The trigger runs only at the commit (which the test's session does by hand).
        early = [s for s in seen[: seen.index(one)] if s.startswith("SET CONSTRAINTS")]
        assert early == []
        assert "INSERT INTO log_leaf" in one
        assert "INSERT INTO scan_receipt" in one and "INSERT INTO audit_entry" in one
    event = answer.json()["event"]
    index = event["log_index"]
    assert index == size_before
    assert _leaves(session, size_before) == [(index, event["id"], event["hash"])]
    retry = collect(c, "closing-1")
    assert retry.status_code == 200
    assert retry.json()["event"]["log_index"] == index
    assert _log_size(session) == size_before + 1
    other = collect(d, "closing-2").json()["event"]
    assert other["log_index"] == index + 1
    assert _leaves(session, size_before) == [
        (index, event["id"], event["hash"]),
        (index + 1, other["id"], other["hash"]),
    ]
    assert _log_size(session) == size_before + 2
    paths = session.exec(
        select(AuditEntry.status_code).where(AuditEntry.path == "/api/v1/scans")
    ).all()
    assert sorted(paths) == [200, 201, 201]


def _log_size(session: Session) -> int:
    size = session.connection().execute(text("SELECT size FROM log_head WHERE id = 1")).scalar()
    count = session.connection().execute(text("SELECT count(*) FROM log_leaf")).scalar()
    assert size == count
    return int(size)


def _leaves(session: Session, start: int) -> list[tuple[int, int, str]]:
    rows = session.connection().execute(
        text(
            "SELECT log_index, event_id, event_hash FROM log_leaf"
            " WHERE log_index >= :start ORDER BY log_index"
        ),
        {"start": start},
    )
    return [(int(i), int(e), h) for i, e, h in rows]


@pytest.mark.parametrize(
    "where", [{}, {"latitude": 40.8, "longitude": 111.7, "accuracy_m": 12.0}], ids=["no-fix", "gps"]
)
def test_a_scans_event_and_its_container_are_written_in_one_statement_on_postgresql(
    client: TestClient, session: Session, engine: Engine, clock: FakeClock, where: dict[str, Any]
) -> None:
    h = hospital(session, client)
    [c] = register(client, h)
    with _statements(engine) as seen:
        answer = scan(
            client, h.staff, c["qr_payload"], "collect", clock.now, weight_kg=2.5, **where
        )
    assert answer.status_code == 201, answer.text
    writes = [s for s in seen if "UPDATE container" in s or "INSERT INTO custody_event" in s]
    if is_sqlite(engine):
        assert len(writes) == 2
    else:
        [one] = writes
        assert one.startswith("WITH moved AS (UPDATE container")
    event = answer.json()["event"]
    stored = session.get(CustodyEvent, event["id"])
    assert stored is not None
    assert (stored.seq, stored.action, stored.weight_kg) == (2, "collect", 2.5)
    assert (stored.latitude, stored.longitude, stored.accuracy_m) == (
        where.get("latitude"),
        where.get("longitude"),
        where.get("accuracy_m"),
    )
    assert stored.hash == event["hash"]
    session.expire_all()
    container = session.get(Container, c["id"])
    assert container is not None
    assert (container.state, container.last_seq, container.last_hash) == (
        "collected",
        2,
        stored.hash,
    )
    assert container.collect_kg == 2.5


def test_the_closing_statement_takes_no_leaf_for_an_event_in_the_log_or_one_not_stored(
    client: TestClient, session: Session, clock: FakeClock
) -> None:
    """close_scan puts only a stored event not in the log yet into it: an event already there
    keeps its leaf (and its index is answered), an unknown one moves nothing (no gap)."""
    h = hospital(session, client)
    [c] = register(client, h)
    registered = session.exec(
        select(CustodyEvent).where(CustodyEvent.container_id == c["id"], CustodyEvent.seq == 1)
    ).one()
    size = _log_size(session)
    [(index, _, _)] = [leaf for leaf in _leaves(session, 0) if leaf[1] == registered.id]
    scope: dict[str, Any] = {
        "method": "POST",
        "path": "/api/v1/scans",
        "client": None,
        "app": SimpleNamespace(state=SimpleNamespace(clock=lambda: clock.now)),
    }

    def close(key: str, event_id: int) -> int | None:
        batch = ScanBatch({}, unwritten_receipts=[_receipt(key, h.user.id, clock)])
        return close_scan(session, batch, scope, 201, event_id)

    assert close("closing-logged", registered.id) == index
    assert close("closing-unknown", 10**12) is None
    assert _log_size(session) == size
    keys = session.exec(
        select(ScanReceipt.client_event_id).where(
            col(ScanReceipt.client_event_id).startswith("closing-")
        )
    ).all()
    assert sorted(keys) == ["closing-logged", "closing-unknown"]


def _receipt(key: str, user_id: uuid.UUID, clock: FakeClock) -> dict[str, Any]:
    return {
        "client_event_id": key,
        "user_id": user_id,
        "status_code": 201,
        "body": {},
        "created_at": clock.now,
    }
