"""``python -m bench.memory``: where a Factorflow worker's memory goes, stage by stage.

Starts Factorflow alone (as ``bench run`` does: a snapshot of the tree, SQLite unless
``--database postgresql``, the default PIN-hash cost unless ``--argon2``), with one
worker by default, and prints the worker's memory from ``/proc`` after start, after
provisioning (enrolments hash PINs) and after a case's load: RSS, its peak (VmHWM),
anonymous and file-backed RSS, and PSS (file-backed pages shared with other workers
count in part). Run it under a different malloc configuration to compare, e.g.
``MALLOC_MMAP_THRESHOLD_=131072 python -m bench.memory`` (the server inherits the
environment).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.cases import CASES
from bench.products import (
    FACTORFLOW_DEFAULT_ARGON2,
    Argon2,
    Factorflow,
    make_tokens,
    snapshot_factorflow,
    write_user_file,
)
from bench.runner import Participant, loadgen_spec

_STATUS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads")
_ROLLUP = ("Pss",)


def memory_of(pid: int) -> dict[str, int]:
    """KiB (threads: a count) of the fields above, read from /proc."""
    found: dict[str, int] = {}
    for path, keys in ((f"/proc/{pid}/status", _STATUS), (f"/proc/{pid}/smaps_rollup", _ROLLUP)):
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key in keys:
                found[key] = int(value.split()[0])
    return found


def show(stage: str, pid: int) -> None:
    mem = memory_of(pid)
    mib = {k: f"{v / 1024:.0f}" for k, v in mem.items() if k != "Threads"}
    print(
        f"{stage:12} RSS {mib['VmRSS']:>4} MiB  peak {mib['VmHWM']:>4}  anon {mib['RssAnon']:>4}"
        f"  file {mib['RssFile']:>3}  PSS {mib['Pss']:>4}  threads {mem['Threads']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="check_ok", choices=[c.name for c in CASES])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--argon2", help="PIN-hash cost T,M_KIB,P (default: Factorflow's)")
    args = parser.parse_args()
    argon2 = FACTORFLOW_DEFAULT_ARGON2
    if args.argon2:
        argon2 = Argon2(*(int(x) for x in args.argon2.split(",")))
    case = next(c for c in CASES if c.name == args.case)
    workdir = Path(tempfile.mkdtemp(prefix="factorflow-memory-"))
    server = Factorflow("factorflow", "Factorflow", workdir / "ff", "", argon2,
                        source=snapshot_factorflow(workdir))  # fmt: skip
    tokens = make_tokens(args.users)
    user_file = workdir / "users.passwd"
    write_user_file(user_file, tokens)
    try:
        server.setup()
        server.start(args.workers)
        pid = server.worker_pids()[0]
        show("started", pid)
        server.provision(tokens, user_file)
        show("provisioned", pid)
        spec = loadgen_spec(Participant(server, tokens), case, args.duration, args.connections,
                            "memory")  # fmt: skip
        (workdir / "spec.json").write_text(json.dumps(spec))
        subprocess.run(
            [sys.executable, "-m", "bench.loadgen", str(workdir / "spec.json"),
             str(workdir / "out.json")],
            check=True, cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        result = json.loads((workdir / "out.json").read_text())
        show(f"{case.name}", pid)
        print(f"({result['rps']:.1f} req/s, ok {result['ok']}/{result['requests']})")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
