"""Orchestrates one benchmark run: provision, run each case against each server, report."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import databases, floor, procstat
from bench.cases import CASES, Case
from bench.products import (
    FACTORFLOW_DEFAULT_ARGON2,
    PRIVACYIDEA_DEFAULT_ARGON2,
    REALM,
    Argon2,
    BenchToken,
    Factorflow,
    PrivacyIdea,
    Server,
    ensure_privacyidea,
    factorflow_version,
    make_tokens,
    running,
    snapshot_factorflow,
    write_user_file,
)
from bench.report import render_markdown, summarise


@dataclass
class Options:
    products: list[str]
    databases: list[str]
    workers: list[int]
    cases: list[str]
    runs: int
    duration: float
    warmup: float
    connections: int
    users: int
    equal_argon2: Argon2
    default_cost: bool
    out_dir: Path
    keep: bool = False
    quick: bool = False
    #: argon2 verifications per floor measurement (the run measures before and after the cases)
    floor_verifications: int = 30


@dataclass
class Participant:
    server: Server
    tokens: list[BenchToken]
    events_supported: bool = True
    event_ids: list[int] = field(default_factory=list)
    policy_names: list[str] = field(default_factory=list)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_loadgen(spec: dict[str, Any], workdir: Path, timeout: float) -> dict[str, Any]:
    spec_path = workdir / "loadgen-spec.json"
    out_path = workdir / "loadgen-out.json"
    out_path.unlink(missing_ok=True)
    spec_path.write_text(json.dumps(spec))
    subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(spec_path), str(out_path)],
        check=True,
        timeout=timeout,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


#: (database, workers, server) -> median check_ok throughput, for the paced case
SATURATED: dict[tuple[str, int, str], float] = {}


def loadgen_spec(
    part: Participant, case: Case, duration: float, connections: int, tag: str
) -> dict[str, Any]:
    server = part.server
    spec: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": server.port,
        "path": case.path,
        "duration": duration,
        "connections": connections,
        "mode": case.mode,
        "realm": REALM,
        "expect": case.expect,
        "timeout": 60.0,
        "serial_prefix": f"TI{tag}",
    }
    if case.load_fraction:
        key = (server.data_dir.name, server.workers, server.name)
        spec["rate"] = max(1.0, SATURATED.get(key, 0.0) * case.load_fraction)
    if case.mode in ("check_ok", "check_wrong"):
        spec["tokens"] = [t.spec() for t in part.tokens]
    if case.admin:
        server.login()
        spec["headers"] = {"Authorization": server.auth_token}
    return spec


def measure(
    part: Participant, case: Case, opts: Options, workdir: Path, tag: str
) -> dict[str, Any]:
    server = part.server
    if opts.warmup > 0:
        spec = loadgen_spec(part, case, opts.warmup, opts.connections, tag + "w")
        warm = run_loadgen(spec, workdir, opts.warmup + 120)
        update_counters(part, case, warm)
    spec = loadgen_spec(part, case, opts.duration, opts.connections, tag)
    workers = server.worker_pids()
    for pid in workers:
        procstat.reset_peak_rss(pid)
    on_postgres = bool(server.database_url)
    load_before = os.getloadavg()[0]
    cpu0 = procstat.tree_cpu_seconds(server.root_pid())
    pg0 = procstat.postgres_cpu_seconds() if on_postgres else 0.0
    result = run_loadgen(spec, workdir, opts.duration + 120)
    cpu1 = procstat.tree_cpu_seconds(server.root_pid())
    pg1 = procstat.postgres_cpu_seconds() if on_postgres else 0.0
    update_counters(part, case, result)
    n = max(result["requests"], 1)
    result.pop("counters", None)
    result.update(
        server_cpu_ms_per_req=(cpu1 - cpu0) * 1000 / n,
        db_cpu_ms_per_req=(pg1 - pg0) * 1000 / n,
        peak_rss_mib=max((procstat.peak_rss_kib(p) for p in workers), default=0) / 1024,
        worker_pids=len(workers),
        load_avg_1m=max(load_before, os.getloadavg()[0]),
    )
    return result


def update_counters(part: Participant, case: Case, result: dict[str, Any]) -> None:
    if case.mode == "check_ok":
        for token, counter in zip(part.tokens, result["counters"], strict=True):
            token.counter = counter


def prepare_policies(part: Participant, case: Case) -> bool:
    if case.policies is None:
        return True
    try:
        for realm in case.policies.other_realms:
            part.server.add_realm(realm)
        # One at a time: the same calls, in the same order, on both servers.
        for name, policy in case.policies.policies():
            part.policy_names.append(part.server.add_policy(name, policy))
    except Exception as exc:
        log(f"{part.server.name}: cannot create policies ({exc}); skipping")
        cleanup_policies(part)
        return False
    return True


def cleanup_policies(part: Participant) -> None:
    for name in part.policy_names:
        try:
            part.server.delete_policy(name)
        except Exception as exc:
            log(f"{part.server.name}: delete policy {name} failed: {exc}")
    part.policy_names.clear()


def prepare_events(part: Participant, case: Case) -> bool:
    if case.events is None:
        return True
    if not part.events_supported:
        return False
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            part.event_ids.extend(pool.map(part.server.add_event, case.events.definitions()))
    except Exception as exc:
        log(f"{part.server.name}: cannot create event definitions ({exc}); skipping")
        cleanup_events(part)
        return False
    return True


def cleanup_events(part: Participant) -> None:
    def delete(event_id: int) -> None:
        try:
            part.server.delete_event(event_id)
        except Exception as exc:
            log(f"{part.server.name}: delete event {event_id} failed: {exc}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(delete, part.event_ids))
    part.event_ids.clear()


def build_servers(
    db: str, opts: Options, workdir: Path, run_id: str
) -> tuple[list[Server], list[str]]:
    servers: list[Server] = []
    pg_names: list[str] = []

    def db_url(product: str, driver: str) -> str:
        if db == "sqlite":
            return ""
        name = f"fbench_{run_id}_{product}"
        databases.create_postgres(name)
        pg_names.append(name)
        return databases.url(driver, name)

    if "factorflow" in opts.products:
        servers.append(
            Factorflow(
                "factorflow",
                "Factorflow",
                workdir / f"ff-{db}",
                db_url("ff", "psycopg"),
                opts.equal_argon2,
                source=workdir / "factorflow-src",
            )
        )
    if "privacyidea" in opts.products:
        servers.append(
            PrivacyIdea(
                "privacyidea",
                "privacyIDEA 3.14",
                workdir / f"pi-{db}",
                db_url("pi", "psycopg2"),
                opts.equal_argon2,
            )
        )
        if opts.default_cost:
            servers.append(
                PrivacyIdea(
                    "privacyidea-default",
                    "privacyIDEA 3.14 (default PIN hash)",
                    workdir / f"pidef-{db}",
                    db_url("pidef", "psycopg2"),
                    PRIVACYIDEA_DEFAULT_ARGON2,
                )
            )
    return servers, pg_names


def provision_all(
    db: str, parts: list[Participant], opts: Options, user_file: Path, notes: list[str]
) -> None:
    for part in parts:
        log(f"{db}: provisioning {part.server.name}: {opts.users} users and tokens")
        part.server.provision(part.tokens, user_file)
        if part.server.provisioning_retries:
            notes.append(
                f"{part.server.label} on {db}: {part.server.provisioning_retries} provisioning "
                "call(s) failed with a server error under 4 concurrent /token/init"
                " and were retried."
            )
        part.events_supported = part.server.has_events()
        if not part.events_supported:
            notes.append(
                f"{part.server.label} has no /event API yet: its definition cases are pending."
            )


def run_case(
    db: str, workers: int, case: Case, parts: list[Participant], *, opts: Options, workdir: Path
) -> list[dict[str, Any]]:
    """Each run measures every server once, alternating the order between runs."""
    records: list[dict[str, Any]] = []
    active = [p for p in parts if p.server.name != "privacyidea-default" or case.default_cost]
    if case.load_fraction:
        active = [
            p for p in active if (p.server.data_dir.name, workers, p.server.name) in SATURATED
        ]
    ready = [p for p in active if prepare_events(p, case) and prepare_policies(p, case)]
    try:
        for run_no in range(opts.runs):
            order = ready if run_no % 2 == 0 else list(reversed(ready))
            for part in order:
                name = part.server.name
                tag = f"{db[0]}{workers}{run_no}{name[:2]}{name[-3:]}{case.name[:4]}"
                result = measure(part, case, opts, workdir, tag)
                records.append(
                    {
                        "database": db,
                        "workers": workers,
                        "case": case.name,
                        "server": name,
                        "argon2": part.server.argon2.label(),
                        "run": run_no,
                        **result,
                    }
                )
                log(
                    f"{db} {workers}w {case.name:14} {name:19} run {run_no}: "
                    f"{result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f} ms  "
                    f"p99 {result['p99_ms']:7.1f} ms  ok {result['ok']}/{result['requests']}"
                )
    finally:
        for part in ready:
            cleanup_events(part)
            cleanup_policies(part)
    if case.name == "check_ok":
        for part in ready:
            rates = [r["rps"] for r in records if r["server"] == part.server.name]
            SATURATED[(part.server.data_dir.name, workers, part.server.name)] = median(rates)
    return records


def floor_costs(opts: Options) -> list[Argon2]:
    """The PIN-hash costs the run's servers use (see :func:`build_servers`)."""
    costs = [opts.equal_argon2]
    if "privacyidea" in opts.products and opts.default_cost:
        costs.append(PRIVACYIDEA_DEFAULT_ARGON2)
    return list(dict.fromkeys(costs))


def measure_floors(costs: list[Argon2], verifications: int, when: str) -> dict[str, list[float]]:
    """CPU ms of each verification, per cost label (see :mod:`bench.floor`)."""
    samples: dict[str, list[float]] = {}
    for cost in costs:
        samples[cost.label()] = floor.verify_cpu_ms(cost, verifications)
        log(
            f"floor {when} the cases, {cost.label()}: "
            f"{median(samples[cost.label()]):.1f} ms CPU per verification "
            f"(median of {verifications})"
        )
    return samples


def run(opts: Options) -> dict[str, Any]:
    started = time.time()
    run_id = time.strftime("%Y%m%d%H%M%S")
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    costs = floor_costs(opts)
    floor_before = measure_floors(costs, opts.floor_verifications, "before")
    workdir = Path(tempfile.mkdtemp(prefix="factorflow-bench-"))
    log(f"work directory {workdir}, results in {opts.out_dir}")
    if "privacyidea" in opts.products:
        log("installing privacyIDEA 3.14 (cached after the first run)")
        ensure_privacyidea(opts.out_dir / "pip-install.log")
    cases = [c for c in CASES if c.name in opts.cases]
    records: list[dict[str, Any]] = []
    notes: list[str] = []
    ff_version = "-"
    if "factorflow" in opts.products:
        snapshot_factorflow(workdir)
        ff_version = factorflow_version()
        log(f"Factorflow {ff_version} (snapshot of the working tree)")
    user_file = workdir / "users.passwd"
    write_user_file(user_file, make_tokens(opts.users))
    pg_all: list[str] = []
    floor_after: dict[str, list[float]] = {}
    failed = True
    try:
        for db in opts.databases:
            if db == "postgresql" and not databases.postgres_available():
                notes.append("PostgreSQL is not reachable: its cases were skipped.")
                continue
            servers, pg_names = build_servers(db, opts, workdir, run_id)
            pg_all.extend(pg_names)
            parts: list[Participant] = []
            for server in servers:
                log(f"{db}: setting up {server.name} ({server.argon2.label()})")
                server.setup()
                parts.append(Participant(server, make_tokens(opts.users)))
            for index, workers in enumerate(opts.workers):
                with running(servers, workers):
                    if index == 0:
                        provision_all(db, parts, opts, user_file, notes)
                    for case in cases:
                        records.extend(
                            run_case(db, workers, case, parts, opts=opts, workdir=workdir)
                        )
                        # an interrupted run still leaves what it measured
                        partial = opts.out_dir / "records.partial.json"
                        partial.write_text(json.dumps(records))
        floor_after = measure_floors(costs, opts.floor_verifications, "after")
        failed = False
    finally:
        for name in pg_all:
            try:
                databases.drop_postgres(name)
            except Exception as exc:
                log(f"drop database {name} failed: {exc}")
        if failed:
            log(f"failed: logs and data kept in {workdir}")
        elif not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    floor_section = {
        "definition": floor.DEFINITION,
        "cores": floor.usable_cores(),
        "costs": {
            label: floor.summarise_floor(floor_before[label], floor_after[label])
            for label in floor_before
        },
    }
    summary = summarise(records, floor_section)
    report = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "options": {
            "databases": opts.databases,
            "workers": opts.workers,
            "cases": opts.cases,
            "runs": opts.runs,
            "duration_s": opts.duration,
            "warmup_s": opts.warmup,
            "connections": opts.connections,
            "users_tokens": opts.users,
            "quick": opts.quick,
            "floor_verifications": opts.floor_verifications,
        },
        "argon2": {
            "equal_cost": opts.equal_argon2.label(),
            "factorflow_default": FACTORFLOW_DEFAULT_ARGON2.label(),
            "privacyidea_default": PRIVACYIDEA_DEFAULT_ARGON2.label(),
        },
        "factorflow_version": ff_version,
        "machine": machine_info(),
        "notes": notes,
        "floor": floor_section,
        "summary": summary,
        "records": records,
    }
    (opts.out_dir / "results.json").write_text(json.dumps(report, indent=2))
    (opts.out_dir / "results.md").write_text(render_markdown(report))
    log(f"wrote {opts.out_dir / 'results.json'} and {opts.out_dir / 'results.md'}")
    return report


def machine_info() -> dict[str, Any]:
    import os
    import platform

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
