"""``medwaste backup`` and ``medwaste restore`` as an operator runs them: a backup taken while a
live server acknowledges scans restores into a fresh data directory (and, on PostgreSQL, a fresh
database) with every scan acknowledged before it began, every chain verifying, and the secrets
and keys the data directory held; a damaged backup or an occupied target is refused."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from service.auth.roles import Role
from service.backup import take_backup
from service.config import Settings
from service.db import make_engine
from service.organizations.models import OrgKind
from tests.cli.serving import serving
from tests.cli.test_commands import Cli, cli  # noqa: F401
from tests.conftest import PG_URL, Database, _postgres_schema_url
from tests.factories import PASSWORD, make_org, make_site, make_user

SECRETS = ("jwt_secret", "label_keys/active.pem", "log_keys/active.pem")


def _seed(url: str) -> tuple[str, str]:
    """A hospital with one site and one member of staff: (username, site id)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            org = make_org(session, OrgKind.hospital, jurisdiction="CN-15")
            site = make_site(session, org)
            user = make_user(session, Role.hospital_staff, org)
            session.commit()
            return user.username, str(site.id)
    finally:
        engine.dispose()


@pytest.fixture
def server(cli: Cli) -> Iterator[str]:  # noqa: F811
    """``medwaste serve`` on the test's database, signing checkpoints every second."""
    cli.run("migrate")
    with serving({**cli.env, "MEDWASTE_LOG_CHECKPOINT_SECONDS": "1"}) as base:
        yield base


class Scanner:
    """Threads collecting containers one scan at a time; what the server acknowledged, when."""

    def __init__(self, base: str, token: str, payloads: list[str]) -> None:
        self.base, self.token = base, token
        self.todo = iter(payloads)
        self.lock = threading.Lock()
        self.acknowledged: list[tuple[float, str]] = []  # (monotonic time, client_event_id)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(2)]

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=60) as http:
            while not self.stop.is_set():
                with self.lock:
                    payload = next(self.todo, None)
                if payload is None:
                    return
                key = str(uuid.uuid4())
                answer = http.post(
                    "/api/v1/scans",
                    json={
                        "qr_payload": payload,
                        "action": "collect",
                        "client_event_id": key,
                        "scanned_at": datetime.now(UTC).isoformat(),
                        "weight_kg": 1.25,
                    },
                )
                assert answer.status_code == 201, answer.text
                with self.lock:
                    self.acknowledged.append((time.monotonic(), key))

    def acknowledged_by(self, moment: float) -> set[str]:
        with self.lock:
            return {key for at, key in self.acknowledged if at <= moment}

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def _quiet(_label: str, _done: int, _total: int | None) -> None:
    pass


def _events(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT client_event_id FROM custody_event WHERE client_event_id IS NOT NULL")
            )
            return {row[0] for row in rows}
    finally:
        engine.dispose()


@contextmanager
def _fresh_target(
    cli: Cli,  # noqa: F811
    database: Database,
    tmp_path: Path,
    schema: str | None,
) -> Iterator[Cli]:
    """A new data directory, and on PostgreSQL a new database, to restore into."""
    env = {**cli.env, "MEDWASTE_DATA_DIR": str(tmp_path / "restored")}
    if database.backend == "sqlite":
        yield Cli(env, f"sqlite:///{tmp_path / 'restored' / 'medwaste.db'}")
        return
    assert PG_URL is not None and schema is not None
    name = f"medwaste_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    env["DATABASE_URL"] = _postgres_schema_url(database_url, schema)
    try:
        yield Cli(env, env["DATABASE_URL"])
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_backup_under_load_restores_every_acknowledged_scan(
    cli: Cli,  # noqa: F811
    database: Database,
    server: str,
    tmp_path: Path,
) -> None:
    username, site_id = _seed(cli.url)
    token = httpx.post(
        f"{server}/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    ).json()["access_token"]
    registered = httpx.post(
        f"{server}/api/v1/containers",
        json={"count": 400, "category": "infectious", "site_id": site_id},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert registered.status_code == 201, registered.text
    data_dir = Path(cli.env["MEDWASTE_DATA_DIR"])
    scanner = Scanner(server, token, [c["qr_payload"] for c in registered.json()["containers"]])
    for thread in scanner.threads:
        thread.start()
    try:
        while scanner.count() < 20:
            time.sleep(0.05)
        began = time.monotonic()
        before = scanner.acknowledged_by(began)
        backup = cli.run("backup", str(tmp_path / "backup"))
        ended = time.monotonic()
        if database.backend == "sqlite":
            # Taken in this process, the backup's start is known to the millisecond: every
            # scan acknowledged until then is in it, also those only in the -wal file yet.
            while scanner.count() < len(scanner.acknowledged_by(ended)) + 20:
                time.sleep(0.05)
            at_once = tmp_path / "at-once"
            acknowledged = scanner.acknowledged_by(time.monotonic())
            take_backup(settings=Settings(data_dir=data_dir), target=at_once, progress=_quiet)
            copied = _events(f"sqlite:///{at_once / 'medwaste.db'}")
            assert acknowledged <= copied, f"{len(acknowledged - copied)} acknowledged scans lost"
    finally:
        scanner.stop.set()
        for thread in scanner.threads:
            thread.join(timeout=120)
    assert "backed up the" in backup.stdout, backup.stdout
    # The server went on acknowledging scans while the backup ran.
    during = scanner.acknowledged_by(ended) - before
    assert during, "no scan was acknowledged while the backup ran"

    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    for name in SECRETS:
        assert f"data/{name}" in manifest["files"], manifest["files"].keys()

    with _fresh_target(cli, database, tmp_path, manifest["database"].get("schema")) as target:
        restored = target.run("restore", str(tmp_path / "backup"))
        assert "checksums verified" in restored.stdout, restored.stdout
        assert "is up to date" in target.run("migrate").stdout
        verified = target.run("verify", "--all")
        assert "VERIFIED: every chain, the log" in verified.stdout, verified.stdout

        present = _events(target.url)
        assert before <= present, f"{len(before - present)} acknowledged scans lost"
        # Nothing that the original never had; scans acknowledged during the backup are either
        # wholly in it or not at all (the copy is the database as of one moment).
        assert present <= _events(cli.url)
        assert len(present) >= len(before)

        restored_dir = Path(target.env["MEDWASTE_DATA_DIR"])
        for name in SECRETS:
            assert (restored_dir / name).read_bytes() == (data_dir / name).read_bytes(), name
            assert (restored_dir / name).stat().st_mode & 0o777 == 0o600, name


def test_a_damaged_backup_or_an_occupied_target_is_refused(
    cli: Cli,  # noqa: F811
    database: Database,
    tmp_path: Path,
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the checks are the same for both databases; the backup test covers both")
    cli.run("migrate")
    cli.run("checkpoint")  # the log key
    cli.run("rotate-label-key")  # a label key
    cli.run("create-admin", "--username", "it-admin", "--password", "Ops#Night-Shift-77")
    backup_dir = tmp_path / "backup"
    cli.run("backup", str(backup_dir))
    again = cli.run("backup", str(backup_dir), ok=False)
    assert again.returncode == 1 and "not empty" in again.stderr
    inside = cli.run("backup", str(Path(cli.env["MEDWASTE_DATA_DIR"]) / "b"), ok=False)
    assert inside.returncode == 1 and "inside the data directory" in inside.stderr

    fresh = Cli({**cli.env, "MEDWASTE_DATA_DIR": str(tmp_path / "fresh")}, "")
    # The data directory already in use is not overwritten...
    occupied = cli.run("restore", str(backup_dir), ok=False)
    assert occupied.returncode == 1 and "not empty" in occupied.stderr
    # ...unless asked to; a stale log beside the replaced database is removed.
    db = Path(cli.env["MEDWASTE_DATA_DIR"]) / "medwaste.db"
    Path(f"{db}-wal").write_bytes(b"stale")
    forced = cli.run("restore", "--force", str(backup_dir))
    assert "checksums verified" in forced.stdout
    assert not Path(f"{db}-wal").exists()
    assert cli.scalar("SELECT count(*) FROM \"user\" WHERE username = 'it-admin'") == 1

    def damaged(name: str, change: str) -> Path:
        copy = tmp_path / f"damaged-{change}-{name.replace('/', '-')}"
        subprocess.run(["cp", "-a", str(backup_dir), str(copy)], check=True)
        path = copy / name
        if change == "flip":
            content = bytearray(path.read_bytes())
            content[len(content) // 2] ^= 0x01
            path.write_bytes(bytes(content))
        else:
            path.unlink()
        return copy

    for name, change, said in (
        ("medwaste.db", "flip", "medwaste.db: checksum does not match"),
        ("data/log_keys/active.pem", "flip", "data/log_keys/active.pem: checksum does not match"),
        ("data/label_keys/active.pem", "remove", "data/label_keys/active.pem: missing"),
    ):
        refused = fresh.run("restore", str(damaged(name, change)), ok=False)
        assert refused.returncode == 1, refused.stdout
        assert said in refused.stderr and "nothing was restored" in refused.stderr
        assert not (tmp_path / "fresh").exists()

    escaping = tmp_path / "escaping"
    subprocess.run(["cp", "-a", str(backup_dir), str(escaping)], check=True)
    manifest = json.loads((escaping / "manifest.json").read_text())
    manifest["files"]["data/../../outside"] = manifest["files"].pop("data/log_keys/active.pem")
    (escaping / "manifest.json").write_text(json.dumps(manifest))
    refused = fresh.run("restore", str(escaping), ok=False)
    assert refused.returncode == 1 and "outside the backup" in refused.stderr

    not_a_backup = fresh.run("restore", str(tmp_path), ok=False)
    assert not_a_backup.returncode == 1 and "not a backup" in not_a_backup.stderr
