"""Factorflow nodes of the harness: ``factorflow serve`` processes (the API with its
embedded job worker and scheduler), each with its node name and data directory and
the installation's shared keys, on one database."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from factorflow.bootstrap import build_services
from factorflow.crypto import ensure_key_file
from factorflow.db.base import transaction
from factorflow.settings import Settings
from tests.cluster.procs import Proc, free_port, wait_until

ADMIN, ADMIN_PASSWORD = "admin", "cluster-admin-1"

#: Settings every node shares: cheap hashing (two cores for everything), quick
#: delivery and retries, a lease short enough that a killed node's claimed job goes
#: to another node within the soak.
NODE_ENV = {
    "FACTORFLOW_ARGON2_TIME_COST": "1",
    "FACTORFLOW_ARGON2_MEMORY_KIB": "1024",
    "FACTORFLOW_ARGON2_THREADS": "1",
    "FACTORFLOW_API_THREADS": "8",
    "FACTORFLOW_WORKER_THREADS": "2",
    "FACTORFLOW_WORKER_POLL_SECONDS": "0.2",
    "FACTORFLOW_JOB_BACKOFF_BASE_SECONDS": "1",
    "FACTORFLOW_JOB_BACKOFF_MAX_SECONDS": "5",
    "FACTORFLOW_JOB_LEASE_SECONDS": "10",
    "FACTORFLOW_CONFIG_RELOAD_SECONDS": "0.2",
    "FACTORFLOW_DATABASE_LOCK_TIMEOUT_SECONDS": "10",
}


@dataclass
class Node:
    name: str
    data_dir: Path
    database_url: str
    keys: Path
    port: int = field(default_factory=free_port)
    proc: Proc | None = None
    env_extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORFLOW_")}
        env.update(NODE_ENV)
        env.update(
            FACTORFLOW_DATA_DIR=str(self.data_dir),
            FACTORFLOW_DATABASE_URL=self.database_url,
            FACTORFLOW_NODE_NAME=self.name,
            FACTORFLOW_ENCRYPTION_KEY_FILE=str(self.keys / "encryption.key"),
            FACTORFLOW_JWT_SECRET_FILE=str(self.keys / "jwt.secret"),
            FACTORFLOW_AUDIT_KEY_FILE=str(self.keys / "audit.key"),
        )
        env.update(self.env_extra)
        return env

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "factorflow", "serve", "--data-dir", str(self.data_dir),
                "--port", str(self.port)]  # fmt: skip
        self.proc = Proc(self.name, argv, self.data_dir / "serve.log", env=self.env())
        self.proc.start()

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/healthz/readyz", timeout=2).status_code == 200

    def wait_ready(self, timeout: float = 120.0) -> None:
        def up() -> bool:
            if self.proc is not None and not self.proc.running:
                raise RuntimeError(f"{self.name} exited:\n{self.proc.tail()}")
            return self.ready()

        try:
            wait_until(up, timeout, f"{self.name} ready")
        except TimeoutError:
            tail = self.proc.tail() if self.proc else ""
            raise TimeoutError(f"{self.name} not ready within {timeout} s:\n{tail}") from None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


def prepare_installation(base: Path, database_url: str) -> Path:
    """Migrate the (empty) database, make the shared keys and the first admin once;
    the directory holding the keys every node uses."""
    keys = base / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    for name, size in (("encryption.key", 32), ("jwt.secret", 64), ("audit.key", 32)):
        ensure_key_file(keys / name, size=size)
    settings = Settings(
        data_dir=base / "setup",
        database_url=database_url,
        encryption_key_file=keys / "encryption.key",
        jwt_secret_file=keys / "jwt.secret",
        audit_key_file=keys / "audit.key",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        node_name="setup",
    )
    services = build_services(settings, migrate=True)
    try:
        with transaction(services.sessions) as session:
            services.admins.add(session, ADMIN, ADMIN_PASSWORD)
    finally:
        services.close()
    shutil.rmtree(base / "setup", ignore_errors=True)
    return keys
