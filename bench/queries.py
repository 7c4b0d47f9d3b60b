"""``python -m bench.queries``: the SQL statements one ``/validate/check`` sends.

Builds Factorflow in-process on a temporary SQLite database (``--database-url`` for
another), provisions one user with a PIN'd HOTP token through the API, and prints the
statements of a correct-OTP check after a warm-up one (caches filled), grouped by
transaction (the engine's begin / commit / rollback events, so PostgreSQL and MariaDB,
which send no ``BEGIN`` statement, are grouped too). Counts database round trips;
``--time N`` also runs N more checks and prints the mean time per statement kind
(first words and table: ``SELECT token``, ``UPDATE tokeninfo``; cursor execution
only, not SQLAlchemy's own work) and the mean wall time of a whole check.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.hotp import hotp

_KIND = re.compile(r"^(SELECT|UPDATE|INSERT INTO|DELETE FROM)\b.*?(?:\bFROM\s+)?[`\"]?(\w+)")


def statement_kind(statement: str) -> str:
    """``SELECT realm`` for ``SELECT realm.id ... FROM realm ...``: the verb and the
    first table named (for SELECT the one after FROM)."""
    verb = statement.split(" ", 1)[0]
    if verb == "SELECT":
        found = re.search(r"\bFROM\s+[`\"]?(\w+)", statement)  # a subquery: the FROM inside
        return f"SELECT {found.group(1) if found else '?'}"
    match = _KIND.match(statement)
    return f"{verb} {match.group(2)}" if match else statement[:30]


@dataclass
class Recorder:
    """The statements and transactions one engine sees, with execution times."""

    #: One list of statements per transaction, in order.
    transactions: list[list[str]] = field(default_factory=list)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    _open: bool = False
    #: SQLite's BEGIN is sent by a "begin" listener that runs before ours.
    _begun_by_statement: bool = False
    _started: float = 0.0

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def clear(self) -> None:
        self.transactions.clear()
        self._open = False

    @property
    def statements(self) -> list[str]:
        return [s for tx in self.transactions for s in tx]

    def _begin(self, _conn: Any) -> None:
        if not self._begun_by_statement:
            self.transactions.append([])
        self._begun_by_statement = False
        self._open = True

    def _end(self, _conn: Any) -> None:
        self._open = False

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        begins = statement.startswith("BEGIN")
        if begins or not self._open:  # outside a transaction (autocommit): its own group
            self.transactions.append([])
        self._begun_by_statement = begins
        self.transactions[-1].append(" ".join(statement.split()))
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        elapsed = time.perf_counter() - self._started
        self.times[statement_kind(" ".join(statement.split()))].append(elapsed)


def _provision(client: Any, data_dir: Path, key: bytes) -> None:
    login = client.post("/auth", data={"username": "admin", "password": "bench-admin-1"})
    headers = {"Authorization": login.json()["result"]["value"]["token"]}
    users = data_dir / "users.passwd"
    users.write_text("alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n")
    for path, data in (
        ("/resolver/benchusers", {"type": "passwdresolver", "fileName": str(users)}),
        ("/realm/bench", {"resolvers": "benchusers"}),
        ("/token/init", {"type": "hotp", "otpkey": key.hex(), "pin": "1234", "user": "alice",
                         "realm": "bench", "serial": "BENCHQ1"}),
    ):  # fmt: skip
        assert client.post(path, data=data, headers=headers).json()["result"]["status"], path


def _print_times(recorder: Recorder, checks: int) -> None:
    print(f"\nTime per statement kind over {checks} checks (cursor execution, mean):")
    print(f"  {'kind':<32} {'per check':>9} {'mean µs':>9} {'total ms/check':>15}")
    rows = sorted(recorder.times.items(), key=lambda item: -sum(item[1]))
    for kind, spent in rows:
        per_check = len(spent) / checks
        mean = sum(spent) / len(spent) * 1e6
        print(f"  {kind:<32} {per_check:>9.1f} {mean:>9.0f} {sum(spent) / checks * 1e3:>15.3f}")
    total = sum(sum(spent) for spent in recorder.times.values()) / checks * 1e3
    print(f"  {'all':<32} {'':>9} {'':>9} {total:>15.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--checks", type=int, default=2, help="checks after the warm-up")
    parser.add_argument(
        "--time", type=int, default=0, metavar="N",
        help="then N more checks, timed per statement kind",
    )  # fmt: skip
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
    key = bytes(range(20))
    _provision(client, data_dir, key)

    def check(counter: int) -> str:
        reply = client.post(
            "/validate/check",
            data={"user": "alice", "realm": "bench", "pass": "1234" + hotp(key, counter)},
        ).json()
        return str(reply["result"].get("authentication"))

    recorder = Recorder()
    recorder.attach(services.engine)
    for counter in range(args.checks + 1):
        recorder.clear()
        verdict = check(counter)
        label = "warm-up" if counter == 0 else f"check {counter}"
        count, groups = len(recorder.statements), len(recorder.transactions)
        print(f"{label}: {verdict}, {count} statements, {groups} transaction(s)")
    print("\nStatements of the last check, by transaction:")
    for number, statements in enumerate(recorder.transactions, 1):
        print(f"  transaction {number}: {len(statements)} statement(s)")
        for statement in statements:
            print(f"    {statement[:110]}")
    if args.time > 0:
        recorder.times.clear()
        started = time.perf_counter()
        for counter in range(args.checks + 1, args.checks + 1 + args.time):
            assert check(counter) == "ACCEPT"
        wall = (time.perf_counter() - started) / args.time * 1e3
        _print_times(recorder, args.time)
        print(f"  whole check in-process (PIN hash included): {wall:.2f} ms")
    services.close()


if __name__ == "__main__":
    main()
