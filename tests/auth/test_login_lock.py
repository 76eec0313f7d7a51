"""A login checks its password hash (argon2: slow on purpose) without holding the SQLite write
lock, so logins do not stall scans; the failure is still recorded, briefly, afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from service.app import create_app
from service.auth import service as auth_service
from service.auth.models import LoginFailure
from service.auth.roles import Role
from service.config import Settings
from service.db import session_scope, write_lock
from tests.conftest import Database
from tests.factories import PASSWORD, make_org, make_user


def test_the_password_hash_runs_outside_the_write_lock(
    fresh_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if fresh_database.backend != "sqlite":
        pytest.skip("the process-wide write lock is SQLite's (PostgreSQL locks rows)")
    engine = fresh_database.engine
    with session_scope(engine, write=True) as session:
        username = make_user(session, Role.hospital_staff, make_org(session)).username
    lock = write_lock(engine)
    held_while_hashing: list[bool] = []
    real = auth_service.verify_password

    def watched(password: str, hashed: Any) -> bool:
        held_while_hashing.append(lock.locked())
        return real(password, hashed)

    monkeypatch.setattr(auth_service, "verify_password", watched)
    app = create_app(
        Settings(data_dir=tmp_path / "data", sweep_interval_seconds=0, log_checkpoint_seconds=0),
        engine=engine,
    )
    with TestClient(app) as client:
        ok = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        wrong = client.post("/api/v1/auth/token", data={"username": username, "password": "nope"})
        nobody = client.post("/api/v1/auth/token", data={"username": "nobody", "password": "x"})
    assert ok.status_code == 200, ok.text
    assert wrong.status_code == 401 and nobody.status_code == 401
    assert held_while_hashing == [False, False, False]
    # The failures were recorded, each in its own short write after the check.
    with session_scope(engine) as session:
        failures = session.exec(select(func.count()).select_from(LoginFailure)).one()
    assert failures == 2
