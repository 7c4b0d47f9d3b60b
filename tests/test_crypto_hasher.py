"""The PIN hasher: argon2id through a bounded pool of hashing threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import argon2

from factorflow.bootstrap import build_services
from factorflow.crypto import Hasher, usable_cpus
from factorflow.settings import Settings

CHEAP = {"time_cost": 1, "memory_kib": 1024, "parallelism": 1}


class CountingHasher:
    """Stands in for argon2's PasswordHasher and records how many calls overlap.

    Each call waits at a barrier of ``parties``: it only passes once that many calls
    are inside at the same time, so a pool smaller than ``parties`` would break the
    barrier (its timeout is a deadlock guard, not a measurement)."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=60)
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.threads: set[str] = set()

    def verify(self, stored: str, secret: str) -> bool:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.threads.add(threading.current_thread().name)
        try:
            self.barrier.wait()
        finally:
            with self.lock:
                self.inside -= 1
        return stored == secret


def test_never_more_verifications_at_once_than_the_bound() -> None:
    hasher = Hasher(**CHEAP, threads=2)
    double = CountingHasher(parties=2)
    hasher.backend = double
    with ThreadPoolExecutor(12) as callers:
        results = list(callers.map(lambda i: hasher.verify("pin", "pin"), range(24)))
    assert results == [True] * 24
    assert double.most == 2
    assert all(name.startswith("argon2") for name in double.threads)


def test_real_argon2_from_many_threads_runs_on_the_pool() -> None:
    hasher = Hasher(**CHEAP, threads=2)
    stored = hasher.hash("1234")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    seen: set[str] = set()
    real = hasher.backend

    class Recording:
        def verify(self, hash_: str, secret: str) -> bool:
            seen.add(threading.current_thread().name)
            return real.verify(hash_, secret)

    hasher.backend = Recording()
    with ThreadPoolExecutor(8) as callers:
        right = list(callers.map(lambda i: hasher.verify(stored, "1234"), range(8)))
        wrong = list(callers.map(lambda i: hasher.verify(stored, "4321"), range(8)))
    assert right == [True] * 8
    assert wrong == [False] * 8
    assert seen and len(seen) <= 2
    assert all(name.startswith("argon2") for name in seen)


def test_a_malformed_hash_is_a_failed_verification() -> None:
    hasher = Hasher(**CHEAP)
    assert hasher.verify("not-a-hash", "1234") is False
    assert hasher.verify(argon2.PasswordHasher().hash("x")[:-4], "x") is False


def test_default_bound_is_the_usable_cpus() -> None:
    assert Hasher(**CHEAP).threads == usable_cpus() >= 1


def test_the_setting_bounds_the_services_hasher(tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path, argon2_threads=3))
    try:
        assert services.hasher.threads == 3
    finally:
        services.close()
