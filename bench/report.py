"""Medians over runs, and the markdown tables."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

METRICS = (
    "rps",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "server_cpu_ms_per_req",
    "db_cpu_ms_per_req",
    "peak_rss_mib",
    "client_cpu_s",
)

CASE_ORDER = (
    "check_ok",
    "check_ok_half",
    "check_wrong",
    "unknown_user",
    "ev_nomatch_10",
    "ev_nomatch_100",
    "ev_match_10",
    "ev_other_100",
    "pol_100",
    "token_init",
)


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, int, str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[(record["database"], record["workers"], record["case"], record["server"])].append(
            record
        )
    rows: list[dict[str, Any]] = []
    for (db, workers, case, server), runs in groups.items():
        row: dict[str, Any] = {
            "database": db,
            "workers": workers,
            "case": case,
            "server": server,
            "argon2": runs[0]["argon2"],
            "runs": len(runs),
            "requests": sum(r["requests"] for r in runs),
            "ok_fraction": sum(r["ok"] for r in runs) / max(1, sum(r["requests"] for r in runs)),
            "errors": sum(r["errors"] for r in runs),
        }
        for metric in METRICS:
            row[metric] = statistics.median(r[metric] for r in runs)
        loads = [r["load_avg_1m"] for r in runs if "load_avg_1m" in r]
        row["load_avg_1m"] = statistics.median(loads) if loads else None
        rows.append(row)
    rows.sort(
        key=lambda r: (
            r["database"],
            r["workers"],
            CASE_ORDER.index(r["case"]) if r["case"] in CASE_ORDER else 99,
            r["server"],
        )
    )
    return rows


def _index(summary: list[dict[str, Any]]) -> dict[tuple[str, int, str, str], dict[str, Any]]:
    return {(r["database"], r["workers"], r["case"], r["server"]): r for r in summary}


def _lat(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    return f"{row['p50_ms']:.0f} / {row['p90_ms']:.0f} / {row['p99_ms']:.0f}"


def _num(row: dict[str, Any] | None, key: str, fmt: str = "{:.1f}") -> str:
    if row is None:
        return "pending"
    text = fmt.format(row[key])
    if key == "rps" and row["ok_fraction"] < 0.99:
        text += f" ({row['ok_fraction']:.0%} ok)"
    return text


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str = "rps") -> str:
    if a is None or b is None or not b[key]:
        return "-"
    return f"{a[key] / b[key]:.2f}x"


def render_markdown(report: dict[str, Any]) -> str:
    summary: list[dict[str, Any]] = report["summary"]
    idx = _index(summary)
    opts = report["options"]
    argon = report["argon2"]
    out: list[str] = []
    out.append(
        f"Run {report['started']}, {report['wall_seconds']} s wall; "
        f"{opts['runs']} run(s) per case (medians), {opts['duration_s']} s each after "
        f"{opts['warmup_s']} s warm-up, {opts['connections']} connections, "
        f"{opts['users_tokens']} users/tokens; machine {report['machine']}."
    )
    out.append("")
    out.append(f"Factorflow {report.get('factorflow_version', '?')}; privacyIDEA 3.14 from PyPI.")
    out.append("")
    out.append(f"Equal PIN-hash cost on both sides: {argon['equal_cost']}. ")
    out.append(
        f"Defaults: Factorflow {argon['factorflow_default']}; "
        f"privacyIDEA 3.14 {argon['privacyidea_default']}."
    )
    for note in report["notes"]:
        out.append(f"\n> {note}")
    configs = sorted({(r["database"], r["workers"]) for r in summary})
    for db, workers in configs:
        out.append("")
        out.append(f"#### {db}, {workers} worker(s) — equal PIN-hash cost")
        out.append("")
        out.append(
            "| case | FF req/s | PI req/s | FF/PI | FF p50/p90/p99 ms | PI p50/p90/p99 ms "
            "| FF CPU ms/req | PI CPU ms/req | FF/PI by CPU | FF DB CPU ms/req | PI DB CPU ms/req "
            "| FF peak RSS MiB/worker | PI peak RSS MiB/worker |"
        )
        out.append("|" + "---|" * 13)
        cases = [
            c for c in CASE_ORDER if any(k[0] == db and k[1] == workers and k[2] == c for k in idx)
        ]
        for case in cases:
            ff = idx.get((db, workers, case, "factorflow"))
            pi = idx.get((db, workers, case, "privacyidea"))
            out.append(
                f"| {case} | {_num(ff, 'rps')} | {_num(pi, 'rps')} | {_ratio(ff, pi)} "
                f"| {_lat(ff)} | {_lat(pi)} "
                f"| {_num(ff, 'server_cpu_ms_per_req')} | {_num(pi, 'server_cpu_ms_per_req')} "
                f"| {_ratio(pi, ff, 'server_cpu_ms_per_req')} "
                f"| {_db_cpu(ff, db)} | {_db_cpu(pi, db)} "
                f"| {_num(ff, 'peak_rss_mib', '{:.0f}')} | {_num(pi, 'peak_rss_mib', '{:.0f}')} |"
            )
        # Event-definition overhead relative to the plain correct-OTP case.
        base_ff = idx.get((db, workers, "check_ok", "factorflow"))
        base_pi = idx.get((db, workers, "check_ok", "privacyidea"))
        key = "server_cpu_ms_per_req"
        ev_cases = [c for c in cases if c.startswith(("ev_", "pol_"))]
        if ev_cases:
            out.append("")
            out.append(
                "Change from definitions / policies (vs. check_ok), throughput and CPU per "
                "request: "
                + "; ".join(
                    f"{c}: FF {_change(idx.get((db, workers, c, 'factorflow')), base_ff)} "
                    f"/ CPU {_change(idx.get((db, workers, c, 'factorflow')), base_ff, key)}, "
                    f"PI {_change(idx.get((db, workers, c, 'privacyidea')), base_pi)} "
                    f"/ CPU {_change(idx.get((db, workers, c, 'privacyidea')), base_pi, key)}"
                    for c in ev_cases
                )
            )
        out.append("")
        out.append(
            "p99 / p50 (tail): "
            + "; ".join(
                f"{c}: FF {_tail(idx.get((db, workers, c, 'factorflow')))}, "
                f"PI {_tail(idx.get((db, workers, c, 'privacyidea')))}"
                for c in cases
                if c in ("check_ok", "check_ok_half", "unknown_user")
            )
        )
    default_rows = [r for r in summary if r["server"] == "privacyidea-default"]
    if default_rows:
        out.append("")
        out.append("#### Each product at its default PIN-hash cost")
        out.append("")
        out.append(
            "| database | workers | case | FF req/s | PI default req/s | FF/PI "
            "| FF p50/p90/p99 ms | PI p50/p90/p99 ms | PI CPU ms/req | PI peak RSS MiB/worker |"
        )
        out.append("|" + "---|" * 10)
        for row in default_rows:
            ff = idx.get((row["database"], row["workers"], row["case"], "factorflow"))
            out.append(
                f"| {row['database']} | {row['workers']} | {row['case']} | {_num(ff, 'rps')} "
                f"| {_num(row, 'rps')} | {_ratio(ff, row)} | {_lat(ff)} | {_lat(row)} "
                f"| {_num(row, 'server_cpu_ms_per_req')} | {_num(row, 'peak_rss_mib', '{:.0f}')} |"
            )
    out.append("")
    return "\n".join(out)


def _db_cpu(row: dict[str, Any] | None, db: str) -> str:
    if row is None:
        return "pending"
    return "in-process" if db == "sqlite" else f"{row['db_cpu_ms_per_req']:.1f}"


def _change(row: dict[str, Any] | None, base: dict[str, Any] | None, key: str = "rps") -> str:
    if row is None or base is None or not base[key]:
        return "pending"
    return f"{(row[key] / base[key] - 1):+.0%}"


def _tail(row: dict[str, Any] | None) -> str:
    if row is None or not row["p50_ms"]:
        return "-"
    return f"{row['p99_ms'] / row['p50_ms']:.1f}x"
