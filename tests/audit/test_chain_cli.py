"""``factorflow audit verify`` names each kind of tampering and exits with its code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorflow.bootstrap import Services
from factorflow.cli.main import app
from tests.audit.chain_helpers import delete_ids, head_row, roll_back, set_head, write

runner = CliRunner()


@pytest.fixture
def cli_env(services: Services, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Services:
    monkeypatch.setenv("FACTORFLOW_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("FACTORFLOW_DATABASE_URL", database_url)
    return services


def test_an_intact_log(cli_env: Services) -> None:
    write(cli_env, 3)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "3 entries checked: 3 in the chain" in result.output
    assert "Audit log intact." in result.output


def test_deleted_newest_entries(cli_env: Services) -> None:
    written = write(cli_env, 4)
    delete_ids(cli_env, written[-1])
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 5, result.output
    assert "newest entries deleted" in result.output
    assert f"first bad sequence number {written[-1]}" in result.output


def test_a_rolled_back_head_and_reanchor(cli_env: Services) -> None:
    roll_back(cli_env, kept=2, lost=2)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 6, result.output
    assert "is older than the anchor" in result.output
    assert runner.invoke(app, ["audit", "reanchor"]).exit_code == 1
    assert runner.invoke(app, ["audit", "reanchor", "--yes"]).exit_code == 0
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_another_nodes_anchor_is_checked_too(cli_env: Services, tmp_path: Path) -> None:
    write(cli_env, 2)
    old = head_row(cli_env)
    written = write(cli_env, 2)
    other = tmp_path / "node2.anchor"
    shutil.move(cli_env.audit.anchor_path, other)  # as if node 2 had written these
    result = runner.invoke(app, ["audit", "verify", "--anchor", str(other)])
    assert result.exit_code == 0, result.output
    assert "1 anchor(s)" in result.output
    delete_ids(cli_env, *written)
    set_head(cli_env, old)
    alone = runner.invoke(app, ["audit", "verify"])
    assert alone.exit_code == 7, alone.output
    assert "no anchor file was found" in alone.output
    result = runner.invoke(app, ["audit", "verify", "--anchor", str(other)])
    assert result.exit_code == 6, result.output
