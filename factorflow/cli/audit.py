"""``factorflow audit``: verify the audit chain, move this node's anchor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from factorflow.audit.verify import TAMPER_TEXT, VerifyReport
from factorflow.cli.common import DataDir, open_services
from factorflow.db.base import transaction

audit_app = typer.Typer(help="Audit log.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


Anchors = Annotated[
    list[Path] | None,
    typer.Option(
        "--anchor",
        help="Another node's anchor file to check too (repeatable); this node's is always read.",
    ),
]


@audit_app.command("verify")
def audit_verify(data_dir: DataDir = None, anchor: Anchors = None) -> None:
    """Check the audit chain: every entry's signature and link, the head and the anchors.

    Exit codes: 0 intact, 3 entries altered, 4 entries deleted, 5 newest entries deleted,
    6 head or anchor rolled back / chain rewritten, 7 no usable anchor (several kinds:
    the gravest, 6 > 5 > 4 > 3).
    """
    services = open_services(data_dir)
    columns = (
        TextColumn("verifying audit log"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    try:
        with (
            transaction(services.sessions) as session,
            Progress(*columns, console=err, transient=True) as progress,
        ):
            task = progress.add_task("verify", total=None)
            report = services.audit.verify(
                session,
                anchors=anchor or (),
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    finally:
        services.close()
    print_report(report)
    raise typer.Exit(report.exit_code)


def print_report(report: VerifyReport) -> None:
    chained = report.checked - report.legacy
    console.print(
        f"{report.checked} entries checked: {chained} in the chain (from entry "
        f"{report.genesis + 1}, head {report.head if report.head is not None else 'missing'}), "
        f"{report.anchors} anchor(s)."
    )
    if report.legacy:
        console.print(
            f"{report.legacy} entries up to {report.genesis} were written before the chain "
            "(migration 0004): each is checked by its own signature only."
        )
    for kind in sorted(report.findings):
        finding = report.findings[kind]
        console.print(
            f"[red]{TAMPER_TEXT[kind]}[/red] (exit {int(kind)}): {finding.count}, "
            f"first bad sequence number {finding.first}: {finding.numbers()}"
        )
        for note in finding.notes:
            console.print(f"  - {note}")
    if report.unlinked:
        console.print(f"{report.unlinked} entries right after a gap: their link cannot be checked.")
    if report.ok:
        console.print("[green]Audit log intact.[/green]")
    else:
        console.print(
            f"[red]Audit log NOT intact; first bad sequence number {report.first_bad}.[/red]"
        )


@audit_app.command("reanchor")
def audit_reanchor(
    data_dir: DataDir = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: the current head is trusted.")
    ] = False,
) -> None:
    """Set this node's anchor to the database's current head (after restoring a backup,
    or once a reported rollback is dealt with): entries lost before it go unreported."""
    if not yes:
        err.print("[red]error:[/red] pass --yes: verify first, the anchor then trusts the head.")
        raise typer.Exit(1)
    services = open_services(data_dir)
    try:
        point = services.audit.reanchor()
    finally:
        services.close()
    if point is None:
        err.print("[red]error:[/red] the database has no validly signed audit head.")
        raise typer.Exit(1)
    console.print(f"Anchor set to entry {point.seq}.")
