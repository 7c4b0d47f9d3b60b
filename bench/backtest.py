"""``python -m bench.backtest --rows 1000000``: how fast ``POST /event/backtest`` replays.

Fills a fresh Factorflow database's audit table with ``--rows`` entries by bulk SQL
(no signatures: nothing verifies the chain here) spread over the last 30 days: 70 % are
``POST /validate/check`` (5,000 users, each from an internal address and one request in
three from an outside one, one in ten rejected), the rest other requests and event
actions the definition does not listen to. Then times backtests of a "rejected check
from outside 10.0.0.0/8" definition over 30 days (the domain call the endpoint makes,
without HTTP) and prints the rate in audit rows of the window per second.
``--database postgresql`` uses the local server (``bench/databases``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

#: Audit actions of the traffic that is not a check (filtered out in SQL).
OTHER = ("POST /auth", "GET /token/", "POST-EVENT validate_check>>Logging:logging",
         "GET /audit/", "POST /token/init")  # fmt: skip
DAYS = 30
USERS = 5000
#: The definition tried: a rejected check from outside the internal network.
CONDITIONS = {"result_value": "False", "client_ip": "-10.0.0.0/8", "serial": "^HOTP"}


def row(number: int, now: datetime, rows: int) -> dict[str, Any]:
    """Entry ``number`` of ``rows``: dates rise with the id over the last 30 days."""
    date = now - timedelta(days=DAYS) + timedelta(days=DAYS) * (number + 1) / (rows + 1)
    check = number % 10 < 7
    # Each user has an internal address and, for one request in three, an outside one:
    # about 20,000 distinct (user, client, result) combinations to evaluate.
    user = (number * 7919) % USERS
    inside = number % 3 != 0
    return {
        "date": date,
        "startdate": date,
        "action": "POST /validate/check" if check else OTHER[number % len(OTHER)],
        "success": True,
        "authentication": ("REJECT" if number % 10 == 3 else "ACCEPT") if check else "",
        "serial": f"HOTP{user:05d}",
        "user": f"user{user}",
        "realm": "bench",
        "client": f"10.{user % 200}.{user // 200}.1" if inside else f"192.0.2.{user % 250}",
        "user_agent": "FreeRADIUS",
    }


def fill(services: Any, rows: int, now: datetime, chunk: int = 20_000) -> float:
    started = time.perf_counter()
    from factorflow.audit.models import AUDIT_TABLE

    with services.engine.begin() as conn:
        for start in range(0, rows, chunk):
            batch = [row(n, now, rows) for n in range(start, min(rows, start + chunk))]
            conn.execute(insert(AUDIT_TABLE), batch)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.backtest", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="factorflow-backtest-"))
    os.environ["FACTORFLOW_DATA_DIR"] = str(data_dir)
    db_name = f"fbench_backtest_{int(time.time())}"
    if args.database == "postgresql":
        from bench import databases

        databases.create_postgres(db_name)
        os.environ["FACTORFLOW_DATABASE_URL"] = databases.url("psycopg", db_name)

    from factorflow.api.app import create_app
    from factorflow.audit.models import AuditEntry
    from factorflow.bootstrap import build_services
    from factorflow.events.backtest import backtest
    from factorflow.events.service import DefinitionInput
    from factorflow.settings import Settings

    services = build_services(Settings(embedded_worker=False))
    try:
        create_app(services)  # the routes' event names and audited rules
        now = datetime.now(UTC)
        filled = fill(services, args.rows, now)
        print(f"filled {args.rows:,} audit rows in {filled:.1f} s ({args.database})")
        data = DefinitionInput(
            name="bench",
            events=["validate_check"],
            handlermodule="Logging",
            action="logging",
            unknown_is_match=False,
            conditions=dict(CONDITIONS),
        )
        times = []
        for _ in range(args.runs):
            with services.sessions() as session:
                definition = services.events.transient(session, data)
                in_window = session.scalar(select(func.count(AuditEntry.id)))
                started = time.perf_counter()
                answer = backtest(services.event_ports, session, definition, days=DAYS, now=now)
                times.append(time.perf_counter() - started)
        best, median = min(times), statistics.median(times)
        print(
            f"backtest over {DAYS} days: {answer['evaluated']:,} checks replayed of "
            f"{in_window:,} rows, {answer['fired']:,} would fire"
        )
        print(
            f"  best {best:.2f} s, median {median:.2f} s of {args.runs}: "
            f"{(in_window or 0) / median:,.0f} audit rows/s"
        )
    finally:
        services.close()
        if args.database == "postgresql":
            from bench import databases

            databases.drop_postgres(db_name)


if __name__ == "__main__":
    main()
