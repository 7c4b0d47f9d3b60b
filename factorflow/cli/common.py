"""What the ``factorflow`` commands share: the ``--data-dir`` option, opening the
services on it, and the progress bar of long work (on stderr, so that a command's
output stays clean for scripts)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from factorflow.errors import FactorflowError
from factorflow.settings import Settings

if TYPE_CHECKING:
    from factorflow.bootstrap import Services

err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $FACTORFLOW_DATA_DIR or ./factorflow-data)."
    ),
]


def load_settings(data_dir: Path | None) -> Settings:
    if data_dir is not None:
        os.environ["FACTORFLOW_DATA_DIR"] = str(data_dir.resolve())
    return Settings()


def open_services(data_dir: Path | None, *, with_events: bool = False) -> Services:
    """The services on ``data_dir``; exit 2 with the reason if they cannot be opened.
    ``with_events``: the event names the routes declare are known, so that definitions
    are checked as ``POST /event`` checks them."""
    # Imported here: a command that opens no services (``--help``) stays quick.
    from factorflow.bootstrap import build_services

    try:
        services = build_services(load_settings(data_dir))
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    if with_events:
        from factorflow.api.app import collect_routes

        services.events.set_available_events(
            [spec.endpoint.event for routes in collect_routes() for spec in routes.specs]
        )
    return services


def progress_bar(*, disable: bool = False) -> Progress:
    """A bar per task on stderr — what, how far, how long so far — gone when done."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=disable,
    )
