"""The ``medwaste`` command line."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from service.anomalies.profile import Profiles
from service.config import get_settings

app = typer.Typer(help="Medical waste chain-of-custody tracker.", no_args_is_help=True)


def _engine() -> Engine:
    # Every table on the metadata: a command's writes may reference any of them (escalating
    # an anomaly writes a step whose foreign key names the user table).
    import service.models  # noqa: F401
    from service.db import make_engine

    settings = get_settings()
    return make_engine(settings.effective_database_url, pool_size=2)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from service.migrate import upgrade

    url = get_settings().effective_database_url
    upgrade(url)
    typer.echo(f"database at {_redacted(url)} is up to date")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Serve the API (run `medwaste migrate` first). Logs are JSON lines on stderr."""
    import uvicorn
    from sqlalchemy.engine import make_url

    from service.observability.logs import log_config

    url = get_settings().effective_database_url
    if workers > 1 and make_url(url).get_backend_name() == "sqlite":
        typer.echo(
            "error: --workers above 1 needs PostgreSQL (set DATABASE_URL); an SQLite database"
            " is served by one process",
            err=True,
        )
        raise typer.Exit(2)
    if workers > 1:
        _metrics_directory()
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # X-Forwarded-For is read by the app itself, from MEDWASTE_TRUSTED_PROXIES only.
        proxy_headers=False,
        log_config=log_config(),
        access_log=False,
    )


def _metrics_directory() -> None:
    """Several workers add up their metrics in files (prometheus-client's multi-process
    mode): in PROMETHEUS_MULTIPROC_DIR if set, else a new temporary directory. Files of an
    earlier run are removed, as that mode requires."""
    import os
    import tempfile

    from service.observability.metrics import MULTIPROC_ENV

    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="medwaste-metrics-")
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):
        stale.unlink()


@app.command()
def demo(
    force: Annotated[bool, typer.Option(help="Load even if the database has data.")] = False,
) -> None:
    """Load the demo region (Inner Mongolia: Hohhot, Baotou) unless data is already there."""
    from service.demo import load_demo

    settings = get_settings()
    loaded = load_demo(engine=_engine(), settings=settings, force=force)
    if loaded is None:
        typer.echo("the database already holds data; demo not loaded (use --force to add it)")
        return
    typer.echo("demo region loaded. Users (username / password / role):")
    for username, password, role in loaded:
        typer.echo(f"  {username:<12} {password:<18} {role}")


@app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
) -> None:
    """Create a system administrator."""
    _create_user(username, password, "admin", None)


@app.command("create-user")
def create_user(
    username: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Annotated[str, typer.Option(help="hospital_staff, driver, storage_operator, ...")],
    organization_id: Annotated[str | None, typer.Option(help="The user's organization id.")] = None,
) -> None:
    """Create a user in an organization."""
    _create_user(username, password, role, organization_id)


def _create_user(username: str, password: str, role: str, organization_id: str | None) -> None:
    from service.auth.roles import Role
    from service.auth.service import create_user as make_user
    from service.db import session_scope
    from service.errors import DomainError

    try:
        role_value = Role(role)
        org = uuid.UUID(organization_id) if organization_id else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        with session_scope(_engine(), write=True) as session:
            user = make_user(
                session=session,
                username=username,
                password=password,
                role=role_value,
                organization_id=org,
            )
            typer.echo(f"created {user.role} {user.username} ({user.id})")
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc


@app.command("rotate-label-key")
def rotate_label_key() -> None:
    """Start signing new labels with a fresh key; old labels keep verifying."""
    from service.db import session_scope
    from service.labels.keys import rotate

    with session_scope(_engine(), write=True) as session:
        signer = rotate(session=session, settings=get_settings())
    typer.echo(f"new label-signing key {signer.key_id} is active")


@app.command("rotate-log-key")
def rotate_log_key() -> None:
    """Sign the transparency log's checkpoints with a fresh key; the old verifier keys stay
    published (restart the servers so that they all sign with it)."""
    from service.db import session_scope
    from service.tlog.keys import rotate_log_key as rotate

    with session_scope(_engine(), write=True) as session:
        signer = rotate(session=session, settings=get_settings())
    typer.echo(f"new log key: {signer.vkey}")


@app.command()
def checkpoint() -> None:
    """Integrate new events into the transparency log and print its latest checkpoint."""
    from service.db import session_scope, utcnow
    from service.tlog.keys import load_log_signer
    from service.tlog.service import issue_checkpoint

    with session_scope(_engine(), write=True) as session:
        signer = load_log_signer(session=session, settings=get_settings())
        issued = issue_checkpoint(session, signer=signer, now=utcnow())
    typer.echo(issued.note, nl=False)


@app.command()
def verify(
    bundle: Annotated[
        Path | None, typer.Argument(help="An evidence bundle (JSON) to check offline.")
    ] = None,
    log_key: Annotated[
        list[str] | None,
        typer.Option("--log-key", help="A log verifier key you trust; repeat for older keys."),
    ] = None,
    previous: Annotated[
        Path | None, typer.Option(help="A checkpoint you saved earlier (text file).")
    ] = None,
    consistency: Annotated[
        Path | None, typer.Option(help="A consistency proof (JSON) to that checkpoint.")
    ] = None,
    label_keys: Annotated[
        Path | None, typer.Option(help="The label keys you trust (JSON of /api/v1/labels/keys).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="Print only what fails.")] = False,
    all_: Annotated[
        bool, typer.Option("--all", help="Audit this server's database: every chain and the log.")
    ] = False,
) -> None:
    """Verify an evidence bundle offline (BUNDLE --log-key KEY), or the whole database (--all)."""
    if all_:
        if bundle is not None:
            raise typer.BadParameter("give either a bundle or --all")
        _verify_all()
        return
    if bundle is None or not log_key:
        raise typer.BadParameter("give a bundle and at least one --log-key (or --all)")
    from service.tlog.verifier import run

    status = run(
        bundle,
        log_keys=log_key,
        previous_path=previous,
        consistency_path=consistency,
        label_keys_path=label_keys,
        quiet=quiet,
        echo=typer.echo,
    )
    raise typer.Exit(status)


@app.command()
def witness(
    log: Annotated[str, typer.Option(help="The log's address, e.g. https://host/api/v1/log.")],
    log_key: Annotated[list[str], typer.Option("--log-key", help="A log verifier key you trust.")],
    state: Annotated[Path, typer.Option(help="The file that keeps the last good checkpoint.")],
) -> None:
    """One round of a witness: the log's checkpoint must extend the one kept last time (a
    consistency proof built from the log's tiles). Run it from cron; exit 1 is an alarm."""
    from service.tlog.verifier import run_witness

    raise typer.Exit(run_witness(log, log_keys=log_key, state=state, echo=typer.echo))


def _verify_all() -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from service.db import session_scope
    from service.tlog.audit import audit_all

    with (
        Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
        ) as bar,
        session_scope(_engine()) as session,
    ):
        task = bar.add_task("verifying", total=None)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"verifying {label}")

        report = audit_all(session, progress=progress)
    typer.echo(
        f"{report.containers} containers, {report.events} events, {report.leaves} log leaves, "
        f"tree of {report.tree_size} leaves, {report.checkpoints} checkpoints"
    )
    if report.ok:
        typer.echo(f"VERIFIED: every chain, the log and its root {report.root_hash}")
        return
    typer.echo(f"NOT VERIFIED: {len(report.problems) + report.more_problems} problems")
    for problem in report.problems:
        typer.echo(f"  {problem}")
    if report.more_problems:
        typer.echo(f"  ... and {report.more_problems} more")
    raise typer.Exit(1)


@app.command()
def sweep(
    at: Annotated[
        str | None, typer.Option(help="Run as of this RFC 3339 time instead of now.")
    ] = None,
) -> None:
    """Run the anomaly sweep once and print what it found."""
    from datetime import datetime

    from rich.progress import Progress

    from service.anomalies.sweep import run_sweep
    from service.db import session_scope, utcnow

    try:
        when = datetime.fromisoformat(at) if at else utcnow()
    except ValueError as exc:
        raise typer.BadParameter(f"not an RFC 3339 time: {at}") from exc
    if when.tzinfo is None:
        raise typer.BadParameter("the time needs an offset, e.g. 2026-11-02T08:00:00+08:00")
    settings = get_settings()
    with Progress(transient=True) as bar, session_scope(_engine(), write=True) as session:
        task = bar.add_task("sweeping", total=6)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=label)

        report = run_sweep(
            session=session,
            now=when,
            profiles=Profiles.from_settings(settings),
            progress=progress,
        )
    typer.echo(f"sweep as of {when.isoformat()}")
    for name, count in report.examined.items():
        typer.echo(f"  examined {name}: {count}")
    typer.echo(f"  new anomalies: {len(report.new)}")
    for kind, count in report.by_kind.items():
        typer.echo(f"    {kind}: {count}")
    typer.echo(f"  escalated: {len(report.escalated)}")


@app.command()
def backup(
    directory: Annotated[Path, typer.Argument(help="A new or empty directory.")],
) -> None:
    """Back up the database (consistent while the service runs) and the data directory's
    secrets and keys, with a manifest of checksums. Keep the result offline: it holds keys."""
    from service.backup import take_backup

    settings = get_settings()
    with _backup_work("backing up") as progress:
        summary = take_backup(settings=settings, target=directory, progress=progress)
    typer.echo(
        f"backed up the {summary.backend} database and {len(summary.files) - 1} files of "
        f"{settings.data_dir} into {directory} at {summary.created_at}"
    )
    for name in summary.left_out:
        typer.echo(f"  not in the backup (given in the environment): {name}; keep it offline too")


@app.command()
def restore(
    directory: Annotated[Path, typer.Argument(help="A directory made by `medwaste backup`.")],
    force: Annotated[
        bool, typer.Option(help="Replace a database and data directory that are not empty.")
    ] = False,
) -> None:
    """Restore a backup into the configured database and data directory, after checking
    every file's checksum. Stop the service first; run `medwaste migrate` afterwards."""
    from service.backup import restore_backup

    settings = get_settings()
    with _backup_work("restoring") as progress:
        summary = restore_backup(
            settings=settings, source=directory, force=force, progress=progress
        )
    typer.echo(
        f"restored the backup of {summary.created_at} ({summary.backend}, "
        f"{len(summary.files)} files, checksums verified) into "
        f"{_redacted(settings.effective_database_url)} and {settings.data_dir}"
    )
    for name in summary.left_out:
        typer.echo(f"  set {name} as before: it was given in the environment, not backed up")
    typer.echo("next: `medwaste migrate`, then `medwaste verify --all`")


@contextmanager
def _backup_work(title: str) -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress bar on the terminal (stderr) for each stage of a backup or restore; a
    refusal is printed and ends the command with status 1."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from service.backup import BackupRefused

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(title, total=None)

        def progress(label: str, done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total, description=f"{title}: {label}")

        try:
            yield progress
        except BackupRefused as exc:
            bar.stop()
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
