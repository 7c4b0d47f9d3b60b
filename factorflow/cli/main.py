"""``factorflow`` — set up, run and administer a Factorflow server.

Every command is non-interactive when given its options, so scripts can drive it.
``FACTORFLOW_DATA_DIR`` (or ``--data-dir``) selects the data directory.
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from factorflow.auth.throttle import client_subject
from factorflow.bootstrap import Services, prepare_data_dir
from factorflow.cli.audit import audit_app
from factorflow.cli.common import DataDir, load_settings, open_services
from factorflow.cli.events import event_app
from factorflow.cli.jobs import jobs_app, worker_command
from factorflow.cli.migrate import migrate_app
from factorflow.cli.tokens import token_app
from factorflow.crypto import hashing_threads_per_worker
from factorflow.db.base import make_engine, transaction
from factorflow.db.schema import upgrade
from factorflow.errors import FactorflowError

app = typer.Typer(help="Factorflow MFA server.", no_args_is_help=True, add_completion=False)
admin_app = typer.Typer(help="Manage local administrators.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
lockouts_app = typer.Typer(help="Login backoffs and lockouts of POST /auth.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(lockouts_app, name="lockouts")
app.add_typer(jobs_app, name="jobs")
app.add_typer(event_app, name="event")
app.add_typer(migrate_app, name="migrate")
app.add_typer(token_app, name="token")
app.command("worker")(worker_command)

console = Console()
err = Console(stderr=True)


def ensure_first_admin(services: Services, name: str, password: str | None) -> str | None:
    """Create the first admin if there is none; return the password it was given."""
    with transaction(services.sessions) as session:
        if services.admins.list(session):
            return None
        chosen = password or secrets.token_urlsafe(15)
        services.admins.add(session, name, chosen)
        return chosen


@app.command()
def init(
    data_dir: DataDir = None,
    admin: Annotated[str, typer.Option(help="Name of the first admin.")] = "admin",
    password: Annotated[
        str | None, typer.Option(help="Its password (generated if omitted).")
    ] = None,
) -> None:
    """Create the data directory, keys and database schema, and the first admin."""
    services = open_services(data_dir)
    created = ensure_first_admin(services, admin, password)
    console.print(f"Data directory: {services.settings.data_dir}")
    if created is not None:
        console.print(f"Created admin [bold]{admin}[/bold] with password: [bold]{created}[/bold]")
    else:
        console.print("An admin exists already; none was created.")
    services.close()


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="API worker processes.")] = 1,
) -> None:
    """Run the API server (initialising the data directory on first start)."""
    import uvicorn

    services = open_services(data_dir)
    created = ensure_first_admin(services, "admin", None)
    if created is not None:
        console.print(
            f"First start: created admin [bold]admin[/bold] with password: [bold]{created}[/bold]"
        )
    auto_threads = services.settings.argon2_threads == 0
    services.close()
    if auto_threads and workers > 1:
        # The workers share the host's CPUs: give each its share of hashing threads
        # (the setting's "one per CPU" is right for one process per host).
        os.environ["FACTORFLOW_ARGON2_THREADS"] = str(hashing_threads_per_worker(workers))
    console.print(
        f"Factorflow listening on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)"
    )
    uvicorn.run(
        "factorflow.api.asgi:create",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=False,
        # Building the app (registries, migrations check) can take longer than
        # uvicorn's 5 s worker health check on a loaded machine.
        timeout_worker_healthcheck=120,
    )


@admin_app.command("add")
def admin_add(
    name: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    email: Annotated[str, typer.Option()] = "",
    data_dir: DataDir = None,
) -> None:
    """Add a local administrator."""
    services = open_services(data_dir)
    try:
        with transaction(services.sessions) as session:
            services.admins.add(session, name, password, email)
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.close()
    console.print(f"Admin {name} added.")


@admin_app.command("list")
def admin_list(data_dir: DataDir = None) -> None:
    """List local administrators."""
    services = open_services(data_dir)
    table = Table("name", "email", "created")
    with transaction(services.sessions) as session:
        for admin in services.admins.list(session):
            table.add_row(
                admin.username, admin.email, admin.created_at.isoformat(timespec="seconds")
            )
    services.close()
    console.print(table)


@admin_app.command("delete")
def admin_delete(name: str, data_dir: DataDir = None) -> None:
    """Delete a local administrator."""
    services = open_services(data_dir)
    try:
        with transaction(services.sessions) as session:
            services.admins.delete(session, name)
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.close()
    console.print(f"Admin {name} deleted.")


@admin_app.command("password")
def admin_password(
    name: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    data_dir: DataDir = None,
) -> None:
    """Set a local administrator's password."""
    services = open_services(data_dir)
    try:
        with transaction(services.sessions) as session:
            services.admins.set_password(session, name, password)
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.close()
    console.print(f"Password of {name} changed.")


@lockouts_app.command("list")
def lockouts_list(data_dir: DataDir = None) -> None:
    """List the accounts and client addresses whose logins are refused now."""
    services = open_services(data_dir)
    table = Table("scope", "subject", "state", "failures", "until")
    with transaction(services.sessions) as session:
        for row in services.logins.throttle.blocked(session):
            assert row.blocked_until is not None
            state = "lockout" if row.lockout else "backoff"
            until = row.blocked_until.isoformat(timespec="seconds")
            table.add_row(row.scope, row.subject, state, str(row.failures), until)
    services.close()
    console.print(table)


@lockouts_app.command("clear")
def lockouts_clear(
    subject: Annotated[str, typer.Argument(help="The account or client as the list shows it.")],
    client: Annotated[bool, typer.Option("--client", help="SUBJECT is a client address.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Forget the failed logins of an account (or client) and admit its logins again."""
    services = open_services(data_dir)
    scope, key = ("client", client_subject(subject)) if client else ("account", subject.lower())
    with transaction(services.sessions, write=True) as session:
        cleared = services.logins.throttle.clear_subject(session, scope, key)
    services.close()
    if not cleared:
        err.print(f"[red]error:[/red] no failed logins are counted for {scope} {subject!r}")
        raise typer.Exit(1)
    console.print(f"Cleared the failed logins of {scope} {subject}.")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply pending schema migrations."""
    settings = load_settings(data_dir)
    prepare_data_dir(settings)
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    engine.dispose()
    console.print("Database schema is up to date.")
