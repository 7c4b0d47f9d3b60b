"""``python -m bench.profile``: py-spy profile of one Factorflow worker under a case's load.

Provisions Factorflow alone (as ``bench run`` does), drives the case with the load
generator and samples the worker with ``py-spy record`` (install it into the venv:
``uv pip install --python .venv/bin/python py-spy``). Prints the frames with the most
inclusive and self samples, and writes the collapsed stacks (for a flame graph).
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import databases
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


def top_frames(
    collapsed: Path, limit: int
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += count
        self_time[frames[-1]] += count
    scale = 100.0 / max(total, 1)
    return (
        [(f, c * scale) for f, c in inclusive.most_common(limit)],
        [(f, c * scale) for f, c in self_time.most_common(limit)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--case", default="check_ok", choices=[c.name for c in CASES])
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path("/tmp/factorflow-profile"))
    parser.add_argument(
        "--argon2",
        help="PIN-hash cost T,M_KIB,P (default: Factorflow's default); a cheap one such as "
        "1,1024,1 makes Factorflow's own work the bulk of the samples",
    )
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("py-spy is not installed: uv pip install --python .venv/bin/python py-spy")
    case = next(c for c in CASES if c.name == args.case)
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="factorflow-profile-"))
    db_name = f"fbench_profile_{int(time.time())}"
    url = ""
    if args.database == "postgresql":
        databases.create_postgres(db_name)
        url = databases.url("psycopg", db_name)
    argon2 = FACTORFLOW_DEFAULT_ARGON2
    if args.argon2:
        argon2 = Argon2(*(int(x) for x in args.argon2.split(",")))
    server = Factorflow("factorflow", "Factorflow", workdir / "ff", url, argon2,
                        source=snapshot_factorflow(workdir))  # fmt: skip
    tokens = make_tokens(args.users)
    user_file = workdir / "users.passwd"
    write_user_file(user_file, tokens)
    try:
        server.setup()
        server.start(1)
        server.provision(tokens, user_file)
        part = Participant(server, tokens)
        spec = loadgen_spec(part, case, args.duration + 2, args.connections, "prof")
        (workdir / "spec.json").write_text(json.dumps(spec))
        load = subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen", str(workdir / "spec.json"),
             str(workdir / "out.json")],
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        time.sleep(1)
        collapsed = args.out / f"{args.case}-{args.database}.collapsed"
        subprocess.run(
            [py_spy, "record", "--pid", str(server.worker_pids()[0]), "--duration",
             str(int(args.duration)), "--rate", str(args.rate), "--format", "raw",
             "--output", str(collapsed), "--nonblocking"],
            check=True, capture_output=True,
        )  # fmt: skip
        load.wait(timeout=args.duration + 120)
        result = json.loads((workdir / "out.json").read_text())
        print(f"{case.name} on {args.database}: {result['rps']:.1f} req/s, "
              f"p50 {result['p50_ms']:.1f} ms, ok {result['ok']}/{result['requests']}")  # fmt: skip
        inclusive, self_time = top_frames(collapsed, args.top)
        print("\nInclusive (% of samples, all threads):")
        for frame, share in inclusive:
            print(f"{share:6.1f}%  {frame}")
        print("\nSelf:")
        for frame, share in self_time:
            print(f"{share:6.1f}%  {frame}")
        print(f"\ncollapsed stacks: {collapsed}")
    finally:
        server.stop()
        if url:
            databases.drop_postgres(db_name)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
