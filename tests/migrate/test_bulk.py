"""The bulk path of ``factorflow migrate privacyidea`` (what ``python -m bench.migrate``
times at 100,000 tokens), at 2,000 tokens: a privacyIDEA 3.14 schema made by
``pi-manage`` and filled by SQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bench.hotp import hotp
from bench.migrate import PIN, BenchInstallation, build_installation, otp_key, serial
from factorflow.bootstrap import Services
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
