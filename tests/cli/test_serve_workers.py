"""``factorflow serve --workers N`` gives each worker process its share of the CPUs for
argon2 (an unset ``argon2_threads`` means one per CPU, right for one process)."""

from __future__ import annotations

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


@pytest.mark.parametrize(
    ("workers", "cpus", "threads"), [(1, 2, 2), (2, 2, 1), (2, 8, 4), (3, 2, 1), (4, 16, 4)]
)
def test_the_share_is_the_cpus_divided_by_the_workers_and_at_least_one(
    workers: int, cpus: int, threads: int
) -> None:
    assert hashing_threads_per_worker(workers, cpus) == threads
