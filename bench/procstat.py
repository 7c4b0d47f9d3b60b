"""CPU time and peak RSS of a server's process tree, read from /proc."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcSample:
    pid: int
    ppid: int
    comm: str
    cpu_seconds: float


def read_stat(pid: int) -> ProcSample | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm is in parentheses and may contain spaces; the rest is space-separated.
    close = raw.rfind(")")
    comm = raw[raw.find("(") + 1 : close]
    fields = raw[close + 2 :].split()
    # fields[0] is state (field 3); utime and stime are fields 14 and 15.
    ppid = int(fields[1])
    ticks = int(fields[11]) + int(fields[12])
    return ProcSample(pid, ppid, comm, ticks / CLK_TCK)


def all_processes() -> dict[int, ProcSample]:
    out: dict[int, ProcSample] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            sample = read_stat(int(entry))
            if sample is not None:
                out[sample.pid] = sample
    return out


def process_tree(root: int) -> list[ProcSample]:
    """The root and all its descendants."""
    procs = all_processes()
    children: dict[int, list[int]] = {}
    for sample in procs.values():
        children.setdefault(sample.ppid, []).append(sample.pid)
    found: list[ProcSample] = []
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in procs:
            found.append(procs[pid])
        stack.extend(children.get(pid, []))
    return found


def tree_cpu_seconds(root: int) -> float:
    return sum(sample.cpu_seconds for sample in process_tree(root))


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL server process (the database's share of the work)."""
    return sum(s.cpu_seconds for s in all_processes().values() if s.comm.startswith("postgres"))


def postgres_database_cpu_seconds(database: str) -> float:
    """CPU of the PostgreSQL backends serving ``database`` (their command line names
    it): the share of one database when other work uses the same server."""
    total = 0.0
    for sample in all_processes().values():
        if not sample.comm.startswith("postgres"):
            continue
        try:
            title = Path(f"/proc/{sample.pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if f" {database} ".encode() in title + b" ":
            total += sample.cpu_seconds
    return total


def peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak_rss(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")
