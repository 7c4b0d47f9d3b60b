"""Reading pi.cfg without running it, decrypting with PI_ENCFILE, and the CLI's
answers to bad input (no privacyIDEA needed)."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from typer.testing import CliRunner

from factorflow.cli.main import app
from factorflow.migrate.errors import MigrationSourceError
from factorflow.migrate.names import EDUMFA
from factorflow.migrate.pi_audit import PiAuditLog, signed_text, to_record
from factorflow.migrate.pi_config import read_pi_config
from factorflow.migrate.pi_crypto import PiKeys


def test_literal_assignments_are_read_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    cfg = tmp_path / "pi.cfg"
    cfg.write_text(
        "import os\n"
        f"os.system('touch {marker}')\n"
        "SQLALCHEMY_DATABASE_URI = 'sqlite:////x.sqlite'\n"
        "PI_ENCFILE = 'enckey'\n"
        "PI_PEPPER: str = 'pep'\n"
        "PI_HASH_ALGO_PARAMS = {'argon2__rounds': 9}\n"
        "PI_LOGFILE = os.path.join('/var', 'log')\n"
    )
    config = read_pi_config(cfg)
    assert not marker.exists()
    assert config.database_uri == "sqlite:////x.sqlite"
    assert config.encfile == tmp_path / "enckey"
    assert config.pepper == "pep"
    assert config.values["PI_HASH_ALGO_PARAMS"] == {"argon2__rounds": 9}
    assert config.ignored == ["line 7: PI_LOGFILE"]


def test_a_needed_setting_that_is_not_literal_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "pi.cfg"
    cfg.write_text("import os\nPI_PEPPER = os.environ['PEPPER']\n")
    with pytest.raises(MigrationSourceError, match="line 2: PI_PEPPER is not a literal"):
        read_pi_config(cfg)


def test_edumfa_cfg_is_read_under_edumfa_names(tmp_path: Path) -> None:
    cfg = tmp_path / "edumfa.cfg"
    cfg.write_text(
        "SQLALCHEMY_DATABASE_URI = 'sqlite:////x.sqlite'\n"
        "PI_ENCFILE = '/not/this'\n"
        "EDUMFA_ENCFILE = 'enckey'\n"
        "EDUMFA_PEPPER = 'pep'\n"
    )
    config = read_pi_config(cfg, EDUMFA)
    assert (config.encfile, config.pepper) == (tmp_path / "enckey", "pep")
    cfg.write_text("import os\nEDUMFA_PEPPER = os.environ['PEPPER']\n")
    with pytest.raises(MigrationSourceError, match=r"reads edumfa\.cfg without running it"):
        read_pi_config(cfg, EDUMFA)


def test_edumfa_action_names_are_renamed_and_values_left_alone() -> None:
    given = "edumfaserver_read, tokenlist,edumfaserver_write , x=edumfaserver_read"
    assert EDUMFA.pi_actions(given) == (
        "privacyideaserver_read, tokenlist,privacyideaserver_write , x=edumfaserver_read"
    )


def _pkcs7(data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    return padder.update(data) + padder.finalize()


def _encrypt(key: bytes, iv: bytes, data: bytes) -> str:
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return (encryptor.update(data) + encryptor.finalize()).hex()


@pytest.mark.parametrize(
    "pad",
    [
        _pkcs7,
        lambda d: (d + b"\x01\x02").ljust(-(-(len(d) + 2) // 16) * 16, b"\x00"),
        lambda d: d.ljust(-(-len(d) // 16) * 16, b"\x00"),
    ],
    ids=["pkcs7", "legacy-0102", "zeros"],
)
def test_token_secrets_decrypt_with_key_zero_whatever_the_padding(pad: object) -> None:
    raw = os.urandom(96)
    iv = os.urandom(16)
    plain = b"3132333435363738393031323334353637383930"
    cipher = _encrypt(raw[:32], iv, pad(plain))  # type: ignore[operator]
    assert PiKeys(raw).token_secret(cipher, iv.hex()) == plain.decode()


def test_config_secrets_are_iv_colon_cipher_under_key_one() -> None:
    raw, iv = os.urandom(96), os.urandom(16)
    cipher = _encrypt(raw[32:64], iv, _pkcs7(b"smtppw"))
    assert PiKeys(raw).config_secret(f"{iv.hex()}:{cipher}") == "smtppw"


def test_a_key_file_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(MigrationSourceError, match="has 32 bytes"):
        PiKeys(os.urandom(32))


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "Cannot read"),
        ("encfile", "Cannot read the encryption key file"),
        ("database", "Cannot read the privacyIDEA database"),
    ],
)
@pytest.mark.parametrize(
    ("command", "option", "prefix"),
    [("privacyidea", "--pi-config", "PI_"), ("edumfa", "--config", "EDUMFA_")],
)
def test_bad_input_is_a_clear_error_without_traceback(
    tmp_path: Path, setup: str, message: str, command: str, option: str, prefix: str
) -> None:
    if command == "edumfa":
        message = message.replace("privacyIDEA", "eduMFA")
    cfg = tmp_path / "pi.cfg"
    enc = tmp_path / "enckey"
    if setup != "encfile":
        enc.write_bytes(os.urandom(96))
    if setup != "missing":
        cfg.write_text(
            f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{tmp_path / 'nothere.sqlite'}'\n"
            f"{prefix}ENCFILE = '{enc}'\n"
        )
    result = CliRunner().invoke(
        app, ["migrate", command, option, str(cfg), "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def _installation(tmp_path: Path, cfg_extra: str = "") -> Path:
    """A pi.cfg, a key file and a database with privacyIDEA's token and admin tables
    only (no audit table)."""
    enc = tmp_path / "enckey"
    enc.write_bytes(os.urandom(96))
    db = tmp_path / "pi.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE token (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE admin (id INTEGER PRIMARY KEY)")
    cfg = tmp_path / "pi.cfg"
    cfg.write_text(f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{db}'\nPI_ENCFILE = '{enc}'\n{cfg_extra}")
    return cfg


@pytest.mark.parametrize(
    ("cfg_extra", "message"),
    [
        ("", "The privacyIDEA database has no audit table (pidea_audit)"),
        (
            "PI_AUDIT_MODULE = 'privacyidea.lib.auditmodules.loggeraudit'\n",
            "only privacyIDEA's SQL audit log can be imported",
        ),
        ("import os\nPI_AUDIT_SQL_URI = os.environ['X']\n", "PI_AUDIT_SQL_URI is not a literal"),
        (
            "PI_AUDIT_SQL_URI = 'sqlite:////nonexistent/audit.sqlite'\n",
            "Cannot read the privacyIDEA",
        ),
    ],
    ids=["no-table", "logger-module", "computed-uri", "unreadable-audit-db"],
)
def test_with_audit_an_unreadable_audit_log_is_a_clear_error(
    tmp_path: Path, cfg_extra: str, message: str
) -> None:
    cfg = _installation(tmp_path, cfg_extra)
    args = ["migrate", "privacyidea", "--pi-config", str(cfg), "--data-dir", str(tmp_path / "d")]
    result = CliRunner().invoke(app, [*args, "--with-audit"])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "d").exists(), "refused before anything was written"


def _audit_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": 7,
        "date": datetime(2026, 1, 2, 3, 4, 5, 600000),
        "startdate": datetime(2026, 1, 2, 3, 4, 5),
        # SQLite keeps privacyIDEA's Interval as a date after the epoch.
        "duration": datetime(1970, 1, 1, 0, 0, 0, 600000),
        "action": "POST /validate/check",
        "success": 1,
        "serial": "HOTP1",
        "token_type": "hotp",
        "user": "alice",
        "realm": "r1",
        "administrator": None,
        "action_detail": "",
        "info": "matching 1 tokens",
        "privacyidea_server": "pi1",
        "client": "10.0.0.1",
        "loglevel": "default",
        "clearance_level": "default",
        "container_serial": None,
        "container_type": None,
    }
    return row | changes


def test_audit_signatures_valid_invalid_and_not_checked(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pss = asym_padding.PSS(
        mgf=asym_padding.MGF1(hashes.SHA256()), salt_length=asym_padding.PSS.MAX_LENGTH
    )

    def signed(row: dict[str, object]) -> dict[str, object]:
        signature = private.sign(signed_text(row).encode(), pss, hashes.SHA256())
        return row | {"signature": f"rsa_sha256_pss:{signature.hex()}"}

    row = _audit_row()
    assert signed_text(row) == (
        "id=7,date=2026-01-02 03:04:05.600000,action=POST /validate/check,succ=1,"
        "serial=HOTP1,t=hotp,u=alice,r=r1,adm=None,ad=,i=matching 1 tokens,ps=pi1,"
        "c=10.0.0.1,l=default,cl=default,2026-01-02 03:04:05,0:00:00.600000"
    )
    log = PiAuditLog(source=None, key=private.public_key())  # type: ignore[arg-type]
    assert log.verdict(signed(row)) == "valid"
    assert log.verdict(signed(row) | {"info": "changed"}) == "invalid"
    assert log.verdict(row | {"signature": ""}) == "invalid", "a removed signature"
    assert log.verdict(row | {"signature": "12345678901234567890"}) == "not checked"
    unchecked = PiAuditLog(source=None, key=None)  # type: ignore[arg-type]
    assert unchecked.verdict(signed(row)) == "not checked"

    record = to_record(signed(row) | {"info": "changed"}, "invalid")
    assert record.info == "privacyIDEA signature INVALID: changed"
    assert record.request_id == "pi-audit-7"
    assert record.date == datetime(2026, 1, 2, 3, 4, 5, 600000).astimezone(UTC)
    assert (record.duration, record.success, record.administrator) == (0.6, True, "")
    assert json.loads(record.trace) == {
        "imported_from": "privacyIDEA",
        "entry": 7,
        "signature": "invalid",
        "loglevel": "default",
        "clearance_level": "default",
    }
