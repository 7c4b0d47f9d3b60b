"""A second, real Factorflow as the federation target: ``factorflow init`` and
``factorflow serve`` as processes on a loopback port, with their own data
directory and SQLite file, provisioned through its HTTP API."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.factories import passwd_line
from tests.notify.servers import free_port
from tests.tokens.helpers import hotp

REMOTE_ADMIN_PASSWORD = "remote-admin-pass-1"
REMOTE_REALM = "fedrealm"
REMOTE_PASSWORDS = {"dave": "dave-pass-1", "erin": "erin-pass-1"}


class RemoteFactorflow:
    """One Factorflow server process; ``url`` is its base URL."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "remote.log"
        self.env = {
            **os.environ,
            "FACTORFLOW_DATA_DIR": str(directory / "data"),
            "FACTORFLOW_DATABASE_URL": f"sqlite:///{directory / 'remote.sqlite'}",
            "FACTORFLOW_ARGON2_TIME_COST": "1",
            "FACTORFLOW_ARGON2_MEMORY_KIB": "1024",
            "FACTORFLOW_ARGON2_PARALLELISM": "1",
            "FACTORFLOW_NODE_NAME": "remote",
            "FACTORFLOW_EMBEDDED_WORKER": "false",
            "FACTORFLOW_CONFIG_RELOAD_SECONDS": "0",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.admin_token = ""
        self.keys: dict[str, bytes] = {}
        self.counters: dict[str, int] = {}

    def _cli(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "factorflow", *args],
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()

    def start(self, workers: int = 1) -> None:
        self._cli("init", "--admin", "admin", "--password", REMOTE_ADMIN_PASSWORD)
        command = ["serve", "--port", str(self.port), "--workers", str(workers)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "factorflow", *command],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{self.url}/validate/check", timeout=2)
                break
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"remote did not start:\n{self.output()}") from None
                time.sleep(0.2)
        body = self.call("POST", "/auth", username="admin", password=REMOTE_ADMIN_PASSWORD)
        self.admin_token = body["result"]["value"]["token"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def call(self, method: str, path: str, *, admin: bool = False, **params: Any) -> Any:
        headers = {"Authorization": self.admin_token} if admin else {}
        kwargs: dict[str, Any] = {"params": params} if method == "GET" else {"data": params}
        response = httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        body = response.json()
        assert response.status_code == 200 and body["result"]["status"], response.text
        return body

    def provision(self) -> None:
        """Users dave and erin in realm ``fedrealm`` (the remote's default realm)."""
        passwd = self.directory / "remote.passwd"
        passwd.write_text(
            passwd_line("dave", 2000, REMOTE_PASSWORDS["dave"], "Dave,,,,dave@example.com")
            + "\n"
            + passwd_line("erin", 2001, REMOTE_PASSWORDS["erin"], "Erin,,,,erin@example.com")
            + "\n"
        )
        self.call("POST", "/resolver/fedresolver", admin=True, type="passwdresolver",
                  fileName=str(passwd))  # fmt: skip
        self.call("POST", f"/realm/{REMOTE_REALM}", admin=True, resolvers="fedresolver")
        self.call("POST", f"/defaultrealm/{REMOTE_REALM}", admin=True)

    def enrol_hotp(self, user: str, pin: str = "") -> str:
        """A fresh HOTP token for ``user`` (earlier ones deleted); returns its serial."""
        listing = self.call("GET", "/token/", admin=True, user=user, realm=REMOTE_REALM)
        for token in listing["result"]["value"]["tokens"]:
            self.call("DELETE", f"/token/{token['serial']}", admin=True)
        key = secrets.token_bytes(20)
        body = self.call("POST", "/token/init", admin=True, type="hotp", otpkey=key.hex(),
                         pin=pin, user=user, realm=REMOTE_REALM)  # fmt: skip
        serial: str = body["detail"]["serial"]
        self.keys[user] = key
        self.counters[user] = 0
        return serial

    def next_otp(self, user: str) -> str:
        """The OTP value for ``user``'s next counter (consumed: the next call moves on)."""
        counter = self.counters[user]
        self.counters[user] = counter + 1
        return hotp(counter, self.keys[user])

    def audit(self, **params: Any) -> list[dict[str, Any]]:
        body = self.call("GET", "/audit/", admin=True, **params)
        entries: list[dict[str, Any]] = body["result"]["value"]["auditdata"]
        return entries


@contextmanager
def running_remote(directory: Path) -> Iterator[RemoteFactorflow]:
    """A started and provisioned remote (realm ``fedrealm``), stopped afterwards."""
    server = RemoteFactorflow(directory)
    try:
        server.start()
        server.provision()
        yield server
    finally:
        server.stop()
