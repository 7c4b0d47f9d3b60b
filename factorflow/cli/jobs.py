"""``factorflow jobs`` (list, show, retry, discard) and ``factorflow worker``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from factorflow.cli.common import DataDir, load_settings, open_services
from factorflow.db.base import transaction
from factorflow.errors import FactorflowError
from factorflow.jobs.service import describe_job

if TYPE_CHECKING:
    pass

jobs_app = typer.Typer(help="The durable job queue (emails, SMS, webhooks).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@jobs_app.command("list")
def jobs_list(
    *,
    state: Annotated[str, typer.Option(help="queued, running, delivered, dead or discarded.")] = "",
    kind: Annotated[str, typer.Option(help="email, sms, ...")] = "",
    definition: Annotated[str, typer.Option(help="Name of the event definition.")] = "",
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    data_dir: DataDir = None,
) -> None:
    """List jobs, newest first."""
    services = open_services(data_dir)
    try:
        with transaction(services.sessions) as session:
            found = services.jobs.list(
                session,
                state=state,
                kind=kind,
                definition=definition,
                page=page,
                page_size=page_size,
            )
            rows = [describe_job(job) for job in found.jobs]
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.close()
    table = Table(
        "id", "kind", "state", "recipient", "attempts", "next attempt", "definition", "last error"
    )
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["kind"],
            row["state"],
            row["recipient"],
            f"{row['attempts']}/{row['max_attempts']}",
            (row["next_attempt_at"] or "")[:19],
            row["definition"],
            (row["last_error"] or "")[:60],
        )
    console.print(table)
    console.print(f"{found.total} jobs")


@jobs_app.command("show")
def jobs_show(job_id: int, data_dir: DataDir = None) -> None:
    """Show a job's metadata, last error and every attempt (never its payload)."""
    services = open_services(data_dir)
    try:
        with transaction(services.sessions) as session:
            data = describe_job(services.jobs.get(session, job_id), attempts=True)
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.close()
    for key, value in data.items():
        if key != "attempt_log":
            console.print(f"[bold]{key}[/bold]: {value}")
    table = Table("#", "worker", "started", "finished", "outcome", "error / detail")
    for attempt in data["attempt_log"]:
        table.add_row(
            str(attempt["number"]),
            attempt["worker"],
            (attempt["started_at"] or "")[:23],
            (attempt["finished_at"] or "")[:23],
            attempt["outcome"],
            attempt["error"] or attempt["detail"],
        )
    console.print(table)


def _change(job_id: int, data_dir: Path | None, verb: str) -> None:
    services = open_services(data_dir)
    try:
        with transaction(services.sessions) as session:
            action = services.jobs.retry if verb == "retry" else services.jobs.discard
            job = action(session, job_id)
            state = job.state
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.close()
    console.print(f"Job {job_id} is {state}.")


@jobs_app.command("retry")
def jobs_retry(job_id: int, data_dir: DataDir = None) -> None:
    """Queue a dead, discarded or waiting job for delivery now, with fresh attempts."""
    _change(job_id, data_dir, "retry")


@jobs_app.command("discard")
def jobs_discard(job_id: int, data_dir: DataDir = None) -> None:
    """Give up on a waiting or dead job."""
    _change(job_id, data_dir, "discard")


def worker_command(
    data_dir: DataDir = None,
    processes: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    threads: Annotated[
        int | None, typer.Option(min=1, max=64, help="Threads per process (default: setting).")
    ] = None,
) -> None:
    """Deliver queued jobs until stopped (SIGTERM/SIGINT), in one or more processes."""
    from factorflow.worker.process import run_worker, run_worker_processes

    settings = load_settings(data_dir)
    console.print(
        f"Factorflow worker: {processes} process(es), "
        f"{threads or settings.worker_threads} thread(s) each, pid {os.getpid()}"
    )
    if processes == 1:
        run_worker(settings, threads=threads)
        return
    failed = run_worker_processes(processes, threads=threads)
    if failed:
        raise typer.Exit(1)
