"""``factorflow migrate edumfa`` against a real eduMFA 2.x on SQLite: what was
provisioned there, under eduMFA's own names, works the same here."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from factorflow.bootstrap import Services
from factorflow.cli.main import app
from factorflow.db.models import ImportedItem
from factorflow.events.models import EventCounter
from factorflow.migrate.items import Report
from factorflow.migrate.names import EDUMFA
from factorflow.migrate.pi_config import read_pi_config
from tests.migrate.pi_server import ProvisionedPi
from tests.migrate.test_privacyidea import (
    IMPORTED_TOKENS,
    TAN_REFUSED,
    check_admin_logins,
    check_tokens,
    run,
)

NOT_IMPORTED = [
    ("policy", "node-only", "Factorflow has no policy condition 'edumfanode'"),
    TAN_REFUSED,
]
DEFINITIONS = {"count-logins", "tell-owner", "hook", "forward"}


def run_edumfa(services: Services, edumfa: ProvisionedPi, *, dry_run: bool = False) -> Report:
    return run(services, edumfa, dry_run=dry_run, names=EDUMFA)


def edumfa_db_stamp(edumfa: ProvisionedPi) -> float:
    return edumfa.server.data_dir.joinpath("pi.sqlite").stat().st_mtime


def test_dry_run_reports_and_changes_nothing(
    services: Services, edumfa: ProvisionedPi, client: TestClient, admin_headers: dict[str, str]
) -> None:
    stamp = edumfa_db_stamp(edumfa)
    report = run_edumfa(services, edumfa, dry_run=True)
    assert report.dry_run
    assert report.counts["token", "new"] == len(IMPORTED_TOKENS)
    assert sorted(report.not_imported) == NOT_IMPORTED
    assert report.counts["admin", "new"] == 2
    assert report.counts["policy", "new"] == 2
    assert report.counts["event", "new"] == len(DEFINITIONS)
    assert report.counts["privacyIDEA server", "new"] == 1
    listing = client.get("/token/", headers=admin_headers).json()["result"]["value"]
    assert listing["count"] == 0
    with services.sessions() as session:
        assert services.policies.list(session) == []
        assert services.events.all(session) == []
        assert session.scalar(select(func.count()).select_from(ImportedItem)) == 0
    assert not services.admins.pepper_file or not services.admins.pepper_file.exists()
    assert edumfa_db_stamp(edumfa) == stamp


def test_tokens_take_their_pin_and_next_otp_and_refuse_used_ones(
    services: Services, edumfa: ProvisionedPi, client: TestClient
) -> None:
    run_edumfa(services, edumfa)
    check_tokens(client, edumfa)


def test_admins_log_in_with_their_edumfa_passwords(
    services: Services, edumfa: ProvisionedPi, client: TestClient
) -> None:
    run_edumfa(services, edumfa)
    check_admin_logins(client)
    pepper = read_pi_config(edumfa.pi_cfg, EDUMFA).pepper
    assert pepper and services.admins.pepper_file is not None
    assert services.admins.pepper_file.read_text() == pepper


def test_policies_and_definitions_are_carried_under_privacyidea_names(
    services: Services, edumfa: ProvisionedPi, client: TestClient
) -> None:
    run_edumfa(services, edumfa)
    with services.sessions() as session:
        pol1 = services.policies.get(session, "pol1")
        helpdesk = services.policies.get(session, "helpdesk-servers")
        definitions = {d["name"]: d for d in services.events.all(session)}
        counted = session.scalar(
            select(func.sum(EventCounter.value)).where(EventCounter.counter_name == "logins")
        )
    assert (pol1["scope"], pol1["action"], pol1["realm"]) == (
        "authentication",
        {"passOnNoToken": True},
        ["r1"],
    )
    assert helpdesk["action"] == {
        "privacyideaserver_read": True,
        "privacyideaserver_write": True,
        "tokenlist": True,
    }
    assert helpdesk["adminuser"] == ["helpdesk"]
    assert set(definitions) == DEFINITIONS
    assert definitions["hook"]["handlermodule"] == "WebHook"
    assert definitions["hook"]["options"]["URL"] == "http://127.0.0.1:9/hook"
    assert definitions["forward"]["handlermodule"] == "Federation"
    assert definitions["forward"]["options"]["privacyIDEA"] == "remote1"
    assert int(counted or 0) >= 3, "eduMFA's own count is carried"
    # pol1 passOnNoToken: carol has no token in realm r1.
    r = client.post("/validate/check", data={"user": "carol", "realm": "r1", "pass": "anything"})
    assert r.json()["result"]["value"] is True, r.text


def test_edumfa_servers_and_config_secrets_are_carried(
    services: Services, edumfa: ProvisionedPi
) -> None:
    run_edumfa(services, edumfa)
    with services.sessions() as session:
        servers = services.federation.list_servers(session)
        assert services.notify.smtp_settings(session, "mail1").password == "smtppw"
        # eduMFA keeps SMS gateway options unencrypted (it has no Encrypted column).
        assert services.notify.sms_settings(session, "gw1").basic_auth == ("smsuser", "smspw")
    assert servers["remote1"]["url"] == "https://mfa.example.org"
    assert servers["remote1"]["tls"] is False


def test_a_second_run_changes_nothing_and_is_marked_edumfa(
    services: Services, edumfa: ProvisionedPi
) -> None:
    first = run_edumfa(services, edumfa)
    assert first.total("new") > 0
    second = run_edumfa(services, edumfa)
    assert second.total("new") == second.total("updated") == 0
    assert second.counts["token", "unchanged"] == len(IMPORTED_TOKENS)
    with services.sessions() as session:
        sources = set(session.scalars(select(ImportedItem.source)))
    assert sources == {"edumfa"}


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_command_reads_edumfa_cfg(
    edumfa: ProvisionedPi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dry_run: bool
) -> None:
    monkeypatch.setenv("FACTORFLOW_DATA_DIR", str(tmp_path / "ffdata"))
    monkeypatch.setenv("FACTORFLOW_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("FACTORFLOW_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.delenv("FACTORFLOW_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    stamp = edumfa_db_stamp(edumfa)
    args = ["migrate", "edumfa", "--config", str(edumfa.pi_cfg)]
    result = runner.invoke(app, [*args, "--dry-run"] if dry_run else args)
    # 1: some items are not imported (and listed).
    assert result.exit_code == 1, result.output
    assert ("Dry run" if dry_run else "Imported from eduMFA") in result.output
    assert "TAN1" in result.output and "edumfanode" in result.output
    assert (tmp_path / "ffdata" / "privacyidea.pepper").exists() is not dry_run
    assert edumfa_db_stamp(edumfa) == stamp
