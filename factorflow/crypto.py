"""Secrets at rest (AES-256-GCM) and password/PIN hashing (argon2id).

Key material lives in files of the data directory, created with owner-only
permissions. Ciphertexts are bound to their purpose with associated data, so a
secret copied into another column or row does not decrypt.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

import argon2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from factorflow.errors import ServerError

_VERSION = "v1"
#: What :meth:`SecretBox.encrypt` writes: the version, base64 of nonce + text + tag.
_SEALED = re.compile(r"v1:[A-Za-z0-9+/]{38,}={0,2}")

_T = TypeVar("_T")


def setting_purpose(key: str) -> str:
    """The purpose a secret system setting (``/system/setConfig``) is sealed with."""
    return f"config.secret:{key}"


def ensure_key_file(path: Path, size: int = 32) -> bytes:
    """Return the key stored in ``path``, creating it (mode 0600) if missing."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != size:
            raise ServerError(f"Key file {path} has the wrong length")
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class SecretBox:
    """Authenticated encryption of short secrets (OTP keys, bind passwords)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, purpose: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext, purpose.encode())
        return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, purpose: str) -> bytes:
        version, _, body = token.partition(":")
        if version != _VERSION:
            raise ServerError("Unknown ciphertext version")
        raw = base64.b64decode(body)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode())
        except InvalidTag as exc:
            raise ServerError("A stored secret could not be decrypted") from exc

    @staticmethod
    def is_sealed(value: object) -> bool:
        """Whether ``value`` has the form of a ciphertext of this class (a value
        stored before it was encrypted does not)."""
        return isinstance(value, str) and _SEALED.fullmatch(value) is not None

    def encrypt_text(self, plaintext: str, purpose: str) -> str:
        return self.encrypt(plaintext.encode(), purpose)

    def decrypt_text(self, token: str, purpose: str) -> str:
        return self.decrypt(token, purpose).decode()


class PasswordBackend(Protocol):
    """What :class:`Hasher` hashes with: argon2-cffi's ``PasswordHasher`` (``verify``
    raises on a mismatch or a malformed hash)."""

    def hash(self, password: str) -> str: ...

    def verify(self, hash: str, password: str) -> bool: ...


class Hasher:
    """argon2id hashes for PINs and passwords, with a configurable cost.

    Hashing runs on a small pool of dedicated threads, at most ``threads`` at once
    (default: the CPUs this process may use). argon2-cffi releases the GIL, so without
    the bound every request thread hashes at once; more hashes than cores finish no
    sooner, and each one needs ``memory_kib`` of working memory. The memory is also why
    the hashing happens on the pool's own threads rather than under a semaphore in the
    caller's: glibc serves a 19 MiB allocation from the calling thread's malloc arena
    once its dynamic mmap threshold has grown, and keeps it there after the free, so
    every request thread that ever hashed would hold one buffer for good (16 request
    threads: ~300 MiB more resident memory per process). Reusing a few threads bounds
    that to ``threads`` buffers without giving up the reuse (a fresh mmap per hash would
    cost page faults on every request).
    """

    def __init__(
        self, time_cost: int, memory_kib: int, parallelism: int, *, threads: int | None = None
    ) -> None:
        #: The hashing itself, run on the pool's threads (tests replace it to count or
        #: watch the verifications).
        self.backend: PasswordBackend = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        #: The cost this hasher hashes at.
        self.time_cost, self.memory_kib = time_cost, memory_kib
        # How this hasher's own hashes begin: the usual stored PIN, told apart from
        # weaker ones without parsing it on every successful check.
        self._own_prefix = (
            f"$argon2id$v={argon2.low_level.ARGON2_VERSION}"
            f"$m={memory_kib},t={time_cost},p={parallelism}$"
        )
        self.threads = threads or usable_cpus()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()

    def hash(self, secret: str) -> str:
        return self._run(self.backend.hash, secret)

    def verify(self, stored: str, secret: str) -> bool:
        """Whether ``secret`` matches the ``stored`` hash."""
        return self._run(self._verify, stored, secret)

    def is_weaker(self, stored: str) -> bool:
        """Whether ``stored`` was hashed at less cost than this hasher's (fewer passes
        or less memory) or not as argon2id: a hash carried over from another server,
        or made before the cost was raised. A stronger one is not weaker: lowering the
        setting does not weaken the hashes people already have."""
        if stored.startswith(self._own_prefix):
            return False
        try:
            params = argon2.extract_parameters(stored)
        except argon2.exceptions.InvalidHashError:
            return True
        return (
            params.type is not argon2.Type.ID
            or params.time_cost < self.time_cost
            or params.memory_cost < self.memory_kib
        )

    def _verify(self, stored: str, secret: str) -> bool:
        try:
            return self.backend.verify(stored, secret)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def _run(self, work: Callable[..., _T], *args: str) -> _T:
        return self._executor().submit(work, *args).result()

    def _executor(self) -> ThreadPoolExecutor:
        # Created on first use (short-lived CLI processes that never hash start no
        # threads) and again in a forked child, which inherits the pool but not its threads.
        pool = self._pool
        if pool is None or self._pool_pid != os.getpid():
            with self._pool_lock:
                if self._pool is None or self._pool_pid != os.getpid():
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="argon2")
                    self._pool_pid = os.getpid()
                pool = self._pool
        return pool


def hashing_threads_per_worker(workers: int, cpus: int | None = None) -> int:
    """The hashing threads each of ``workers`` processes on one host should use: an
    equal share of the CPUs, at least one. More threads than cores finish no hash
    sooner, and each busy one keeps an argon2 buffer resident in its process."""
    return max(1, (cpus if cpus is not None else usable_cpus()) // max(1, workers))


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def constant_time_equal(left: str, right: str) -> bool:
    return secrets.compare_digest(left.encode(), right.encode())
