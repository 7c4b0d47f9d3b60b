"""``python -m bench.token_load --lines 100000``: how fast ``POST /token/load`` imports
an OATH CSV file (issue 19's target: 100,000 lines in under 2 minutes).

For each database (``--databases sqlite,postgresql``) a fresh Factorflow data directory
and database; the file — ``--lines`` HOTP and TOTP seeds, each key derived from its
line number — is sent as privacyIDEA's web UI sends it (multipart ``file``, type
``oathcsv``, ``tokenrealms``) through the real application, in-process. The time is
the whole request: upload, parse, every check, the bulk inserts with every key sealed
as enrolment seals it, the commit. Some tokens are then validated with their RFC 4226
/ 6238 values.
"""

from __future__ import annotations

import argparse
import hmac
import shutil
import statistics
import tempfile
import time
from hashlib import sha1
from pathlib import Path

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.hotp import HOTP
from starlette.testclient import TestClient

from bench import databases
from factorflow.api.app import create_app
from factorflow.bootstrap import build_services
from factorflow.settings import Settings

SEED = b"factorflow-bench-token-load"
ADMIN = ("bench", "bench-password-1")
REALM = "imported"


def otp_key(number: int) -> bytes:
    return hmac.new(SEED, str(number).encode(), sha1).digest()


def seed_file(lines: int) -> bytes:
    """Every tenth line a TOTP token, the others HOTP (privacyIDEA's column order)."""
    rows = [
        f"OATH{n:08d}, {otp_key(n).hex()}, totp, 6, 30"
        if n % 10 == 0
        else f"OATH{n:08d}, {otp_key(n).hex()}, hotp, 6"
        for n in range(lines)
    ]
    return "\n".join(rows).encode()


def load_once(database: str, body: bytes, lines: int, base: Path) -> float:
    data_dir = base / database
    shutil.rmtree(data_dir, ignore_errors=True)
    url, name = "", f"fbench_tokenload_{int(time.time())}"
    if database == "postgresql":
        databases.create_postgres(name)
        url = databases.url("psycopg", name)
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        max_request_bytes=max(len(body) * 2, 1024 * 1024),
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    services = build_services(settings)
    try:
        with services.sessions.begin() as session:
            services.admins.add(session, *ADMIN)
        with TestClient(create_app(services)) as client:
            auth = client.post("/auth", data={"username": ADMIN[0], "password": ADMIN[1]})
            headers = {"Authorization": auth.json()["result"]["value"]["token"]}
            users = data_dir / "users.passwd"
            users.write_text("")
            resolver = client.post(
                "/resolver/none", data={"type": "passwdresolver", "fileName": str(users)},
                headers=headers,
            )  # fmt: skip
            assert resolver.status_code == 200, resolver.text
            client.post(f"/realm/{REALM}", data={"resolvers": "none"}, headers=headers)
            started = time.perf_counter()
            response = client.post(
                "/token/load/seeds.csv",
                data={"type": "oathcsv", "tokenrealms": REALM},
                files={"file": ("seeds.csv", body, "text/csv")},
                headers=headers,
            )
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text[:500]
            value = response.json()["result"]["value"]
            assert value == {"n_imported": lines, "n_not_imported": 0}, value
            for n in (1, lines // 2 + 1, lines - 1):
                if n % 10:
                    otp = HOTP(otp_key(n), 6, SHA1()).generate(0).decode()  # noqa: S303 (RFC 4226)
                    check = client.post(
                        "/validate/check", data={"serial": f"OATH{n:08d}", "pass": otp}
                    )
                    assert check.json()["result"]["value"] is True, check.text
        return elapsed
    finally:
        services.close()
        if database == "postgresql":
            databases.drop_postgres(name)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.token_load", description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    body = seed_file(args.lines)
    base = Path(tempfile.mkdtemp(prefix="bench-token-load-"))
    print(f"OATH CSV file: {args.lines:,} lines, {len(body) / 1e6:.1f} MB")
    try:
        for database in (d.strip() for d in args.databases.split(",") if d.strip()):
            if database == "postgresql" and not databases.postgres_available():
                print("postgresql: not reachable, skipped")
                continue
            times = [load_once(database, body, args.lines, base) for _ in range(args.runs)]
            best = statistics.median(times)
            print(
                f"{database}: {best:.1f} s for {args.lines:,} tokens "
                f"({args.lines / best:,.0f} tokens/s, median of {args.runs})"
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
