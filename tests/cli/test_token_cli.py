"""``factorflow token import`` and ``factorflow token export --pskc``: a file imported
whole or refused with its rejected lines; export from one server and import into a
fresh one, where the same OTPs validate."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from starlette.testclient import TestClient
from typer.testing import CliRunner

from factorflow.api.app import create_app
from factorflow.bootstrap import build_services
from factorflow.cli.common import load_settings
from factorflow.cli.main import app
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, hotp, totp

runner = CliRunner()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FACTORFLOW_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("FACTORFLOW_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.delenv("FACTORFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("FACTORFLOW_DATA_DIR", raising=False)
    return tmp_path


def cli(data_dir: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)])


def accepted(data_dir: Path, serial: str, otp: str) -> bool:
    services = build_services(load_settings(data_dir))
    try:
        with TestClient(create_app(services)) as client:
            body = client.post("/validate/check", data={"serial": serial, "pass": otp}).json()
            return bool(body["result"]["value"])
    finally:
        services.close()


def test_import_export_and_import_into_a_fresh_server(server: Path) -> None:
    first, second = server / "first", server / "second"
    seeds = server / "seeds.csv"
    seeds.write_text(f"C1, {RFC_KEY_HEX}, hotp, 8\nC2, {RFC_KEY_HEX}, totp, 6, 30\n")
    result = cli(first, "token", "import", str(seeds), "--type", "oathcsv")
    assert result.exit_code == 0, result.output
    assert "Imported 2 token(s)" in result.output
    assert accepted(first, "C1", hotp(0, digits=8))
    out = server / "out.pskcxml"
    result = cli(first, "token", "export", "--pskc", str(out), "--serial", "C1,C2",
                 "--password", "transfer-pass")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o077 == 0
    result = cli(second, "token", "import", str(out), "--type", "pskc", "--password", "wrong")
    assert result.exit_code == 1 and "Nothing imported" in result.output
    result = cli(second, "token", "import", str(out), "--type", "pskc",
                 "--password", "transfer-pass")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not accepted(second, "C1", hotp(0, digits=8))  # used on the first server
    assert accepted(second, "C1", hotp(1, digits=8))
    assert accepted(second, "C2", totp())


def test_a_bad_file_lists_its_rejected_lines_and_imports_nothing(server: Path) -> None:
    seeds = server / "seeds.csv"
    seeds.write_text(f"OK1, {RFC_KEY_HEX}\nBAD1, xyz\nOK1, {RFC_KEY_HEX}\n")
    result = cli(server / "d", "token", "import", str(seeds))
    output = result.output
    assert result.exit_code == 1, output
    assert "line 2" in output and "line 3" in output and "hexadecimal" in output
    assert not accepted(server / "d", "OK1", RFC4226_OTPS[0])
    assert cli(server / "d", "token", "import", str(seeds), "--type", "x").exit_code == 2
    assert cli(server / "d", "token", "export", "--pskc", str(server / "o")).exit_code == 2
