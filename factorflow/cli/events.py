"""``factorflow event export|import``: event definitions as a YAML file;
``factorflow event run-scheduled``: run scheduled definitions now.

Same format and semantics as ``GET /event/export`` and ``POST /event/import``
(``factorflow.events.transfer``): import matches definitions by ``uid``, validates
every entry exactly as ``POST /event`` does and writes all or nothing; history
rows name ``cli:<login>`` as who made the change.

Secret options are exported as ``__CENSORED__`` (an import keeps the stored secret of
the same uid). ``export --with-secrets`` writes them in plaintext, for a backup that
restores into another database: only here, on the server, by whoever can read its
encryption key anyway; the API never offers it. The file is created owner-only.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    TaskID,
)
from rich.table import Table

from factorflow.cli.common import DataDir, open_services, progress_bar
from factorflow.db.base import transaction, utcnow
from factorflow.errors import FactorflowError
from factorflow.events import transfer

if TYPE_CHECKING:
    pass

event_app = typer.Typer(help="Event definitions as configuration.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@event_app.command("export")
def export_command(
    *,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Write here (default: stdout).")
    ] = None,
    name: Annotated[list[str] | None, typer.Option(help="Only definitions with this name.")] = None,
    ids: Annotated[list[int] | None, typer.Option("--id", help="Only this definition id.")] = None,
    with_secrets: Annotated[
        bool,
        typer.Option(
            "--with-secrets",
            help="Write secret options in plaintext (a backup for another database; "
            "keep the file as safe as the encryption key).",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Export event definitions as YAML (all, or those matching --name / --id)."""
    services = open_services(data_dir, with_events=True)
    try:
        with transaction(services.sessions) as session:
            chosen = transfer.select_definitions(
                services.events.all(session, reveal=with_secrets), names=name or [], ids=ids or []
            )
    finally:
        services.close()
    text = transfer.dump_yaml(transfer.export_document(chosen))
    if with_secrets:
        err.print("[yellow]warning:[/yellow] the export holds secret options in plaintext")
    if file is None:
        sys.stdout.write(text)
        return
    write_private(file, text)
    err.print(f"{len(chosen)} definitions written to {file}")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (an existing file too)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@event_app.command("import")
def import_command(
    file: Annotated[str, typer.Argument(help="YAML or JSON file ('-': stdin).")],
    *,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; change nothing.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Import event definitions (Factorflow or privacyIDEA export), matched by uid."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]error:[/red] cannot read {file}: {exc}")
        raise typer.Exit(2) from None
    services = open_services(data_dir, with_events=True)
    try:
        entries = transfer.import_entries(text)
        with transaction(services.sessions) as session:
            report = services.events.import_definitions(session, entries, _who(), dry_run=dry_run)
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        err.print("Nothing was imported.")
        raise typer.Exit(1) from None
    finally:
        services.close()
    value = transfer.summary(report, dry_run=dry_run)
    table = Table("uid", "id", "name", "result")
    for item in report:
        table.add_row(item["uid"], str(item["id"] or ""), item["name"], item["result"])
    console.print(table)
    console.print(
        f"created {value['created']}, updated {value['updated']}, "
        f"unchanged {value['unchanged']}" + (" (dry run: nothing changed)" if dry_run else "")
    )


@event_app.command("run-scheduled")
def run_scheduled_command(
    *,
    definition: Annotated[
        int | None, typer.Option("--definition", help="Only this scheduled definition (id).")
    ] = None,
    now: Annotated[
        bool,
        typer.Option(
            "--now", help="Run at once even if not due (an extra run; the schedule is kept)."
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Run scheduled definitions that are due (or, with --now, all of them / the one)."""
    from factorflow.events.scheduler import RunReport, Scheduler

    services = open_services(data_dir, with_events=True)
    reports: list[RunReport] = []
    try:
        scheduler = Scheduler(services.event_ports)
        if definition is not None:
            ids = [definition]
        else:
            ids = scheduler.scheduled_ids(due_by=None if now else utcnow())
        with progress_bar() as progress:
            for definition_id in ids:
                task = progress.add_task(f"definition {definition_id}", total=None)

                def advance(done: int, total: int, task: TaskID = task) -> None:
                    progress.update(task, completed=done, total=total)

                report = scheduler.run_one(definition_id, force=now, progress=advance)
                if report is None:
                    err.print(f"definition {definition_id} is not due (or another node runs it)")
                else:
                    reports.append(report)
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.close()
    table = Table("id", "name", "swept", "matched", "failed", "note")
    for item in reports:
        table.add_row(
            str(item.definition_id),
            item.name,
            str(item.swept),
            str(item.matched),
            str(item.failed),
            item.stopped or ", ".join(sorted(item.skipped)),
        )
    console.print(table)
    console.print(f"{len(reports)} scheduled run(s)")
    if any(not item.ok for item in reports):
        raise typer.Exit(1)
