"""``python -m bench.queries``: the SQL statements one ``/validate/check`` sends.

Builds Factorflow in-process on a temporary SQLite database (``--database-url`` for
another), provisions one user with a PIN'd HOTP token through the API, and prints the
statements of a correct-OTP check after a warm-up one (caches filled), grouped by
transaction. Counts database round trips without timing anything.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.hotp import hotp


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--checks", type=int, default=2, help="checks after the warm-up")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="factorflow-queries-"))
    os.environ["FACTORFLOW_DATA_DIR"] = str(data_dir)
    if args.database_url:
        os.environ["FACTORFLOW_DATABASE_URL"] = args.database_url

    from starlette.testclient import TestClient

    from factorflow.api.app import create_app
    from factorflow.bootstrap import build_services
    from factorflow.cli.main import ensure_first_admin
    from factorflow.settings import Settings

    services = build_services(Settings(embedded_worker=False))
    ensure_first_admin(services, "admin", "bench-admin-1")
    client = TestClient(create_app(services))
    login = client.post("/auth", data={"username": "admin", "password": "bench-admin-1"})
    headers = {"Authorization": login.json()["result"]["value"]["token"]}
    users = data_dir / "users.passwd"
    users.write_text("alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n")
    key = bytes(range(20))
    for path, data in (
        ("/resolver/benchusers", {"type": "passwdresolver", "fileName": str(users)}),
        ("/realm/bench", {"resolvers": "benchusers"}),
        ("/token/init", {"type": "hotp", "otpkey": key.hex(), "pin": "1234", "user": "alice",
                         "realm": "bench", "serial": "BENCHQ1"}),
    ):  # fmt: skip
        assert client.post(path, data=data, headers=headers).json()["result"]["status"], path

    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split())[:110])

    event.listen(services.engine, "before_cursor_execute", record)
    for counter in range(args.checks + 1):
        statements.clear()
        reply = client.post(
            "/validate/check",
            data={"user": "alice", "realm": "bench", "pass": "1234" + hotp(key, counter)},
        ).json()
        verdict = reply["result"].get("authentication")
        label = "warm-up" if counter == 0 else f"check {counter}"
        begins = sum(1 for s in statements if s.startswith("BEGIN"))
        print(f"{label}: {verdict}, {len(statements)} statements, {begins} transaction(s)")
    print("\nStatements of the last check:")
    for statement in statements:
        print(f"  {statement}")
    services.close()


if __name__ == "__main__":
    main()
