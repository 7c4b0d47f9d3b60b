"""A three-node MariaDB Galera cluster of the test's own: three ``mariadbd`` with
Debian's galera-4 on their own loopback ports, data directories and sockets under a
temporary directory, run as the ``mysql`` account (as root the joiner's rsync state
transfer fails with a permission error). The machine's own MariaDB (3306) is not touched.

The first node bootstraps the cluster (``--wsrep-new-cluster``), the others join it by
a full state transfer (SST, rsync). A node that was stopped rejoins from the position
``mariadbd --wsrep-recover`` reports, so that it gets an incremental transfer (IST) of
what it missed instead of the whole data directory again.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.procs import Proc, free_port, wait_until

PROVIDER = Path("/usr/lib/galera/libgalera_smm.so")
MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
CLIENT = shutil.which("mariadb") or "/usr/bin/mariadb"
USER, PASSWORD = "factorflow", "cluster-pass-1"
_RECOVERED = re.compile(r"WSREP: Recovered position:?\s+([0-9a-f-]{36}:-?\d+)")


def unavailable() -> str | None:
    """Why a Galera cluster cannot start here, or None."""
    for path in (PROVIDER, Path(MARIADBD), Path(INSTALL_DB), Path(CLIENT)):
        if not path.exists():
            return f"{path} is missing (scripts/install-system installs galera-4, mariadb-server)"
    if not shutil.which("rsync"):
        return "rsync is missing (the state transfer needs it)"
    try:
        import pwd

        pwd.getpwnam("mysql")
    except KeyError:
        return "there is no mysql account to run mariadbd as"
    return None


@dataclass
class GaleraNode:
    index: int
    base: Path
    port: int = field(default_factory=free_port)
    gcomm: int = field(default_factory=free_port)
    ist: int = field(default_factory=free_port)
    sst: int = field(default_factory=free_port)
    proc: Proc | None = None
    #: How each (re)join received its state ("SST", "IST", or "bootstrap").
    transfers: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"galera{self.index}"

    @property
    def dir(self) -> Path:
        return self.base / self.name

    @property
    def socket(self) -> Path:
        return self.dir / "mysqld.sock"

    @property
    def error_log(self) -> Path:
        return self.dir / "error.log"

    @property
    def config(self) -> Path:
        return self.dir / "my.cnf"

    def write_config(self, peers: list[GaleraNode]) -> None:
        address = ",".join(f"127.0.0.1:{p.gcomm}" for p in peers)
        options = f"base_host=127.0.0.1;base_port={self.gcomm};ist.recv_addr=127.0.0.1:{self.ist}"
        self.config.write_text(
            f"""[mysqld]
datadir={self.dir}/data
socket={self.socket}
pid-file={self.dir}/mysqld.pid
log-error={self.error_log}
tmpdir={self.dir}/tmp
port={self.port}
bind-address=127.0.0.1
skip-name-resolve
performance_schema=OFF
innodb_buffer_pool_size=48M
innodb_log_file_size=48M
innodb_flush_log_at_trx_commit=2
max_connections=300
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
character-set-server=utf8mb4
collation-server=utf8mb4_bin
wsrep_on=ON
wsrep_provider={PROVIDER}
wsrep_cluster_name=factorflow_test
wsrep_cluster_address=gcomm://{address}
wsrep_node_name={self.name}
wsrep_node_address=127.0.0.1:{self.gcomm}
wsrep_provider_options="{options};gcache.size=64M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:{self.sst}
wsrep_slave_threads=2
"""
        )

    def sql(self, statement: str, timeout: float = 20.0) -> str:
        """Run ``statement`` as root over the node's socket; its tab-separated output."""
        done = subprocess.run(
            [CLIENT, f"--socket={self.socket}", "-uroot", "-N", "-B", "-e", statement],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout.strip()

    def status(self, name: str) -> str:
        row = self.sql(f"SHOW GLOBAL STATUS LIKE '{name}'")
        return row.split("\t")[1] if "\t" in row else ""

    def synced(self, size: int) -> bool:
        return (
            self.status("wsrep_local_state_comment") == "Synced"
            and int(self.status("wsrep_cluster_size") or 0) >= size
        )

    def start(self, *extra: str) -> None:
        self.proc = Proc(
            self.name,
            [MARIADBD, f"--defaults-file={self.config}", *extra],
            self.dir / "stdout.log",
            user="mysql",
        )
        self.proc.start()

    def recovered_position(self) -> str:
        """``mariadbd --wsrep-recover``: the last committed position (uuid:seqno)."""
        before = self.error_log.read_text(errors="replace") if self.error_log.exists() else ""
        subprocess.run(
            [MARIADBD, f"--defaults-file={self.config}", "--wsrep-recover"],
            capture_output=True,
            timeout=120,
            check=False,
            user="mysql",
        )
        after = self.error_log.read_text(errors="replace")[len(before) :]
        found = _RECOVERED.findall(after)
        if not found:
            raise RuntimeError(f"{self.name}: --wsrep-recover reported no position")
        return str(found[-1])

    def last_transfer(self, since: int) -> str:
        text = self.error_log.read_text(errors="replace")[since:]
        if "Receiving IST" in text or "IST received" in text:
            return "IST"
        if "SST" in text and ("complete" in text.lower() or "Joined" in text):
            return "SST"
        return "unknown"


class GaleraCluster:
    """Three (``size``) Galera nodes under ``base``; :meth:`stop` ends them all."""

    def __init__(self, base: Path, size: int = 3) -> None:
        self.base = base
        self.nodes = [GaleraNode(i + 1, base) for i in range(size)]

    def start(self, timeout: float = 180.0) -> None:
        shutil.chown(self.base, "mysql", "mysql")
        for node in self.nodes:
            for sub in (node.dir, node.dir / "tmp"):
                sub.mkdir(parents=True, exist_ok=True)
                shutil.chown(sub, "mysql", "mysql")
            node.write_config(self.nodes)
        first = self.nodes[0]
        subprocess.run(
            [INSTALL_DB, f"--defaults-file={first.config}", "--user=mysql",
             "--skip-test-db", "--auth-root-authentication-method=socket"],
            capture_output=True, timeout=300, check=True,
        )  # fmt: skip
        first.start("--wsrep-new-cluster")
        first.transfers.append("bootstrap")
        wait_until(lambda: first.synced(1), timeout, f"{first.name} bootstrapping", step=0.5)
        first.sql(
            f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';"
            f" GRANT ALL ON *.* TO '{USER}'@'127.0.0.1'"
        )
        for node in self.nodes[1:]:
            (node.dir / "data").mkdir(exist_ok=True)
            shutil.chown(node.dir / "data", "mysql", "mysql")
            node.start()
            wait_until(lambda n=node: n.synced(2), timeout, f"{node.name} joining", step=0.5)  # type: ignore[misc]
            node.transfers.append("SST")
        wait_until(lambda: all(n.synced(len(self.nodes)) for n in self.nodes), timeout,
                   "the cluster forming", step=0.5)  # fmt: skip

    def url(self, node: GaleraNode, database: str) -> str:
        return f"mysql+pymysql://{USER}:{PASSWORD}@127.0.0.1:{node.port}/{database}?charset=utf8mb4"

    def create_database(self, name: str) -> None:
        self.nodes[0].sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")

    def kill_node(self, node: GaleraNode) -> None:
        """SIGKILL one database node (a crash: no clean shutdown)."""
        assert node.proc is not None
        node.proc.kill()

    def rejoin(self, node: GaleraNode, timeout: float = 120.0) -> str:
        """Start ``node`` again from its recovered position; the transfer it got."""
        position = node.recovered_position()
        since = node.error_log.stat().st_size
        node.start(f"--wsrep-start-position={position}")
        size = len(self.nodes)
        wait_until(lambda: node.synced(size), timeout, f"{node.name} rejoining", step=0.5)
        transfer = node.last_transfer(since)
        node.transfers.append(transfer)
        return transfer

    def counters(self) -> dict[str, int]:
        """Certification failures and brute-force aborts summed over the running nodes."""
        total = {"wsrep_local_cert_failures": 0, "wsrep_local_bf_aborts": 0}
        for node in self.nodes:
            if node.proc is not None and node.proc.running:
                for key in total:
                    with contextlib.suppress(subprocess.SubprocessError, ValueError):
                        total[key] += int(node.status(key) or 0)
        return total

    def stop(self) -> None:
        # Joiners first, the bootstrap node last; each its own SIGTERM, then SIGKILL.
        for node in reversed(self.nodes):
            if node.proc is not None:
                node.proc.stop(grace=30)
        time.sleep(0.2)
