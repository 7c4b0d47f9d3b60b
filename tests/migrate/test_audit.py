"""``factorflow migrate privacyidea --with-audit``: privacyIDEA's audit log, written by
real requests to privacyIDEA 3.14 (the provisioning's token enrolments and
/validate/check successes and failures), in Factorflow's audit chain."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.cli.main import app
from factorflow.migrate.pi_audit import INVALID_MARK
from factorflow.migrate.pi_config import read_pi_config
from factorflow.migrate.pi_source import PiSource
from tests.migrate.pi_server import KEY, ProvisionedPi, copy_installation, hotp
from tests.migrate.pi_server import check as pi_check
from tests.migrate.test_privacyidea import pi_admin, run


def pi_audit_rows(pi_cfg: Path) -> list[dict[str, Any]]:
    source = PiSource(read_pi_config(pi_cfg).database_uri)
    try:
        return source.rows("pidea_audit")
    finally:
        source.close()


def imported(client: TestClient) -> dict[int, dict[str, Any]]:
    """Factorflow's imported entries, by privacyIDEA id, as GET /audit/ shows them."""
    r = client.get(
        "/audit/",
        params={"request_id": "pi-audit-*", "page_size": "1000"},
        headers=pi_admin(client),
    )
    assert r.status_code == 200, r.text
    value = r.json()["result"]["value"]
    entries = value["auditdata"]
    assert value["count"] == len(entries)
    return {int(e["request_id"].removeprefix("pi-audit-")): e for e in entries}


def chain_intact(services: Services) -> bool:
    with services.sessions() as session:
        return services.audit.verify(session).ok


def test_audit_entries_keep_their_dates_and_are_marked_as_imported(
    services: Services, privacyidea: ProvisionedPi, client: TestClient
) -> None:
    rows = pi_audit_rows(privacyidea.pi_cfg)
    report = run(services, privacyidea, with_audit=True)

    assert report.counts["audit entry", "new"] == len(rows) > 0
    assert report.signatures == Counter(valid=len(rows))
    entries = imported(client)
    assert sorted(entries) == [row["id"] for row in rows]
    for row in rows:
        entry = entries[row["id"]]
        assert entry["date"] == row["date"].astimezone(UTC).isoformat()
        assert entry["startdate"] == row["startdate"].astimezone(UTC).isoformat()
        assert (entry["action"], entry["success"]) == (row["action"], bool(row["success"]))
        for column in ("serial", "user", "realm", "administrator", "info", "client"):
            assert entry[column] == (row[column] or ""), column
        assert entry["privacyidea_server"] == row["privacyidea_server"] == "bench"
        assert entry["trace"]["imported_from"] == "privacyIDEA"
        assert (entry["trace"]["entry"], entry["trace"]["signature"]) == (row["id"], "valid")
        assert entry["sig_check"] == "OK"

    def outcomes(action: str, serial: str) -> set[bool]:
        return {
            e["success"] for e in entries.values() if (e["action"], e["serial"]) == (action, serial)
        }

    assert outcomes("POST /validate/check", "HOTP1") == {True}
    assert outcomes("POST /validate/check", "SMS1") == {False}
    (enrolment,) = [
        e for e in entries.values() if (e["action"], e["serial"]) == ("POST /token/init", "HOTP1")
    ]
    assert (enrolment["administrator"], enrolment["success"]) == ("admin", True)
    assert chain_intact(services)


def test_dry_run_with_audit_counts_and_changes_nothing(
    services: Services, privacyidea: ProvisionedPi
) -> None:
    rows = pi_audit_rows(privacyidea.pi_cfg)
    report = run(services, privacyidea, dry_run=True, with_audit=True)
    assert report.counts["audit entry", "new"] == len(rows)
    assert report.signatures["valid"] == len(rows)
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.fixture
def pi_files(privacyidea: ProvisionedPi, tmp_path: Path) -> Iterator[ProvisionedPi]:
    """A copy of the provisioned SQLite installation (not running unless started)."""
    server = copy_installation(privacyidea.server.data_dir, tmp_path / "pi")
    try:
        yield ProvisionedPi(server, privacyidea.users_file)
    finally:
        server.stop()


@pytest.mark.parametrize("privacyidea", ["sqlite"], indirect=True)
def test_a_second_run_adds_only_entries_privacyidea_wrote_since(
    services: Services, pi_files: ProvisionedPi, client: TestClient
) -> None:
    first = run(services, pi_files, with_audit=True)
    before = len(pi_audit_rows(pi_files.pi_cfg))
    assert first.counts["audit entry", "new"] == before

    second = run(services, pi_files, with_audit=True)
    assert second.counts["audit entry", "new"] == 0
    assert second.counts["audit entry", "unchanged"] == before

    pi_files.server.start(1)
    assert pi_check(pi_files.server, "HOTP1", "hp1" + hotp(KEY, 2))
    assert not pi_check(pi_files.server, "HOTP1", "hp1000000")
    pi_files.server.stop()
    rows = pi_audit_rows(pi_files.pi_cfg)
    newer = [row for row in rows if row["id"] > max(r["id"] for r in rows[:before])]
    assert len(newer) >= 2

    third = run(services, pi_files, with_audit=True)
    assert third.counts["audit entry", "new"] == len(newer)
    assert third.counts["audit entry", "unchanged"] == before
    entries = imported(client)
    assert sorted(entries) == [row["id"] for row in rows], "each once"
    checks = [entries[row["id"]] for row in newer if row["action"] == "POST /validate/check"]
    assert [(e["serial"], e["success"]) for e in checks] == [("HOTP1", True), ("HOTP1", False)]
    assert chain_intact(services)


@pytest.mark.parametrize("privacyidea", ["sqlite"], indirect=True)
def test_entries_whose_signature_fails_are_imported_flagged(
    services: Services, pi_files: ProvisionedPi, client: TestClient
) -> None:
    rows = pi_audit_rows(pi_files.pi_cfg)
    altered = rows[len(rows) // 2]["id"]
    db = sqlite3.connect(pi_files.server.data_dir / "pi.sqlite")
    with db:
        db.execute("UPDATE pidea_audit SET info = 'edited' WHERE id = ?", [altered])
    db.close()

    report = run(services, pi_files, with_audit=True)

    assert report.signatures == Counter(valid=len(rows) - 1, invalid=1)
    assert any("GET /audit/?info=privacyIDEA signature INVALID" in n for n in report.notes)
    entry = imported(client)[altered]
    assert entry["info"] == INVALID_MARK + "edited"
    assert entry["trace"]["signature"] == "invalid"
    assert chain_intact(services), "Factorflow's own signature covers the flagged entry"


@pytest.mark.parametrize("privacyidea", ["sqlite"], indirect=True)
def test_without_the_public_key_signatures_are_not_checked(
    services: Services, pi_files: ProvisionedPi
) -> None:
    (pi_files.server.data_dir / "public.pem").unlink()
    report = run(services, pi_files, dry_run=True, with_audit=True)
    total = report.counts["audit entry", "new"]
    assert total > 0
    assert report.signatures == Counter({"not checked": total})
    assert any("PI_AUDIT_KEY_PUBLIC" in note and "cannot be read" in note for note in report.notes)


@pytest.fixture
def cli_env(services: Services, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Services:
    monkeypatch.setenv("FACTORFLOW_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("FACTORFLOW_DATABASE_URL", database_url)
    return services


@pytest.mark.parametrize("privacyidea", ["sqlite"], indirect=True)
def test_the_cli_reports_audit_entries_and_signatures(
    cli_env: Services, privacyidea: ProvisionedPi
) -> None:
    rows = len(pi_audit_rows(privacyidea.pi_cfg))
    args = ["migrate", "privacyidea", "--pi-config", str(privacyidea.pi_cfg), "--with-audit"]
    result = CliRunner().invoke(app, [*args, "--dry-run"])
    assert result.exit_code == 1, result.output  # TAN1 is not imported
    assert f"privacyIDEA audit signatures: {rows} valid, 0 invalid, 0 not checked" in (
        result.output
    )
    (line,) = [line for line in result.output.splitlines() if "audit entry" in line]
    assert line.split("│")[2].strip() == str(rows), line
    with cli_env.sessions() as session:
        marked = AuditEntry.request_id.startswith("pi-audit-")
        assert session.scalar(select(func.count()).where(marked)) == 0
