"""What the benchmarks share: a fresh database to load, a free port, and a server process
started, waited for and stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent


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


# The process of each running server, by base URL (see :func:`cpu_seconds`).
SERVERS: dict[str, int] = {}


def cpu_seconds(base: str) -> float | None:
    """CPU seconds the server at ``base`` has used so far, its worker processes included (the
    process group it leads): on a shared machine, CPU per request is steadier than requests
    per second. None where /proc cannot say."""
    pid = SERVERS.get(base)
    if pid is None:
        return None
    ticks = 0
    try:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pid:  # in the server's process group
                    ticks += int(fields[11]) + int(fields[12])  # utime, stime
    except OSError:
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


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
        SERVERS[base] = process.pid
        yield base
    finally:
        SERVERS.pop(base, None)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def uvicorn_command(
    app: str, port: int, *, workers: int = 1, python: str = sys.executable
) -> list[str]:
    """uvicorn serving the factory ``app`` on loopback, quietly."""
    return [
        python,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--workers={workers}",
        "--log-level=warning",
        "--no-access-log",
    ]


def server_env(
    url: str, data_dir: Path, *, code_root: Path = ROOT, **settings: str
) -> dict[str, str]:
    """The process environment of a server on ``url``: no sweep unless ``settings`` say so."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "MEDWASTE_DATA_DIR": str(data_dir),
        "MEDWASTE_SWEEP_INTERVAL_SECONDS": "0",
        "PYTHONPATH": str(code_root),
        **settings,
    }


@contextlib.contextmanager
def bench_server(
    url: str,
    data_dir: Path,
    log: Path,
    *,
    workers: int = 1,
    profile: Path | None = None,
    wait_seconds: float = 90,
    code_root: Path = ROOT,
) -> Iterator[str]:
    """The real app plus the bench routes (``bench/app.py``) under uvicorn on loopback, from
    this checkout or ``code_root`` (another one, with this one's Python environment);
    sampled by py-spy into ``profile`` when given (install it into .venv for the run)."""
    port = free_port()
    command = uvicorn_command("bench.app:create_bench_app", port, workers=workers)
    if profile is not None:
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        # --nonblocking: py-spy otherwise stops the server at every sample (a 16-connection
        # inspect run fell from ~120 to 14 requests/s); --gil: only the thread holding the GIL,
        # so that the samples say where the CPU goes rather than which threads wait.
        spy = [py_spy, "record", "--nonblocking", "--gil", "--format", "raw", "--rate", "200"]
        spy += ["-o", str(profile)]
        command = [*spy, *(["--subprocesses"] if workers > 1 else []), "--", *command]
    env = server_env(url, data_dir, code_root=code_root)
    with running(
        command, port=port, cwd=code_root, env=env, log=log, wait_seconds=wait_seconds
    ) as base:
        yield base
