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


def measure(nodes: int, seconds: float, connections: int, warmup: float) -> dict[str, Any]:
    # The harness lives with the tests (it is what the soak runs on).
    topology: Any = importlib.import_module("tests.cluster.cluster")
    admin: Any = importlib.import_module("tests.cluster.nodes")
    case = next(c for c in CASES if c.name == "check_ok")
    with topology.running("postgresql", nodes) as cluster, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        tokens = provision(cluster.balancer.url, admin.ADMIN_PASSWORD, connections, workdir)
        spec: dict[str, Any] = {
            "host": "127.0.0.1", "port": cluster.balancer.port, "path": case.path,
            "connections": connections, "mode": case.mode, "realm": REALM,
            "expect": case.expect, "timeout": 60.0, "serial_prefix": "TI", "tokens": tokens,
        }  # fmt: skip
        if warmup:
            warm = run_loadgen({**spec, "duration": warmup}, workdir, warmup + 120)
            for token, counter in zip(tokens, warm["counters"], strict=True):
                token["counter"] = counter
        roots = [n.proc.popen.pid for n in cluster.nodes] + [cluster.balancer.proc.popen.pid]
        ff0 = sum(procstat.tree_cpu_seconds(p) for p in roots[:-1])
        ha0 = procstat.tree_cpu_seconds(roots[-1])
        pg0 = procstat.postgres_cpu_seconds()
        load = os.getloadavg()[0]
        result = run_loadgen({**spec, "duration": seconds}, workdir, seconds + 120)
        ff1 = sum(procstat.tree_cpu_seconds(p) for p in roots[:-1])
        ha1 = procstat.tree_cpu_seconds(roots[-1])
        pg1 = procstat.postgres_cpu_seconds()
    n = max(int(result["requests"]), 1)
    return {
        "nodes": nodes,
        "requests": result["requests"],
        "errors": result["errors"],
        "rps": round(result["rps"], 1),
        "p50_ms": round(result["p50_ms"], 1),
        "p99_ms": round(result["p99_ms"], 1),
        "factorflow_cpu_ms_per_req": round((ff1 - ff0) * 1000 / n, 2),
        "haproxy_cpu_ms_per_req": round((ha1 - ha0) * 1000 / n, 2),
        "postgres_cpu_ms_per_req": round((pg1 - pg0) * 1000 / n, 2),
        "load_avg_1m": round(max(load, os.getloadavg()[0]), 1),
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| nodes | req/s | p50 ms | p99 ms | Factorflow CPU ms/req | HAProxy CPU ms/req "
            "| PostgreSQL CPU ms/req | errors | load (1 min) |")  # fmt: skip
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['nodes']} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {r['factorflow_cpu_ms_per_req']} | {r['haproxy_cpu_ms_per_req']} "
            f"| {r['postgres_cpu_ms_per_req']} | {r['errors']} | {r['load_avg_1m']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=6)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for count in (int(n) for n in args.nodes.split(",")):
        print(f"[bench.nodes {time.strftime('%H:%M:%S')}] {count} node(s)", flush=True)
        rows.append(measure(count, args.seconds, args.connections, args.warmup))
    print(table(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
