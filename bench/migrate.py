"""``python -m bench.migrate --tokens 100000``: how fast ``factorflow migrate privacyidea`` is.

Builds a privacyIDEA 3.14 installation whose schema is privacyIDEA's own (``pi-manage
setup create_tables`` in the benchmark's cached privacyIDEA venv), fills it directly
with SQL — a passwd resolver and a realm, then ``--tokens`` HOTP tokens with their
tokeninfo, owner and realm rows, keys encrypted as privacyIDEA stores them (AES-256-CBC
under key 0 of ``PI_ENCFILE``, hex) — and times a migration into an empty Factorflow
data directory, then a second run (nothing changed). Prints tokens per second.

Enrolling 100,000 tokens through privacyIDEA's API would take hours (argon2 with
t=9, m=64 MiB per PIN); the rows here are what enrolment leaves, and every token
shares one PIN hash made with privacyIDEA's default argon2 parameters (a migration
copies hashes, it never computes one).
"""

from __future__ import annotations

import argparse
import hmac
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from hashlib import sha1
from pathlib import Path

from argon2 import PasswordHasher
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bench.products import PRIVACYIDEA_DEFAULT_ARGON2, PrivacyIdea
from factorflow.bootstrap import Services
from factorflow.cli.common import open_services
from factorflow.cli.migrate import migration_target
from factorflow.migrate.items import Report
from factorflow.migrate.privacyidea import PiInstallation, migrate

REALM, RESOLVER = "r1", "users"
PIN = "pin1"
#: Every token's OTP key is derived from its number, so a check can compute its OTPs.
SEED = b"factorflow-bench-migrate"


def otp_key(number: int) -> bytes:
    return hmac.new(SEED, str(number).encode(), sha1).digest()


def serial(number: int) -> str:
    return f"OATH{number:08d}"


def encrypt_token_key(encfile: Path, key: bytes) -> tuple[str, str]:
    """``key_enc`` and ``key_iv`` as privacyIDEA 3.14 stores an OTP key: the key as hex
    text, PKCS#7 padded, AES-256-CBC under the first key of ``PI_ENCFILE``."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(key.hex().encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(encfile.read_bytes()[:32]), modes.CBC(iv)).encryptor()
    return (encryptor.update(plain) + encryptor.finalize()).hex(), iv.hex()


@dataclass(frozen=True)
class BenchInstallation:
    pi_cfg: Path
    tokens: int


def build_installation(base: Path, tokens: int) -> BenchInstallation:
    """privacyIDEA's schema from ``pi-manage``, then ``tokens`` tokens by SQL."""
    server = PrivacyIdea(
        name="privacyidea",
        label="privacyIDEA 3.14",
        data_dir=base / "pi",
        database_url="",
        argon2=PRIVACYIDEA_DEFAULT_ARGON2,
    )
    server.setup()
    users = base / "users.passwd"
    users.write_text(
        "".join(
            f"u{n}:x:{10000 + n}:{10000 + n}:User {n}:/home/u{n}:/bin/sh\n" for n in range(tokens)
        )
    )
    argon2 = PRIVACYIDEA_DEFAULT_ARGON2
    pin_hash = PasswordHasher(
        time_cost=argon2.time_cost, memory_cost=argon2.memory_kib, parallelism=argon2.parallelism
    ).hash(PIN)
    encfile = server.data_dir / "enckey"
    db = sqlite3.connect(server.data_dir / "pi.sqlite")
    with db:
        fill(db, encfile, users, pin_hash, tokens)
    db.close()
    (base / "tokens").write_text(str(tokens))
    return BenchInstallation(server.cfg_path(), tokens)


def existing(base: Path, tokens: int) -> BenchInstallation | None:
    """The installation ``--keep`` left in ``base`` earlier, if it has ``tokens``."""
    marker = base / "tokens"
    if marker.is_file() and marker.read_text().strip() == str(tokens):
        return BenchInstallation(base / "pi" / "pi.cfg", tokens)
    return None


#: A software HOTP token as privacyIDEA 3.14 enrols it (the columns it leaves empty
#: are left out).
INSERT_HOTP = """
INSERT INTO token (id, description, serial, tokentype, otplen, pin_hash, key_enc, key_iv,
    maxfail, active, revoked, locked, failcount, count, count_window, sync_window,
    rollout_state)
VALUES (:id, :description, :serial, 'hotp', 6, :pin_hash, :key_enc, :key_iv,
    10, 1, 0, 0, 0, :count, 10, 1000, '')
"""


def fill(db: sqlite3.Connection, encfile: Path, users: Path, pin_hash: str, tokens: int) -> None:
    db.execute("INSERT INTO resolver (id, name, rtype) VALUES (1, ?, 'passwdresolver')", [RESOLVER])
    db.execute(
        'INSERT INTO resolverconfig (resolver_id, "Key", "Value", "Type", "Description") '
        "VALUES (1, 'fileName', ?, 'string', '')",
        [str(users)],
    )
    db.execute('INSERT INTO realm (id, name, "default") VALUES (1, ?, 1)', [REALM])
    db.execute("INSERT INTO resolverrealm (resolver_id, realm_id) VALUES (1, 1)")
    stamp = "2026-01-01T00:00:00+00:00"
    token_rows, info_rows, owner_rows, realm_rows = [], [], [], []
    for n in range(tokens):
        token_id = n + 1
        key_enc, key_iv = encrypt_token_key(encfile, otp_key(n))
        token_rows.append(
            {
                "id": token_id,
                "description": f"bench {n}",
                "serial": serial(n),
                "pin_hash": pin_hash,
                "key_enc": key_enc,
                "key_iv": key_iv,
                "count": n % 7,
            }
        )
        for key, value in (
            ("hashlib", "sha1"),
            ("tokenkind", "software"),
            ("creation_date", stamp),
            ("assignment_date", stamp),
        ):
            info_rows.append((key, value, "", "", token_id))
        owner_rows.append((token_id, RESOLVER, str(10000 + n), 1))
        realm_rows.append((token_id, 1))
    db.executemany(INSERT_HOTP, token_rows)
    db.executemany(
        'INSERT INTO tokeninfo ("Key", "Value", "Type", "Description", token_id) '
        "VALUES (?, ?, ?, ?, ?)",
        info_rows,
    )
    db.executemany(
        "INSERT INTO tokenowner (token_id, resolver, user_id, realm_id) VALUES (?, ?, ?, ?)",
        owner_rows,
    )
    db.executemany("INSERT INTO tokenrealm (token_id, realm_id) VALUES (?, ?)", realm_rows)


@dataclass(frozen=True)
class Timing:
    first: float
    second: float


def migrate_once(installation: BenchInstallation, services: Services) -> tuple[float, Report]:
    """One ``factorflow migrate privacyidea`` as the command runs it: open, read,
    decrypt, import, report."""
    started = time.perf_counter()
    pi = PiInstallation.open(installation.pi_cfg)
    try:
        target = migration_target(services)
        report = migrate(pi, target, services.token_types, services.box, dry_run=False)
    finally:
        pi.close()
    return time.perf_counter() - started, report


def migrate_into(installation: BenchInstallation, data_dir: Path) -> Timing:
    """Migrate into a new Factorflow data directory twice; check both reports."""
    services = open_services(data_dir, with_events=True)
    try:
        first, report = migrate_once(installation, services)
        assert report.counts["token", "new"] == installation.tokens, report.counts
        assert not report.not_imported, report.not_imported[:5]
        second, again = migrate_once(installation, services)
        assert again.counts["token", "unchanged"] == installation.tokens, again.counts
    finally:
        services.close()
    return Timing(first, second)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.migrate", description=__doc__)
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="migrations into fresh data dirs")
    parser.add_argument("--keep", type=Path, help="build here and keep it (default: a temp dir)")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-migrate-"))
    started = time.perf_counter()
    installation = existing(base, args.tokens) or build_installation(base, args.tokens)
    print(
        f"privacyIDEA installation with {args.tokens} tokens ready in "
        f"{time.perf_counter() - started:.1f} s: {installation.pi_cfg}"
    )
    rates = []
    for run in range(args.runs):
        target = base / f"factorflow-{run}"
        shutil.rmtree(target, ignore_errors=True)
        timing = migrate_into(installation, target)
        rates.append(args.tokens / timing.first)
        print(
            f"run {run + 1}: {timing.first:.1f} s ({args.tokens / timing.first:,.0f} tokens/s); "
            f"second run (nothing changed) {timing.second:.1f} s"
        )
    print(f"median: {statistics.median(rates):,.0f} tokens/s over {args.runs} run(s)")


if __name__ == "__main__":
    main()
