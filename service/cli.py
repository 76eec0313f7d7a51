"""The ``medwaste`` command line."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from sqlalchemy import Engine

from service.config import get_settings

app = typer.Typer(help="Medical waste chain-of-custody tracker.", no_args_is_help=True)


def _engine() -> Engine:
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
    """Serve the API (run `medwaste migrate` first)."""
    import uvicorn

    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
    )


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
            default_profile=settings.default_profile,
            progress=progress,
        )
    typer.echo(f"sweep as of {when.isoformat()}")
    for name, count in report.examined.items():
        typer.echo(f"  examined {name}: {count}")
    typer.echo(f"  new anomalies: {len(report.new)}")
    for kind, count in report.by_kind.items():
        typer.echo(f"    {kind}: {count}")
    typer.echo(f"  escalated: {len(report.escalated)}")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
