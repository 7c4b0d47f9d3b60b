"""Debian's HAProxy in front of the nodes, health-checked on ``/healthz/readyz``, and
(for Galera) in front of the database nodes: each Factorflow node writes to its own
Galera node and fails over to the others, which a ``clustercheck``-style HTTP probe per
database node (200 only while the node serves) tells HAProxy about."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.cluster.galera import GaleraNode
from tests.cluster.nodes import Node
from tests.cluster.procs import Proc, free_port, port_open, wait_until

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
#: The response header naming the node that answered (HAProxy's server name).
SERVED_BY = "x-factorflow-node"


def unavailable() -> str | None:
    if not Path(HAPROXY).exists():
        return f"{HAPROXY} is missing (scripts/install-system installs haproxy)"
    return None


#: The Galera states a node serves in: Synced, and Donor/Desynced (clustercheck's
#: AVAILABLE_WHEN_DONOR=1): the donor of an incremental transfer (IST) keeps serving,
#: and marking it down would cut its clients' connections in the middle of requests.
SERVING = ("Synced", "Donor/Desynced")


class ClusterCheck:
    """HTTP 200 while the Galera node serves, 503 otherwise (what Percona's and
    MariaDB's ``clustercheck`` scripts answer to HAProxy)."""

    def __init__(self, node: GaleraNode) -> None:
        self.node = node
        check = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    up = (
                        check.node.proc is not None
                        and check.node.proc.running
                        and (check.node.status("wsrep_local_state_comment") in SERVING)
                    )
                except Exception:
                    up = False
                self.send_response(200 if up else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class DbRoute:
    """A TCP proxy on ``port`` to the database ``servers`` (with their probes' ports),
    the first preferred, the others backups."""

    name: str
    port: int
    servers: list[tuple[GaleraNode, int]]


def config(port: int, nodes: Sequence[Node], databases: Sequence[DbRoute]) -> str:
    """HAProxy's configuration: the API frontend on ``port``, and the TCP proxies."""
    servers = "\n".join(f"    server {n.name} 127.0.0.1:{n.port} check" for n in nodes)
    text = f"""global
    maxconn 4000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 2s
    # Only a request that never reached a node is sent to another one: a POST that a
    # node received may have taken effect (an OTP used) before it died.
    retries 3
    retry-on conn-failure
    option redispatch

frontend api
    bind 127.0.0.1:{port}
    default_backend factorflow

backend factorflow
    balance roundrobin
    option httpchk GET /healthz/readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    http-response set-header X-Factorflow-Node %s
{servers}
"""
    for route in databases:
        lines = [
            f"    server {g.name} 127.0.0.1:{g.port} check port {probe}"
            + ("" if i == 0 else " backup")
            for i, (g, probe) in enumerate(route.servers)
        ]
        body = "\n".join(lines)
        text += f"""
listen {route.name}
    mode tcp
    bind 127.0.0.1:{route.port}
    timeout client 1h
    timeout server 1h
    option httpchk GET /
    default-server inter 500ms fall 2 rise 3 on-marked-down shutdown-sessions
{body}
"""
    return text


class Balancer:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(
        self,
        nodes: Sequence[Node],
        databases: Sequence[DbRoute] = (),
    ) -> None:
        path = self.base / "haproxy.cfg"
        path.write_text(config(self.port, nodes, databases))
        self.proc = Proc("haproxy", [HAPROXY, "-W", "-db", "-f", str(path)],
                         self.base / "haproxy.log")  # fmt: skip
        self.proc.start()
        wait_until(lambda: port_open(self.port), 30, "haproxy listening")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(grace=5)
