"""The floor: the CPU cost of one argon2 verification at the run's PIN-hash cost.

Both products verify one argon2id PIN hash per ``/validate/check`` of a known user, so
no server can spend less CPU on such a check than one verification costs. The run
measures that cost on the same machine, before and after its cases: ``python -m
bench.floor T M_KIB P N`` hashes a PIN once with argon2-cffi's ``PasswordHasher`` (what
Factorflow calls, and what passlib's argon2 handler in privacyIDEA calls underneath),
verifies it once to warm up, then ``N`` times, and prints the CPU time of each
verification (``time.process_time``: user + system time of all the process's threads,
so the lanes of ``p > 1`` count, as in the servers' CPU per request).

The rest is arithmetic on the medians, kept free of I/O so that it can be tested:
overhead = CPU per request - floor, and the throughput the floor allows on the cores.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.products import Argon2

#: What the floor is, in words for the report and the results file.
DEFINITION = (
    "one argon2id verification at this run's PIN-hash cost: CPU time (user + system, all "
    "threads) of argon2-cffi's PasswordHasher.verify, in a separate process on the same "
    "machine, measured before and after the cases; the median of all verifications"
)

#: The cases whose throughput is also given as a share of what the floor allows.
SHARE_CASES = ("check_ok",)

PIN = "1234"


def usable_cores() -> int:
    """The CPUs this process may run on (what the servers may use as well)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def verify_cpu_ms(argon2: Argon2, verifications: int) -> list[float]:
    """CPU milliseconds of each of ``verifications`` verifications, in a child process."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.floor",
            str(argon2.time_cost),
            str(argon2.memory_kib),
            str(argon2.parallelism),
            str(verifications),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=600,
    )
    samples: list[float] = json.loads(done.stdout)["cpu_ms"]
    return samples


def summarise_floor(before: list[float], after: list[float]) -> dict[str, Any]:
    """The floor of one cost from the samples taken before and after the cases."""
    return {
        "cpu_ms": statistics.median(before + after),
        "cpu_ms_before": statistics.median(before),
        "cpu_ms_after": statistics.median(after),
        "verifications": len(before) + len(after),
    }


def overhead_ms(cpu_ms_per_req: float, floor_ms: float) -> float:
    """What a request costs on top of one verification (negative for a request that
    verifies no hash and costs less than one)."""
    return cpu_ms_per_req - floor_ms


def floor_rps(cores: int, floor_ms: float) -> float:
    """Requests per second the cores allow if a request cost nothing but the floor."""
    return cores * 1000.0 / floor_ms if floor_ms > 0 else 0.0


def floor_share(rps: float, cores: int, floor_ms: float) -> float:
    """A case's throughput as a share of :func:`floor_rps`."""
    allowed = floor_rps(cores, floor_ms)
    return rps / allowed if allowed else 0.0


def annotate(row: dict[str, Any], floor: dict[str, Any] | None) -> None:
    """Add the floor, the overhead and (for :data:`SHARE_CASES`) the share of the
    floor's throughput to a summary row, from the run's ``floor`` section; a row whose
    cost was not measured (a results file from before the floor) stays as it is."""
    cost = (floor or {}).get("costs", {}).get(row["argon2"])
    if cost is None:
        return
    assert floor is not None
    row["floor_ms"] = cost["cpu_ms"]
    row["overhead_ms_per_req"] = overhead_ms(row["server_cpu_ms_per_req"], cost["cpu_ms"])
    if row["case"] in SHARE_CASES:
        row["floor_rps"] = floor_rps(floor["cores"], cost["cpu_ms"])
        row["floor_share"] = floor_share(row["rps"], floor["cores"], cost["cpu_ms"])


def _measure_here(argon2_args: list[str]) -> dict[str, list[float]]:
    import argon2

    time_cost, memory_kib, parallelism, count = (int(a) for a in argon2_args)
    hasher = argon2.PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
    )
    stored = hasher.hash(PIN)
    hasher.verify(stored, PIN)  # the first one also pays for allocating the memory
    cpu_ms: list[float] = []
    for _ in range(count):
        start = time.process_time()
        hasher.verify(stored, PIN)
        cpu_ms.append((time.process_time() - start) * 1000)
    return {"cpu_ms": cpu_ms}


if __name__ == "__main__":
    print(json.dumps(_measure_here(sys.argv[1:])))
