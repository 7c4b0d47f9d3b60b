"""Medians over runs, and the markdown tables."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from bench.floor import SHARE_CASES, annotate, floor_rps

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


def summarise(
    records: list[dict[str, Any]], floor: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Medians per database, workers, case and server; with the run's ``floor``
    section (see :mod:`bench.floor`) also the floor, the overhead and the share."""
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
        annotate(row, floor)
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
    if key not in row:  # e.g. the overhead in a results file from before the floor
        return "-"
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
    out.extend(_floor_lines(report.get("floor")))
    for note in report["notes"]:
        out.append(f"\n> {note}")
    configs = sorted({(r["database"], r["workers"]) for r in summary})
    for db, workers in configs:
        out.append("")
        out.append(f"#### {db}, {workers} worker(s) — equal PIN-hash cost")
        out.append("")
        out.append(
            "| case | FF req/s | PI req/s | FF/PI | FF p50/p90/p99 ms | PI p50/p90/p99 ms "
            "| FF CPU ms/req | PI CPU ms/req | FF/PI by CPU | FF overhead ms/req "
            "| PI overhead ms/req | FF DB CPU ms/req | PI DB CPU ms/req "
            "| FF peak RSS MiB/worker | PI peak RSS MiB/worker |"
        )
        out.append("|" + "---|" * 15)
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
                f"| {_num(ff, 'overhead_ms_per_req', '{:+.1f}')} "
                f"| {_num(pi, 'overhead_ms_per_req', '{:+.1f}')} "
                f"| {_db_cpu(ff, db)} | {_db_cpu(pi, db)} "
                f"| {_num(ff, 'peak_rss_mib', '{:.0f}')} | {_num(pi, 'peak_rss_mib', '{:.0f}')} |"
            )
        for case in SHARE_CASES:
            ff = idx.get((db, workers, case, "factorflow"))
            pi = idx.get((db, workers, case, "privacyidea"))
            line = _share_line(case, [("FF", ff), ("PI", pi)])
            if line:
                out.extend(["", line])
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
            "| FF p50/p90/p99 ms | PI p50/p90/p99 ms | PI CPU ms/req | PI overhead ms/req "
            "| PI peak RSS MiB/worker |"
        )
        out.append("|" + "---|" * 11)
        for row in default_rows:
            ff = idx.get((row["database"], row["workers"], row["case"], "factorflow"))
            out.append(
                f"| {row['database']} | {row['workers']} | {row['case']} | {_num(ff, 'rps')} "
                f"| {_num(row, 'rps')} | {_ratio(ff, row)} | {_lat(ff)} | {_lat(row)} "
                f"| {_num(row, 'server_cpu_ms_per_req')} "
                f"| {_num(row, 'overhead_ms_per_req', '{:+.1f}')} "
                f"| {_num(row, 'peak_rss_mib', '{:.0f}')} |"
            )
        for case in SHARE_CASES:
            line = _share_line(
                case,
                [
                    (f"PI default {r['database']} {r['workers']}w", r)
                    for r in default_rows
                    if r["case"] == case
                ],
            )
            if line:
                out.extend(["", line])
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


def _floor_lines(floor: dict[str, Any] | None) -> list[str]:
    """The floor of each cost in the run, and what it means (the report's legend)."""
    if not floor:
        return []
    out = ["", f"**Floor** = {floor['definition']}."]
    for label, cost in floor["costs"].items():
        out.append(
            f"- {label}: **{cost['cpu_ms']:.1f} ms** of CPU per verification (median of "
            f"{cost['verifications']}; {cost['cpu_ms_before']:.1f} ms before the cases, "
            f"{cost['cpu_ms_after']:.1f} ms after); the {floor['cores']} cores allow "
            f"{floor_rps(floor['cores'], cost['cpu_ms']):.1f} verifications/s."
        )
    out.append("")
    out.append(
        "**Overhead** = server CPU per request minus the floor of the server's PIN-hash cost, "
        "for every case, although the floor is one verification and not every case "
        "verifies exactly one: a correct or wrong OTP and the definition / policy cases "
        "verify one PIN per request; `token_init` hashes one new PIN (a hash costs what a "
        "verification does); `unknown_user` verifies none (Factorflow answers before it "
        "reads a token: its decoy hashes are for user-store passwords, not for token "
        "PINs; privacyIDEA's work for an unknown user was not checked here), so a "
        "negative overhead means the request costs less than one verification. "
        f"**Floor share** ({', '.join(SHARE_CASES)}) = req/s ÷ (cores ÷ floor): the "
        "share reached of what the cores would allow if a request cost nothing but the "
        "floor; the load generator (and PostgreSQL) run on the same cores."
    )
    return out


def _share_line(case: str, rows: list[tuple[str, dict[str, Any] | None]]) -> str:
    """``case``'s throughput as a share of what the floor allows, per product."""
    parts = [
        f"{name} {row['floor_share']:.0%} ({row['rps']:.1f} of {row['floor_rps']:.1f} req/s)"
        for name, row in rows
        if row is not None and "floor_share" in row
    ]
    if not parts:
        return ""
    return f"{case}, share of the throughput the floor allows on the cores: " + ", ".join(parts)
