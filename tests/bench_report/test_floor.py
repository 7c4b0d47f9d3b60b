"""The benchmark's floor arithmetic (bench/floor.py) and how the report shows it.

Numbers in, numbers out: nothing here starts a server. One test runs the floor's
child process at the cheapest argon2 cost (well under a second)."""

from __future__ import annotations

import pytest

from bench.floor import (
    annotate,
    floor_rps,
    floor_share,
    overhead_ms,
    summarise_floor,
    verify_cpu_ms,
)
from bench.products import Argon2
from bench.report import render_markdown, summarise

COST = "argon2id t=2 m=19456 KiB p=1"
FLOOR = {"definition": "one verification", "cores": 2, "costs": {COST: {"cpu_ms": 20.0}}}


def test_overhead_is_cpu_per_request_minus_the_floor() -> None:
    assert overhead_ms(22.5, 20.0) == pytest.approx(2.5)
    # a request that verifies no hash may cost less than one verification
    assert overhead_ms(6.0, 20.0) == pytest.approx(-14.0)


def test_throughput_the_floor_allows_and_the_share_of_it() -> None:
    assert floor_rps(2, 20.0) == pytest.approx(100.0)
    assert floor_share(85.0, 2, 20.0) == pytest.approx(0.85)
    assert floor_rps(2, 0.0) == 0.0
    assert floor_share(85.0, 2, 0.0) == 0.0


def test_the_floor_is_the_median_of_the_verifications_before_and_after() -> None:
    floor = summarise_floor([20.0, 21.0, 40.0], [19.0, 22.0, 23.0])
    assert floor == {
        "cpu_ms": pytest.approx(21.5),
        "cpu_ms_before": 21.0,
        "cpu_ms_after": 22.0,
        "verifications": 6,
    }


def row(case: str, cpu_ms: float, rps: float, argon2: str = COST) -> dict[str, object]:
    return {"case": case, "argon2": argon2, "server_cpu_ms_per_req": cpu_ms, "rps": rps}


def test_annotate_adds_the_share_for_check_ok_only() -> None:
    check, unknown = row("check_ok", 30.0, 45.0), row("unknown_user", 6.0, 180.0)
    annotate(check, FLOOR)
    annotate(unknown, FLOOR)
    assert check["overhead_ms_per_req"] == pytest.approx(10.0)
    assert check["floor_rps"] == pytest.approx(100.0)
    assert check["floor_share"] == pytest.approx(0.45)
    assert unknown["overhead_ms_per_req"] == pytest.approx(-14.0)
    assert "floor_share" not in unknown


def test_a_cost_without_a_floor_gets_no_overhead() -> None:
    old = row("check_ok", 30.0, 45.0, argon2="argon2id t=9 m=65536 KiB p=4")
    annotate(old, FLOOR)
    annotate(plain := row("check_ok", 30.0, 45.0), None)
    assert "overhead_ms_per_req" not in old
    assert "overhead_ms_per_req" not in plain


def record(case: str, server: str, cpu_ms: float, rps: float) -> dict[str, object]:
    return {
        "database": "sqlite",
        "workers": 2,
        "case": case,
        "server": server,
        "argon2": COST,
        "requests": 100,
        "ok": 100,
        "errors": 0,
        "rps": rps,
        "p50_ms": 10.0,
        "p90_ms": 12.0,
        "p99_ms": 14.0,
        "server_cpu_ms_per_req": cpu_ms,
        "db_cpu_ms_per_req": 0.0,
        "peak_rss_mib": 150.0,
        "client_cpu_s": 1.0,
    }


def report(floor: dict[str, object] | None) -> dict[str, object]:
    records = [
        record("check_ok", "factorflow", 30.0, 45.0),
        record("check_ok", "privacyidea", 80.0, 20.0),
        record("unknown_user", "factorflow", 6.0, 180.0),
    ]
    return {
        "started": "now",
        "wall_seconds": 1,
        "options": {
            "runs": 1,
            "duration_s": 1,
            "warmup_s": 0,
            "connections": 1,
            "users_tokens": 1,
        },
        "argon2": {"equal_cost": COST, "factorflow_default": COST, "privacyidea_default": "-"},
        "machine": "-",
        "notes": [],
        "floor": floor,
        "summary": summarise(records, floor),
    }


def test_the_report_shows_floor_overhead_and_share() -> None:
    floor = dict(FLOOR, costs={COST: summarise_floor([20.0], [20.0])})
    text = render_markdown(report(floor))
    assert "FF overhead ms/req | PI overhead ms/req" in text
    assert "| check_ok | 45.0 | 20.0 |" in text
    assert "| +10.0 | +60.0 |" in text  # check_ok: 30 - 20 and 80 - 20
    assert "| -14.0 | pending |" in text  # unknown_user: no privacyIDEA row
    assert "FF 45% (45.0 of 100.0 req/s), PI 20% (20.0 of 100.0 req/s)" in text
    assert "**20.0 ms** of CPU per verification" in text


def test_a_results_file_without_a_floor_still_renders() -> None:
    text = render_markdown(report(None))
    assert "**Floor**" not in text
    assert "| 2.67x | - | - |" in text  # FF/PI by CPU, then no overheads


def test_the_child_process_times_each_verification() -> None:
    samples = verify_cpu_ms(Argon2(1, 64, 1), 3)
    assert len(samples) == 3
    assert all(ms >= 0 for ms in samples)
