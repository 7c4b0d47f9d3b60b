"""The bulk path of ``factorflow migrate privacyidea`` (what ``python -m bench.migrate``
times at 100,000 tokens), at 2,000 tokens: a privacyIDEA 3.14 schema made by
``pi-manage`` and filled by SQL."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select
from starlette.testclient import TestClient

from bench.hotp import hotp
from bench.migrate import PIN, BenchInstallation, build_installation, otp_key, serial
from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.migrate.pi_audit import signed_text
from factorflow.migrate.target import BATCH
from tests.migrate.test_privacyidea import check, run

#: Four batches (target.BATCH).
TOKENS = 2000


@pytest.fixture(scope="module")
def bulk_pi(tmp_path_factory: pytest.TempPathFactory, pi_venv_ready: None) -> BenchInstallation:
    installation = build_installation(tmp_path_factory.mktemp("bulk"), TOKENS)
    db = sqlite3.connect(installation.pi_cfg.parent / "pi.sqlite")
    with db:
        # privacyIDEA takes serials Factorflow refuses: its batch is written again
        # token by token and this one alone is left out.
        db.execute("UPDATE token SET serial = 'BAD SERIAL' WHERE id = 1500")
    db.close()
    return installation


class _Pi:
    """What :func:`tests.migrate.test_privacyidea.run` reads of an installation."""

    def __init__(self, pi_cfg: Path) -> None:
        self.pi_cfg = pi_cfg


def pi_db(installation: BenchInstallation) -> sqlite3.Connection:
    return sqlite3.connect(installation.pi_cfg.parent / "pi.sqlite")


def test_thousands_of_tokens_are_imported_in_batches(
    services: Services, bulk_pi: BenchInstallation, client: TestClient
) -> None:
    pi = _Pi(bulk_pi.pi_cfg)
    dry = run(services, pi, dry_run=True)
    assert dry.counts["token", "new"] == TOKENS - 1
    assert check(client, serial(0), PIN + hotp(otp_key(0), 0)) is False, "dry run wrote"

    first = run(services, pi)
    assert first.counts["token", "new"] == TOKENS - 1
    assert first.not_imported == [("token", "BAD SERIAL", "Invalid serial number.")]
    # Tokens on both sides of the refused one (token 1499), in its batch and in others.
    for number in (0, 1, 1498, 1500, TOKENS - 1):
        used = number % 7
        key = otp_key(number)
        if used:
            assert not check(client, serial(number), PIN + hotp(key, used - 1)), number
        assert check(client, serial(number), PIN + hotp(key, used)), number

    db = pi_db(bulk_pi)
    with db:
        db.execute("UPDATE token SET description = 'changed' WHERE serial = ?", [serial(7)])
    db.close()
    second = run(services, pi)
    assert second.counts["token", "updated"] == 1
    assert second.counts["token", "unchanged"] == TOKENS - 2
    with services.sessions() as session:
        assert services.tokens.access.find(session, serial(1499)) is None
        token = services.tokens.access.find(session, serial(7))
        assert token is not None and token.description == "changed"
        assert token.owner is not None and token.owner.user_id == "10007"
        assert [r.realm.name for r in token.realms] == ["r1"]


#: Three batches of audit entries (target.BATCH), the last one short.
AUDIT_ENTRIES = 2 * BATCH + 1


def fill_audit(installation: BenchInstallation, count: int) -> None:
    """``count`` audit entries as privacyIDEA 3.14 writes and signs them."""
    key_file = installation.pi_cfg.parent / "private.pem"
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
    start = datetime(2026, 11, 30, 8, 0, 0)
    rows = []
    for n in range(1, count + 1):
        row: dict[str, object] = {
            "id": n,
            "date": start + timedelta(seconds=n, microseconds=250000),
            "startdate": start + timedelta(seconds=n),
            "duration": datetime(1970, 1, 1, 0, 0, 0, 250000),
            "action": "POST /validate/check",
            "success": n % 2,
            "serial": serial(n % TOKENS),
            "token_type": "hotp",
            "user": f"u{n % TOKENS}",
            "realm": "r1",
            "administrator": "",
            "action_detail": "",
            "info": "",
            "privacyidea_server": "bench",
            "client": "127.0.0.1",
            "loglevel": "default",
            "clearance_level": "default",
        }
        signature = key.sign(signed_text(row).encode(), pss, hashes.SHA256())
        row["signature"] = f"rsa_sha256_pss:{signature.hex()}"
        rows.append({k: str(v) if isinstance(v, datetime) else v for k, v in row.items()})
    columns = list(rows[0])
    db = pi_db(installation)
    with db:
        db.executemany(
            f"INSERT INTO pidea_audit ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            [[row[c] for c in columns] for row in rows],
        )
    db.close()


def test_a_big_audit_log_is_imported_in_batches(
    services: Services, bulk_pi: BenchInstallation
) -> None:
    fill_audit(bulk_pi, AUDIT_ENTRIES)
    pi = _Pi(bulk_pi.pi_cfg)
    dry = run(services, pi, dry_run=True, with_audit=True)
    assert dry.counts["audit entry", "new"] == AUDIT_ENTRIES
    assert dry.signatures == Counter(valid=AUDIT_ENTRIES)

    first = run(services, pi, with_audit=True)
    assert first.counts["audit entry", "new"] == AUDIT_ENTRIES
    assert first.signatures == Counter(valid=AUDIT_ENTRIES)
    with services.sessions() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.request_id.startswith("pi-audit-"))
        ).all()
        assert [e.request_id for e in entries] == [
            f"pi-audit-{n}" for n in range(1, AUDIT_ENTRIES + 1)
        ]
        assert entries[-1].date == datetime(2026, 11, 30, 8, 0, 0).astimezone(UTC) + timedelta(
            seconds=AUDIT_ENTRIES, microseconds=250000
        )
        assert services.audit.verify(session).ok

    second = run(services, pi, with_audit=True)
    assert second.counts["audit entry", "new"] == 0
    assert second.counts["audit entry", "unchanged"] == AUDIT_ENTRIES
