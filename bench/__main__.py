"""``python -m bench run [--quick] ...``: the side-by-side benchmark (docs/performance.md)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.cases import CASE_NAMES
from bench.products import CACHE, FACTORFLOW_DEFAULT_ARGON2, Argon2


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="provision both servers and run the cases")
    run_p.add_argument(
        "--quick",
        action="store_true",
        help="CI-sized smoke run: 1 run of 2 s per case, 8 connections",
    )
    run_p.add_argument("--products", default="factorflow,privacyidea")
    run_p.add_argument("--databases", default="sqlite,postgresql")
    run_p.add_argument("--workers", default="1,2")
    run_p.add_argument("--cases", default=",".join(CASE_NAMES))
    run_p.add_argument("--runs", type=int, default=None, help="runs per case (median); default 3")
    run_p.add_argument("--duration", type=float, default=None, help="seconds per run; default 10")
    run_p.add_argument("--warmup", type=float, default=None, help="seconds of warm-up; default 2")
    run_p.add_argument("--connections", type=int, default=None, help="default 16")
    run_p.add_argument("--users", type=int, default=None, help="users = tokens; default 64")
    run_p.add_argument(
        "--argon2",
        default=None,
        help="equal PIN-hash cost as T,M_KIB,P (default: Factorflow's default "
        f"{FACTORFLOW_DEFAULT_ARGON2.time_cost},"
        f"{FACTORFLOW_DEFAULT_ARGON2.memory_kib},"
        f"{FACTORFLOW_DEFAULT_ARGON2.parallelism})",
    )
    run_p.add_argument(
        "--no-default-cost",
        action="store_true",
        help="skip privacyIDEA at its own default PIN-hash cost",
    )
    run_p.add_argument(
        "--floor",
        type=int,
        default=None,
        help="argon2 verifications per floor measurement, before and after the cases; "
        "default 30 (--quick: 10)",
    )
    run_p.add_argument("--out", type=Path, default=None)
    run_p.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    report_p = sub.add_parser("report", help="render results.json again as markdown")
    report_p.add_argument("results", type=Path)
    args = parser.parse_args()
    if args.command == "report":
        import json

        from bench.report import render_markdown, summarise

        data = json.loads(args.results.read_text())
        if isinstance(data, list):  # records.partial.json of an unfinished run
            data = {
                "records": data,
                "started": "?",
                "wall_seconds": "?",
                "options": {"runs": "?", "duration_s": "?", "warmup_s": "?",
                            "connections": "?", "users_tokens": "?"},
                "argon2": {"equal_cost": "?", "factorflow_default": "?",
                           "privacyidea_default": "?"},
                "machine": "?",
                "notes": ["Partial results of an unfinished run."],
            }  # fmt: skip
        data["summary"] = summarise(data["records"], data.get("floor"))
        print(render_markdown(data))
        return

    from bench.runner import Options, run

    quick = bool(args.quick)
    argon2 = FACTORFLOW_DEFAULT_ARGON2
    if args.argon2:
        t, m, p = (int(x) for x in args.argon2.split(","))
        argon2 = Argon2(t, m, p)
    unknown = set(_csv(args.cases)) - set(CASE_NAMES)
    if unknown:
        parser.error(
            f"unknown case(s): {', '.join(sorted(unknown))}; known: {', '.join(CASE_NAMES)}"
        )
    opts = Options(
        products=_csv(args.products),
        databases=_csv(args.databases),
        workers=[int(w) for w in _csv(args.workers)],
        cases=_csv(args.cases),
        runs=args.runs or (1 if quick else 3),
        duration=args.duration or (2.0 if quick else 10.0),
        warmup=args.warmup if args.warmup is not None else (0.5 if quick else 2.0),
        connections=args.connections or (8 if quick else 16),
        users=args.users or (16 if quick else 64),
        equal_argon2=argon2,
        default_cost=not args.no_default_cost,
        out_dir=args.out or CACHE / "results" / time.strftime("%Y%m%d-%H%M%S"),
        keep=args.keep,
        quick=quick,
        floor_verifications=args.floor or (10 if quick else 30),
    )
    if opts.users < opts.connections:
        parser.error("--users must be at least --connections (one token per connection at least)")
    report = run(opts)
    print((opts.out_dir / "results.md").read_text())
    del report


if __name__ == "__main__":
    main()
