"""``factorflow serve --workers N`` gives each worker process its share of the CPUs for
argon2 (an unset ``argon2_threads`` means one per CPU, right for one process), and its
workers end with it even when it is killed outright."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from factorflow.crypto import hashing_threads_per_worker
from tests.federation.remote import RemoteFactorflow


def worker_environments(parent: int) -> list[dict[str, str]]:
    """The environments of ``parent``'s child processes, from /proc."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    environments = []
    for child in children:
        raw = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        pairs = (item.decode(errors="replace").partition("=") for item in raw if item)
        environments.append({key: value for key, _, value in pairs})
    return environments


@pytest.mark.parametrize("configured", ["", "3"])
def test_each_worker_gets_its_share_of_hashing_threads(tmp_path: Path, configured: str) -> None:
    """Unset: cpus // workers per worker. Set by the operator: kept as it is."""
    server = RemoteFactorflow(tmp_path)
    server.env.pop("FACTORFLOW_ARGON2_THREADS", None)
    if configured:
        server.env["FACTORFLOW_ARGON2_THREADS"] = configured
    try:
        server.start(workers=2)
        assert server.process is not None
        workers = [
            env for env in worker_environments(server.process.pid) if "FACTORFLOW_DATA_DIR" in env
        ]
        assert len(workers) >= 2
        expected = configured or str(hashing_threads_per_worker(2))
        assert {env.get("FACTORFLOW_ARGON2_THREADS") for env in workers} == {expected}
    finally:
        server.stop()


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_workers_end_when_the_supervisor_is_killed_and_the_port_is_free_again(
    tmp_path: Path,
) -> None:
    """Issue 12 item 9: after SIGKILL of ``serve --workers 2`` nothing keeps serving, and
    the server starts again on the same port."""
    server = RemoteFactorflow(tmp_path)
    workers: list[int] = []
    try:
        server.start(workers=2)
        assert server.process is not None
        parent = server.process.pid
        workers = [
            int(child)
            for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        ]
        assert len(workers) >= 2
        os.kill(parent, signal.SIGKILL)
        server.process.wait(10)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if _alive(pid)]
        server.start(workers=2)  # the same port: "address already in use" before the fix
        assert server.call("GET", "/realm/", admin=True)["result"]["status"] is True
    finally:
        server.stop()
        for pid in workers:
            if _alive(pid):  # the failure this test is about: do not leave them running
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("workers", "cpus", "threads"), [(1, 2, 2), (2, 2, 1), (2, 8, 4), (3, 2, 1), (4, 16, 4)]
)
def test_the_share_is_the_cpus_divided_by_the_workers_and_at_least_one(
    workers: int, cpus: int, threads: int
) -> None:
    assert hashing_threads_per_worker(workers, cpus) == threads
