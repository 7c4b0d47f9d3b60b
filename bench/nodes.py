"""Throughput across nodes (issue 21 item 4): 1, 2 and 3 Factorflow nodes behind
HAProxy on one PostgreSQL, the load generator's ``check_ok`` case through the balancer,
CPU per request of the nodes, HAProxy and PostgreSQL.

``python -m bench.nodes --nodes 1,2,3 --seconds 20 --connections 6``. The topology is
the cluster harness's (``tests/cluster``: its own database, processes and temporary
directory, all stopped afterwards). On a machine with fewer cores than nodes the nodes
share cores: what should stay flat as nodes are added is the CPU per request, which
shows that coordinating nodes costs no per-node work.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import procstat
from bench.cases import CASES
from bench.products import REALM, RESOLVER, make_tokens, write_user_file
from bench.runner import run_loadgen


def provision(front: str, password: str, tokens: int, workdir: Path) -> list[dict[str, Any]]:
    made = make_tokens(tokens)
    users = workdir / "users.passwd"
    write_user_file(users, made)
    with httpx.Client(base_url=front, timeout=60) as c:
        reply = c.post("/auth", data={"username": "admin", "password": password})
        headers = {"Authorization": reply.json()["result"]["value"]["token"]}
        resolver = {"type": "passwdresolver", "fileName": str(users)}
        c.post(f"/resolver/{RESOLVER}", headers=headers, data=resolver).raise_for_status()
        c.post(f"/realm/{REALM}", headers=headers, data={"resolvers": RESOLVER}).raise_for_status()
        for token in made:
            c.post("/token/init", headers=headers, data={
                "type": "hotp", "otpkey": token.key.hex(), "pin": token.pin,
                "user": token.user, "realm": REALM}).raise_for_status()  # fmt: skip
    return [t.spec() for t in made]


#: Factorflow's defaults where the harness polls faster (its soak wants quick deliveries).
DEFAULTS = {"FACTORFLOW_WORKER_POLL_SECONDS": "1.0", "FACTORFLOW_CONFIG_RELOAD_SECONDS": "0.5"}
IDLE_SECONDS = 10.0


def cpu(roots: list[int], balancer: int, database: str) -> tuple[float, float, float]:
    """CPU seconds so far: the nodes' process trees, HAProxy's, and PostgreSQL's
    backends of the cluster's database (the server is shared with other work)."""
    nodes = sum(procstat.tree_cpu_seconds(p) for p in roots)
    return (
        nodes,
        procstat.tree_cpu_seconds(balancer),
        procstat.postgres_database_cpu_seconds(database),
    )


def transactions(url: str) -> int:
    """Transactions the cluster's database has committed or rolled back so far."""
    from sqlalchemy import text

    from factorflow.db.base import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            found = conn.execute(text(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                " WHERE datname = current_database()")).scalar()  # fmt: skip
    finally:
        engine.dispose()
    return int(found or 0)


def measure(
    nodes: int, seconds: float, connections: int, warmup: float, direct: bool = False
) -> dict[str, Any]:
    """One topology's figures; ``direct``: the load goes to the first node only (not
    through HAProxy), the others idle: what the other nodes' presence alone costs."""
    # The harness lives with the tests (it is what the soak runs on).
    topology: Any = importlib.import_module("tests.cluster.cluster")
    admin: Any = importlib.import_module("tests.cluster.nodes")
    case = next(c for c in CASES if c.name == "check_ok")
    with (
        topology.running("postgresql", nodes, env=DEFAULTS) as cluster,
        tempfile.TemporaryDirectory() as tmp,
    ):
        workdir = Path(tmp)
        tokens = provision(cluster.balancer.url, admin.ADMIN_PASSWORD, connections, workdir)
        spec: dict[str, Any] = {
            "host": "127.0.0.1", "path": case.path,
            "port": cluster.nodes[0].port if direct else cluster.balancer.port,
            "connections": connections, "mode": case.mode, "realm": REALM,
            "expect": case.expect, "timeout": 60.0, "serial_prefix": "TI", "tokens": tokens,
        }  # fmt: skip
        if warmup:
            warm = run_loadgen({**spec, "duration": warmup}, workdir, warmup + 120)
            for token, counter in zip(tokens, warm["counters"], strict=True):
                token["counter"] = counter
        roots = [n.proc.popen.pid for n in cluster.nodes]
        balancer = cluster.balancer.proc.popen.pid
        database = cluster.database_url.rsplit("/", 1)[1].split("?")[0]
        # Idle first: what the nodes cost without requests (job polling, the
        # configuration version, the scheduler), per node and second.
        idle0, t0 = cpu(roots, balancer, database), time.monotonic()
        time.sleep(IDLE_SECONDS)
        idle1, t1 = cpu(roots, balancer, database), time.monotonic()
        idle_ff = (idle1[0] - idle0[0]) / (t1 - t0)
        idle_pg = (idle1[2] - idle0[2]) / (t1 - t0)
        load = os.getloadavg()[0]
        (ff0, ha0, pg0), start = cpu(roots, balancer, database), time.monotonic()
        tx0 = transactions(cluster.database_url)
        result = run_loadgen({**spec, "duration": seconds}, workdir, seconds + 120)
        (ff1, ha1, pg1), elapsed = cpu(roots, balancer, database), time.monotonic() - start
        tx1 = transactions(cluster.database_url)
    n = max(int(result["requests"]), 1)
    net_ff = max(0.0, (ff1 - ff0) - idle_ff * elapsed)
    return {
        "nodes": f"{nodes} (load on ff1 only)" if direct else nodes,
        "requests": result["requests"],
        "errors": result["errors"],
        "rps": round(result["rps"], 1),
        "p50_ms": round(result["p50_ms"], 1),
        "p99_ms": round(result["p99_ms"], 1),
        "factorflow_cpu_ms_per_req": round((ff1 - ff0) * 1000 / n, 2),
        "factorflow_net_cpu_ms_per_req": round(net_ff * 1000 / n, 2),
        "idle_cpu_pct_per_node": round(idle_ff * 100 / nodes, 1),
        "idle_postgres_cpu_pct": round(idle_pg * 100, 1),
        "haproxy_cpu_ms_per_req": round((ha1 - ha0) * 1000 / n, 2),
        "postgres_cpu_ms_per_req": round((pg1 - pg0) * 1000 / n, 2),
        # pg_stat_database is updated when a backend reports (at most every 0.5 s):
        # good to a few percent over a run of seconds.
        "transactions_per_req": round((tx1 - tx0) / n, 2),
        "load_avg_1m": round(max(load, os.getloadavg()[0]), 1),
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| nodes | req/s | p50 ms | p99 ms | Factorflow CPU ms/req | of it net of idle "
            "| idle CPU % per node | HAProxy CPU ms/req | PostgreSQL CPU ms/req "
            "| PostgreSQL idle CPU % | transactions/req | errors | load (1 min) |")  # fmt: skip
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(
            f"| {r['nodes']} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {r['factorflow_cpu_ms_per_req']} | {r['factorflow_net_cpu_ms_per_req']} "
            f"| {r['idle_cpu_pct_per_node']} | {r['haproxy_cpu_ms_per_req']} "
            f"| {r['postgres_cpu_ms_per_req']} | {r['idle_postgres_cpu_pct']} "
            f"| {r['transactions_per_req']} | {r['errors']} | {r['load_avg_1m']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=6)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--direct", action="store_true", help="load the first node only")
    args = parser.parse_args()
    # SIGTERM ends the run as Ctrl-C does: the topology is stopped and removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = []
    for count in (int(n) for n in args.nodes.split(",")):
        print(f"[bench.nodes {time.strftime('%H:%M:%S')}] {count} node(s)", flush=True)
        rows.append(measure(count, args.seconds, args.connections, args.warmup, args.direct))
    print(table(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
