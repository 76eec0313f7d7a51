"""Backups: the database and the data directory's secrets, with a manifest of checksums.

``medwaste backup DIR`` writes into an empty (or new) directory:

- ``medwaste.db``: a SQLite database copied with SQLite's online backup API inside one read
  transaction, so the copy is the database as it was when the backup began, write-ahead log
  included, while scans go on being written; or ``medwaste.pgdump``: ``pg_dump -Fc`` of a
  PostgreSQL database (of its schema only, when the URL's ``search_path`` names one);
- ``data/``: every other file of the data directory: in development the JWT secret and the
  label and log signing keys, which exist nowhere else;
- ``manifest.json``: what was backed up and when, and the SHA-256 of every file.

``medwaste restore DIR`` checks every checksum first and refuses a backup that does not match,
then refuses a target (database or data directory) that already holds anything unless
``force`` is given. Secrets given in the environment (``MEDWASTE_JWT_SECRET``, ...) are not in
the data directory and so not in the backup: the manifest lists them as left out.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from service.config import Settings

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "medwaste.db"
PG_FILE = "medwaste.pgdump"
DATA = "data"
# SQLite pages copied per step of the online backup (4 MiB with 4 KiB pages).
_PAGES_PER_STEP = 1024
_ENVIRONMENT_SECRETS = (
    ("jwt_secret", "MEDWASTE_JWT_SECRET"),
    ("label_signing_key", "MEDWASTE_LABEL_SIGNING_KEY"),
    ("log_signing_key", "MEDWASTE_LOG_SIGNING_KEY"),
)

# (what is being done, done so far, total or None when unknown)
Progress = Callable[[str, int, int | None], None]


class BackupRefused(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Summary:
    directory: Path
    backend: str
    created_at: str
    files: dict[str, str]  # relative path -> sha256
    left_out: list[str]  # secrets from the environment, not in the backup


def take_backup(*, settings: Settings, target: Path, progress: Progress) -> Summary:
    """Back up the database and the data directory into ``target`` (new or empty)."""
    if target.exists() and any(target.iterdir()):
        raise BackupRefused(f"{target} is not empty: back up into a new or empty directory")
    if target.resolve().is_relative_to(settings.data_dir.resolve()):
        raise BackupRefused(
            f"{target} is inside the data directory {settings.data_dir}: keep backups elsewhere"
        )
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o700)  # it holds the secrets
    url = make_url(settings.effective_database_url)
    backend = url.get_backend_name()
    database: dict[str, Any]
    if backend == "sqlite":
        source = _sqlite_path(url)
        _copy_sqlite(source, target / SQLITE_FILE, progress)
        database = {"backend": "sqlite", "file": SQLITE_FILE}
        skip = _sqlite_files(source)
    elif backend == "postgresql":
        schema = _schema_of(url)
        _pg_dump(url, schema, target / PG_FILE, progress)
        database = {"backend": "postgresql", "file": PG_FILE, "schema": schema}
        skip = set()
    else:
        raise BackupRefused(f"no backup for a {backend} database")
    copied = _copy_tree(settings.data_dir, target / DATA, skip=skip, progress=progress)
    database["schema_revision"] = _revision(settings.effective_database_url)
    files = [database["file"], *(f"{DATA}/{name}" for name in copied)]
    checksums = {}
    for done, name in enumerate(files):
        progress("checksums", done, len(files))
        checksums[name] = _sha256(target / name)
    left_out = [env for field, env in _ENVIRONMENT_SECRETS if getattr(settings, field) is not None]
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    manifest = {
        "format": FORMAT,
        "created_at": created_at,
        "database": database,
        "files": {name: {"sha256": digest, "bytes": (target / name).stat().st_size}
                  for name, digest in checksums.items()},
        "left_out": left_out,
    }  # fmt: skip
    _write_private(target / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return Summary(target, backend, created_at, checksums, left_out)


def check_backup(source: Path, progress: Progress) -> dict[str, Any]:
    """The backup's manifest, once every file it lists is there with its checksum."""
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
        files: dict[str, dict[str, Any]] = manifest["files"]
        database = manifest["database"]
        if manifest["format"] != FORMAT or database["file"] not in files:
            raise ValueError("unknown format")
    except FileNotFoundError as exc:
        raise BackupRefused(f"{source} holds no {MANIFEST}: not a backup") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupRefused(f"{source / MANIFEST} is not a backup manifest ({exc})") from exc
    bad = []
    for done, (name, entry) in enumerate(files.items()):
        progress("checking", done, len(files))
        path = _inside(source, name)
        if not path.is_file():
            bad.append(f"{name}: missing")
        elif _sha256(path) != entry.get("sha256"):
            bad.append(f"{name}: checksum does not match")
    if bad:
        raise BackupRefused("the backup is damaged, nothing was restored: " + "; ".join(bad))
    return dict(manifest)


def restore_backup(*, settings: Settings, source: Path, force: bool, progress: Progress) -> Summary:
    """Restore a backup into the configured database and data directory."""
    manifest = check_backup(source, progress)
    database = manifest["database"]
    url = make_url(settings.effective_database_url)
    backend = url.get_backend_name()
    if database["backend"] != backend:
        raise BackupRefused(
            f"this is a backup of a {database['backend']} database; the configured database "
            f"is {backend}"
        )
    occupied = _occupied(settings, url)
    if occupied and not force:
        raise BackupRefused(
            "the target is not empty (" + "; ".join(occupied) + "): restore into a new data "
            "directory and database, or give --force to replace what is there"
        )
    if backend == "sqlite":
        _restore_sqlite(source / database["file"], _sqlite_path(url), progress)
    else:
        _pg_restore(
            source / database["file"], url, schema=database.get("schema"), progress=progress
        )
    data_files = [name for name in manifest["files"] if name.startswith(f"{DATA}/")]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for done, name in enumerate(data_files):
        progress("secrets and keys", done, len(data_files))
        destination = _inside(settings.data_dir, name.removeprefix(f"{DATA}/"))
        _private_dirs(settings.data_dir, destination.parent)
        _write_private(destination, (source / name).read_bytes())
    return Summary(
        source,
        backend,
        str(manifest["created_at"]),
        {name: str(entry["sha256"]) for name, entry in manifest["files"].items()},
        list(manifest.get("left_out", [])),
    )


# --- SQLite ---------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupRefused("an in-memory database cannot be backed up")
    return Path(url.database)


def _sqlite_files(path: Path) -> set[Path]:
    """The database file and the files SQLite keeps beside it."""
    return {path.resolve(), *(path.with_name(path.name + s).resolve() for s in _SIDECARS)}


_SIDECARS = ("-wal", "-shm", "-journal")


def _copy_sqlite(source: Path, destination: Path, progress: Progress) -> None:
    if not source.is_file():
        raise BackupRefused(f"there is no database at {source}")
    partial = destination.with_name(destination.name + ".partial")
    _write_private(partial, b"")
    src = sqlite3.connect(source, isolation_level=None, timeout=30)
    dst = sqlite3.connect(partial, isolation_level=None)
    try:
        # One read transaction across every step: the copy is the database as of this moment
        # (committed scans, whether still in the -wal file or not), and writers go on (WAL).
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def step(_status: int, remaining: int, total: int) -> None:
            progress("database", total - remaining, total)

        src.backup(dst, pages=_PAGES_PER_STEP, progress=step)
        src.execute("COMMIT")
        # A single self-contained file: no -wal beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
        problem = dst.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise BackupRefused(f"the copied database does not check out: {problem}")
    finally:
        dst.close()
        src.close()
    partial.replace(destination)


def _restore_sqlite(backup: Path, target: Path, progress: Progress) -> None:
    progress("database", 0, 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    _write_private(staged, b"")
    with backup.open("rb") as src, staged.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
        dst.flush()
        os.fsync(dst.fileno())
    # A log left by the replaced database would be replayed into the restored one.
    for suffix in _SIDECARS:
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    staged.replace(target)
    progress("database", 1, 1)


# --- PostgreSQL -----------------------------------------------------------------------------


def _schema_of(url: URL) -> str | None:
    """The schema a ``search_path`` in the URL's ``options`` names, if it names one."""
    options = url.query.get("options")
    text_ = " ".join(options) if isinstance(options, tuple) else (options or "")
    found = re.search(r"search_path\s*=\s*([A-Za-z_][A-Za-z0-9_]*)", text_)
    return found.group(1) if found else None


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A connection string for the PostgreSQL tools, with the password in their environment
    rather than on a command line everybody can read."""
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupRefused(f"{name} is not installed (PostgreSQL client tools)")
    return found


def _pg_dump(url: URL, schema: str | None, destination: Path, progress: Progress) -> None:
    dsn, environment = _libpq(url)
    partial = destination.with_name(destination.name + ".partial")
    _write_private(partial, b"")
    command = [
        _tool("pg_dump"),
        "--format=custom",
        "--verbose",
        f"--file={partial}",
        f"--dbname={dsn}",
        *([f"--schema={schema}"] if schema else []),
    ]
    _run_tool(command, environment, "database", progress)
    partial.replace(destination)


def _pg_restore(backup: Path, url: URL, *, schema: str | None, progress: Progress) -> None:
    dsn, environment = _libpq(url)
    command = [
        _tool("pg_restore"),
        "--verbose",
        "--exit-on-error",
        "--single-transaction",
        # Whatever is there goes first (only reached when empty, or with --force).
        "--clean",
        "--if-exists",
        # Owned by the user restoring, whatever the roles of the server backed up.
        "--no-owner",
        "--no-acl",
        f"--dbname={dsn}",
        str(backup),
    ]
    _run_tool(command, environment, "database", progress)


def _run_tool(
    command: list[str], environment: dict[str, str], label: str, progress: Progress
) -> None:
    """Run a PostgreSQL tool, its ``--verbose`` lines counted as progress."""
    lines: list[str] = []
    with subprocess.Popen(
        command,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as tool:
        assert tool.stderr is not None
        for line in tool.stderr:
            lines.append(line.rstrip())
            progress(label, len(lines), None)
    if tool.returncode != 0:
        errors = [line for line in lines if "error" in line.lower()] or lines[-5:]
        raise BackupRefused(f"{Path(command[0]).name} failed: " + " | ".join(errors[-5:]))


def _occupied(settings: Settings, url: URL) -> list[str]:
    """What the restore would replace: a database with tables, a data directory with files."""
    found = []
    if settings.data_dir.is_dir() and any(settings.data_dir.iterdir()):
        found.append(f"{settings.data_dir} has files")
    if url.get_backend_name() == "sqlite":
        if _sqlite_path(url).exists():
            found.append(f"{_sqlite_path(url)} exists")
        return found
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names(schema=_schema_of(url))
    finally:
        engine.dispose()
    if tables:
        found.append(f"the database holds {len(tables)} tables")
    return found


# --- Both -----------------------------------------------------------------------------------


def _revision(database_url: str) -> str | None:
    """The schema's migration revision (``medwaste migrate`` brings a restored one forward)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no schema yet: a backup of an unmigrated database
        return None
    finally:
        engine.dispose()


def _copy_tree(
    source: Path, destination: Path, *, skip: set[Path], progress: Progress
) -> list[str]:
    """Copy every file under ``source`` (but ``skip``) as private files; their relative names."""
    names = sorted(path for path in _files(source) if path.resolve() not in skip)
    copied = []
    for done, path in enumerate(names):
        progress("secrets and keys", done, len(names))
        relative = path.relative_to(source).as_posix()
        target = destination / relative
        _private_dirs(destination, target.parent)
        _write_private(target, path.read_bytes())
        copied.append(relative)
    return copied


def _files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


def _inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing a name that would leave ``root``."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
        raise BackupRefused(f"the manifest names a file outside the backup: {relative!r}")
    return root.joinpath(*parts)


def _private_dirs(root: Path, directory: Path) -> None:
    """Create ``directory`` and the folders between it and ``root``, owner-only."""
    root.mkdir(parents=True, exist_ok=True)
    current = root
    for part in directory.relative_to(root).parts:
        current = current / part
        current.mkdir(exist_ok=True)
        current.chmod(0o700)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_private(path: Path, content: str | bytes) -> None:
    """Write ``path`` readable by its owner only (secrets, databases)."""
    data = content.encode() if isinstance(content, str) else content
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)
