"""The CLI ends admin sessions (``admin password|delete``) and lets a locked-out
account in again (``lockouts list|clear``), on the server's database."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from factorflow.bootstrap import Services
from factorflow.cli.main import app
from tests.api.test_sessions import login, refused
from tests.auth.helpers import rules
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD


@pytest.fixture
def cli_env(services: Services, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI on the test's database and data directory (from the environment:
    ``--data-dir`` would stay in ``os.environ`` after the test)."""
    monkeypatch.setenv("FACTORFLOW_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("FACTORFLOW_DATABASE_URL", services.settings.database_url)
    monkeypatch.setenv("FACTORFLOW_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("FACTORFLOW_ARGON2_MEMORY_KIB", "1024")
    return CliRunner()


def test_an_admin_locked_out_is_let_in_again_from_the_cli(
    client: TestClient, services: Services, admin_headers: dict[str, str], cli_env: CliRunner
) -> None:
    # A backoff after five failures, long enough for the test on a slow machine.
    services.logins.throttle.rules = rules(account=(5, 0), backoff=(900, 900))
    for _ in range(5):
        client.post("/auth", data={"username": ADMIN_NAME, "password": "guessing"})
    refused = client.post("/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    assert refused.json()["result"]["error"]["code"] == 4035
    listing = cli_env.invoke(app, ["lockouts", "list"])
    assert listing.exit_code == 0, listing.output
    assert ADMIN_NAME in listing.output and "backoff" in listing.output
    cleared = cli_env.invoke(app, ["lockouts", "clear", ADMIN_NAME.upper()])
    assert cleared.exit_code == 0, cleared.output
    assert client.post(
        "/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD}
    ).is_success
    again = cli_env.invoke(app, ["lockouts", "clear", ADMIN_NAME])
    assert again.exit_code == 1 and "no failed logins" in again.output
    client_missing = cli_env.invoke(app, ["lockouts", "clear", "192.0.2.1", "--client"])
    assert client_missing.exit_code == 1


def test_admin_password_and_delete_end_the_admin_s_sessions(
    client: TestClient, admin_headers: dict[str, str], cli_env: CliRunner
) -> None:
    other = login(client)
    result = cli_env.invoke(app, ["admin", "password", ADMIN_NAME, "--password", "cli-password-3"])
    assert result.exit_code == 0, result.output
    refused(client.get("/audit/", headers=admin_headers))
    refused(client.get("/audit/", headers=other))
    fresh = login(client, password="cli-password-3")
    assert cli_env.invoke(app, ["admin", "delete", ADMIN_NAME]).exit_code == 0
    refused(client.get("/audit/", headers=fresh))
