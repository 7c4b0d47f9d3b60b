from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorflow.cli.main import app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ffdata"
    monkeypatch.setenv("FACTORFLOW_DATA_DIR", str(path))
    monkeypatch.setenv("FACTORFLOW_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("FACTORFLOW_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.delenv("FACTORFLOW_DATABASE_URL", raising=False)
    return path


def test_init_creates_private_data_dir_and_first_admin(data_dir: Path) -> None:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    match = re.search(r"password: (\S+)", result.output)
    assert match, result.output
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in ("encryption.key", "jwt.secret", "audit.key"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600
    assert (data_dir / "factorflow.sqlite").exists()
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0
    assert "none was created" in again.output


def test_admin_commands_are_scriptable(data_dir: Path) -> None:
    assert (
        runner.invoke(app, ["admin", "add", "helpdesk", "--password", "helpdesk-pw-1"]).exit_code
        == 0
    )
    listing = runner.invoke(app, ["admin", "list"])
    assert "helpdesk" in listing.output
    duplicate = runner.invoke(app, ["admin", "add", "helpdesk", "--password", "helpdesk-pw-1"])
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    short = runner.invoke(app, ["admin", "add", "other", "--password", "short"])
    assert short.exit_code == 1
    assert (
        runner.invoke(
            app, ["admin", "password", "helpdesk", "--password", "another-pw-2"]
        ).exit_code
        == 0
    )
    assert runner.invoke(app, ["admin", "delete", "helpdesk"]).exit_code == 0
    assert "helpdesk" not in runner.invoke(app, ["admin", "list"]).output
    missing = runner.invoke(app, ["admin", "delete", "helpdesk"])
    assert missing.exit_code == 1


def test_db_upgrade_and_audit_verify(data_dir: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_config_file_is_read_and_env_wins(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from factorflow.settings import Settings

    data_dir.mkdir(parents=True)
    (data_dir / "factorflow.toml").write_text(
        'node_name = "from-file"\njwt_validity_seconds = 600\n'
    )
    settings = Settings()
    assert settings.node_name == "from-file"
    assert settings.jwt_validity_seconds == 600
    monkeypatch.setenv("FACTORFLOW_NODE_NAME", "from-env")
    assert Settings().node_name == "from-env"
