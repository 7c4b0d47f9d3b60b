"""The whole topology as one context manager: a database (a fresh PostgreSQL database
on 127.0.0.1:5432, or a Galera cluster of three), HAProxy, N Factorflow nodes. Leaving
it stops every process it started (each its own process group), drops the database and
removes the temporary directory, also when starting failed half-way."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster import balancer, galera
from tests.cluster.balancer import Balancer, ClusterCheck, DbRoute
from tests.cluster.galera import GaleraCluster
from tests.cluster.nodes import Node, prepare_installation
from tests.cluster.procs import free_port, wait_until

PG_ADMIN_URL = os.environ.get(
    "FACTORFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DATABASES = ("postgresql", "galera")


def unavailable(database: str) -> str | None:
    """Why this topology cannot start here (a skip reason), or None."""
    reason = balancer.unavailable()
    if reason is None and database == "galera":
        reason = galera.unavailable()
        if reason is None and os.geteuid() != 0:
            reason = "starting mariadbd as the mysql account needs root"
    return reason


@dataclass
class Cluster:
    database: str
    base: Path
    nodes: list[Node]
    balancer: Balancer
    galera: GaleraCluster | None = None
    #: Which Galera node each Factorflow node writes to first (through HAProxy).
    prefers: dict[str, str] = field(default_factory=dict)
    database_url: str = ""

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def wait_balanced(self, timeout: float = 60.0) -> None:
        """Until HAProxy sends requests to every node (its checks need a few rounds)."""
        import httpx

        seen: set[str] = set()

        def everyone() -> bool:
            reply = httpx.get(f"{self.balancer.url}/healthz/readyz", timeout=3)
            if reply.status_code == 200:
                seen.add(reply.headers.get(balancer.SERVED_BY, ""))
            return seen >= {n.name for n in self.nodes}

        wait_until(everyone, timeout, "HAProxy balancing over every node", step=0.05)


def _keep_logs(base: Path) -> None:
    """Copy the processes' logs to ``$FACTORFLOW_CLUSTER_LOGS`` (if set) before the
    temporary directory goes."""
    target = os.environ.get("FACTORFLOW_CLUSTER_LOGS")
    if not target:
        return
    for log in base.rglob("*.log"):
        dest = Path(target) / base.name / log.relative_to(base)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, dest)


def _postgresql(stack: ExitStack) -> str:
    from tests.conftest import create_database, drop_database

    name = f"ff_cluster_{uuid.uuid4().hex[:10]}"
    url = create_database(PG_ADMIN_URL, name)
    stack.callback(drop_database, PG_ADMIN_URL, name)
    return url


@contextmanager
def running(database: str, nodes: int = 3, env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """Start the topology (``env``: more FACTORFLOW_* settings for every node); yield
    it; stop it all."""
    if database not in DATABASES:
        raise ValueError(f"database is one of {DATABASES}")
    with ExitStack() as stack:
        base = Path(tempfile.mkdtemp(prefix=f"ff-cluster-{database}-"))
        base.chmod(0o755)
        stack.callback(shutil.rmtree, base, True)
        stack.callback(_keep_logs, base)
        front = Balancer(base)
        names = [f"ff{i + 1}" for i in range(nodes)]
        routes: list[DbRoute] = []
        prefers: dict[str, str] = {}
        cluster_db: GaleraCluster | None = None
        if database == "postgresql":
            url = _postgresql(stack)
            urls = {name: url for name in names}
        else:
            cluster_db = GaleraCluster(base / "galera")
            (base / "galera").mkdir()
            stack.callback(cluster_db.stop)
            cluster_db.start()
            checks = [ClusterCheck(g) for g in cluster_db.nodes]
            for check in checks:
                stack.callback(check.stop)
            cluster_db.create_database("factorflow")
            urls = {}
            size = len(cluster_db.nodes)
            for i, name in enumerate(names):
                order = [(i + k) % size for k in range(size)]
                route = DbRoute(
                    f"db_{name}", free_port(),
                    [(cluster_db.nodes[j], checks[j].port) for j in order],
                )  # fmt: skip
                routes.append(route)
                prefers[name] = cluster_db.nodes[order[0]].name
                urls[name] = (
                    f"mysql+pymysql://{galera.USER}:{galera.PASSWORD}@127.0.0.1:{route.port}"
                    "/factorflow?charset=utf8mb4"
                )
            # The schema is made once, on one Galera node directly.
            url = cluster_db.url(cluster_db.nodes[0], "factorflow")
        keys = prepare_installation(base, url)
        members = [Node(name, base / name, urls[name], keys, env_extra=dict(env or {}))
                   for name in names]  # fmt: skip
        stack.callback(front.stop)
        front.start(members, routes)
        for member in members:
            stack.callback(member.stop)
            member.start()
        for member in members:
            member.wait_ready(timeout=180)
        cluster = Cluster(database, base, members, front, cluster_db, prefers, url)
        cluster.wait_balanced()
        yield cluster
