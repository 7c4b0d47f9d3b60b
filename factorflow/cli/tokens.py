"""``factorflow token import FILE`` and ``factorflow token export --pskc FILE``: seed
files from the command line, as ``POST /token/load`` and ``POST /token/export`` do
(docs/token-import.md). The commands act as the server's operator: no admin policy
applies and no audit entry is written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Select, or_, select

from factorflow.cli.common import DataDir, open_services, progress_bar
from factorflow.db.base import transaction
from factorflow.errors import FactorflowError
from factorflow.tokens.models import Token, TokenOwner, TokenRealm
from factorflow.tokens.seeds.gpg import KEYRING
from factorflow.tokens.seeds.load import FILE_TYPES, LoadOptions, check_file, load_file
from factorflow.tokens.seeds.model import SeedFileError
from factorflow.tokens.seeds.pskcfile import (
    ALGORITHMS,
    MAC_CHECKS,
    MacCheck,
    Protection,
    export_pskc,
    psk_bytes,
)
from factorflow.users.models import Realm

token_app = typer.Typer(help="Import and export token seed files.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
Psk = Annotated[
    str,
    typer.Option("--psk", envvar="FACTORFLOW_PSKC_PSK", help="PSKC pre-shared AES key (hex)."),
]
Password = Annotated[
    str,
    typer.Option("--password", envvar="FACTORFLOW_PSKC_PASSWORD", help="PSKC password (PBKDF2)."),
]


@token_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The seed file.", exists=True, dir_okay=False)],
    *,
    file_type: Annotated[
        str, typer.Option("--type", help=f"One of: {', '.join(FILE_TYPES)}.")
    ] = "oathcsv",
    realm: Annotated[
        list[str] | None, typer.Option("--realm", help="Put the tokens into this realm (repeat).")
    ] = None,
    psk: Psk = "",
    password: Password = "",
    validate_mac: Annotated[
        str, typer.Option("--validate-mac", help=f"PSKC MAC check: {', '.join(MAC_CHECKS)}.")
    ] = "check_fail_hard",
    data_dir: DataDir = None,
) -> None:
    """Import the tokens of a PSKC, OATH CSV or Yubikey CSV file: all of them, or none
    and the list of rejected lines (exit 1)."""
    if validate_mac not in MAC_CHECKS:
        err.print(f"[red]error:[/red] --validate-mac must be one of {', '.join(MAC_CHECKS)}")
        raise typer.Exit(2)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        err.print("[red]error:[/red] the file is not UTF-8 text")
        raise typer.Exit(2) from None
    mac: MacCheck = validate_mac
    services = open_services(data_dir)
    keyring = services.settings.data_dir / KEYRING
    options = LoadOptions(file_type, tuple(realm or ()), psk, password, mac, keyring)
    tokens = services.tokens
    try:
        with transaction(services.sessions, write=True) as session:
            report = check_file(session, tokens.types, tokens.access.users, text, options)
            with progress_bar(disable=len(report.imported) < 1000) as bar:
                task = bar.add_task("Importing", total=len(report.imported))
                load_file(session, tokens.types, tokens.box, report, lambda n: bar.advance(task, n))
    except SeedFileError as exc:
        _rejected_table("Nothing imported: rejected", exc.detail or {})
        raise typer.Exit(1) from None
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    finally:
        services.close()
    console.print(f"Imported {len(report.imported)} token(s) from {file.name}.")
    if report.not_imported:
        _rejected_table("Not imported", {"rejected": report.detail["not_imported"]})


def _rejected_table(title: str, detail: dict[str, object]) -> None:
    rows = detail.get("rejected") or []
    table = Table("where", "serial", "why", title=title)
    for row in rows if isinstance(rows, list) else []:
        table.add_row(row.get("where", ""), row.get("serial", ""), row.get("reason", ""))
    console.print(table)
    total = detail.get("n_rejected")
    if isinstance(total, int) and isinstance(rows, list) and total > len(rows):
        console.print(f"... and {total - len(rows)} more")


@token_app.command("export")
def export_command(
    *,
    pskc: Annotated[Path, typer.Option("--pskc", help="Write the PSKC file here.", dir_okay=False)],
    serial: Annotated[
        list[str] | None, typer.Option("--serial", help="A token to export (repeat, or commas).")
    ] = None,
    realm: Annotated[
        str,
        typer.Option(
            "--realm", help="Every HOTP/TOTP token in this realm (token realm or owner's)."
        ),
    ] = "",
    psk: Psk = "",
    password: Password = "",
    data_dir: DataDir = None,
) -> None:
    """Export HOTP and TOTP tokens with their secrets to a PSKC file, encrypted with a
    pre-shared key or a password."""
    serials = [s.strip() for value in serial or () for s in value.split(",") if s.strip()]
    if bool(serials) == bool(realm):
        err.print("[red]error:[/red] choose the tokens: --serial or --realm")
        raise typer.Exit(2)
    services = open_services(data_dir)
    try:
        protection = Protection(psk=psk_bytes(psk) if psk else b"", password=password)
        with transaction(services.sessions) as session:
            chosen = list(session.scalars(_selection(serials, realm)).unique())
            missing = set(serials) - {t.serial for t in chosen}
            if missing:
                err.print(f"[red]error:[/red] no token {sorted(missing)[0]!r}")
                raise typer.Exit(2)
            body = export_pskc(chosen, services.tokens.types, services.box, protection)
    except FactorflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    finally:
        services.close()
    pskc.write_bytes(body)
    pskc.chmod(0o600)
    console.print(f"Exported {len(chosen)} token(s) to {pskc}.")


def _selection(serials: list[str], realm: str) -> Select[Token]:
    query = select(Token).order_by(Token.serial)
    if serials:
        return query.where(Token.serial.in_(serials))
    in_realm = Realm.name == realm.lower()
    return query.where(
        Token.tokentype.in_(ALGORITHMS),
        or_(
            Token.realms.any(TokenRealm.realm.has(in_realm)),
            Token.owner.has(TokenOwner.realm.has(in_realm)),
        ),
    )
