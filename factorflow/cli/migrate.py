"""``factorflow migrate privacyidea``: import a privacyIDEA installation
(``factorflow migrate edumfa``: an eduMFA 2.x one).

See :mod:`factorflow.migrate.privacyidea` and docs/migration.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from factorflow.cli.common import DataDir, open_services, progress_bar
from factorflow.errors import FactorflowError
from factorflow.migrate.items import Report
from factorflow.migrate.names import EDUMFA, PRIVACYIDEA, SourceNames
from factorflow.migrate.privacyidea import PiInstallation, migrate
from factorflow.migrate.target import MigrationTarget

if TYPE_CHECKING:
    from factorflow.bootstrap import Services

migrate_app = typer.Typer(help="Import another MFA server's installation.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Report what would be imported; change nothing.")
]


def migration_target(services: Services) -> MigrationTarget:
    from factorflow.bootstrap import PI_PEPPER_FILE

    return MigrationTarget(
        sessions=services.sessions,
        users=services.users,
        tokens=services.tokens,
        admins=services.admins,
        policies=services.policies,
        events=services.events,
        notify=services.notify,
        federation=services.federation,
        audit=services.audit,
        pepper_file=services.settings.data_dir / PI_PEPPER_FILE,
    )


@migrate_app.command("privacyidea")
def privacyidea_command(
    pi_config: Annotated[
        Path, typer.Option("--pi-config", help="privacyIDEA's pi.cfg (read, never run).")
    ],
    dry_run: DryRun = False,
    with_audit: Annotated[
        bool,
        typer.Option(
            "--with-audit",
            help="Also import privacyIDEA's audit log into Factorflow's audit chain "
            "(entries newer than those imported before).",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Import privacyIDEA's user stores, realms, tokens, admins, policies, event
    definitions, SMTP servers, SMS gateways, privacyIDEA servers and event counters
    (and, with --with-audit, its audit log). A second run imports only what changed in
    privacyIDEA since."""
    import_installation(
        pi_config, PRIVACYIDEA, dry_run=dry_run, with_audit=with_audit, data_dir=data_dir
    )


@migrate_app.command("edumfa")
def edumfa_command(
    config: Annotated[
        Path, typer.Option("--config", help="eduMFA's edumfa.cfg (read, never run).")
    ],
    dry_run: DryRun = False,
    data_dir: DataDir = None,
) -> None:
    """Import an eduMFA 2.x installation: what `migrate privacyidea` imports, read
    under eduMFA's names (edumfa.cfg, EDUMFA_ENCFILE, EDUMFA_PEPPER, eduMFA servers),
    without its audit log."""
    import_installation(config, EDUMFA, dry_run=dry_run, with_audit=False, data_dir=data_dir)


def import_installation(
    config: Path, names: SourceNames, *, dry_run: bool, with_audit: bool, data_dir: Path | None
) -> None:
    try:
        installation = PiInstallation.open(config, names, with_audit=with_audit)
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    services = open_services(data_dir, with_events=True)
    try:
        target = migration_target(services)
        items = installation.items(target, services.token_types, services.box)
        with progress_bar(disable=len(items) < 200 and not with_audit) as bar:
            task = bar.add_task("Importing" if not dry_run else "Checking", total=len(items))
            audit_task = bar.add_task("Audit entries", total=None, visible=False)
            report = migrate(
                installation,
                target,
                services.token_types,
                services.box,
                dry_run=dry_run,
                items=items,
                progress=lambda _item: bar.advance(task),
                audit_progress=lambda done, total: bar.update(
                    audit_task, completed=done, total=total, visible=True
                ),
            )
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    finally:
        installation.close()
        services.close()
    print_report(report, names.product)
    if report.total("not imported"):
        raise typer.Exit(1)


def print_report(report: Report, product: str = PRIVACYIDEA.product) -> None:
    title = "Dry run: nothing was changed" if report.dry_run else f"Imported from {product}"
    table = Table("kind", "new", "updated", "unchanged", "not imported", title=title)
    for kind in report.kinds():
        table.add_row(
            kind,
            *(str(report.counts[kind, o]) for o in ("new", "updated", "unchanged", "not imported")),
        )
    console.print(table)
    if report.not_imported:
        missing = Table("kind", "name", "why not", title="Not imported")
        for kind, key, reason in report.not_imported:
            missing.add_row(kind, key, reason)
        console.print(missing)
    if report.signatures:
        checked = ", ".join(
            f"{report.signatures[verdict]} {verdict}"
            for verdict in ("valid", "invalid", "not checked")
        )
        console.print(f"privacyIDEA audit signatures: {checked}")
    for note in report.notes:
        console.print(f"note: {note}")
