"""What the benchmarks share: a fresh database to load, a free port, and a server process
started, waited for and stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, text


def postgres_schema_url(base: str, schema: str) -> str:
    """``base`` with ``schema`` first on the search path (a schema per run, dropped after)."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def fresh_database(pg_url: str | None, workdir: Path, name: str) -> Iterator[str]:
    """A new, empty database: a SQLite file ``name``.db in ``workdir``, or a new PostgreSQL
    schema that is dropped at the end."""
    if pg_url is None:
        yield f"sqlite:///{workdir / f'{name}.db'}"
        return
    schema = f"medwaste_{name.replace('-', '_')}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_schema_url(pg_url, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running(
    command: Sequence[str],
    *,
    port: int,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    wait_seconds: float = 90,
) -> Iterator[str]:
    """Start ``command`` (a server listening on ``port``) in a process group of its own,
    yield its base URL once ``/health`` answers, and stop it with SIGINT (uvicorn shuts down
    cleanly, py-spy writes its file), SIGKILL after 60 s."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited ({process.returncode}); see {log}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not come up in {wait_seconds:g} s; see {log}")
            time.sleep(0.2)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
