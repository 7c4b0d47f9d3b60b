"""The two servers under test: install, set up, provision, start and stop.

Both are driven through the same privacyIDEA REST API calls, so they get the same users
(a passwdresolver on one flat file), realm, HOTP tokens, PINs and event definitions.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import procstat

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("FACTORFLOW_BENCH_CACHE", Path.home() / ".cache" / "factorflow-bench"))
PI_VERSION = "3.14"
REALM = "bench"
RESOLVER = "benchusers"


@dataclass(frozen=True)
class Argon2:
    time_cost: int
    memory_kib: int
    parallelism: int

    def label(self) -> str:
        return f"argon2id t={self.time_cost} m={self.memory_kib} KiB p={self.parallelism}"


#: Factorflow's default (factorflow/settings.py), the OWASP argon2id recommendation.
FACTORFLOW_DEFAULT_ARGON2 = Argon2(2, 19456, 1)
#: privacyIDEA 3.14's default: passlib's argon2 with ``argon2__rounds=9`` (lib/crypto.py) and
#: passlib's defaults taken from argon2-cffi (64 MiB, 4 lanes), type ID.
PRIVACYIDEA_DEFAULT_ARGON2 = Argon2(9, 65536, 4)


@dataclass
class BenchToken:
    serial: str
    user: str
    pin: str
    key: bytes
    counter: int = 0

    def spec(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "realm": REALM,
            "pin": self.pin,
            "key_hex": self.key.hex(),
            "counter": self.counter,
        }


def make_tokens(n: int) -> list[BenchToken]:
    return [
        BenchToken(
            serial=f"BENCH{i:05d}",
            user=f"benchuser{i:05d}",
            pin=f"{1000 + i % 9000}",
            key=hashlib.sha256(f"factorflow-bench-key-{i}".encode()).digest()[:20],
        )
        for i in range(n)
    ]


def write_user_file(path: Path, tokens: list[BenchToken]) -> None:
    lines = [
        f"{t.user}:x:{10000 + i}:{10000 + i}:Bench User {i}:/home/{t.user}:/bin/sh"
        for i, t in enumerate(tokens)
    ]
    path.write_text("\n".join(lines) + "\n")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ApiError(RuntimeError):
    pass


@dataclass
class Server:
    """A server of one product with its data directory and (when running) its processes."""

    name: str
    label: str
    data_dir: Path
    database_url: str
    argon2: Argon2
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    auth_token: str = ""
    workers: int = 1
    provisioning_retries: int = 0

    # -- lifecycle, per product ---------------------------------------------------------
    def setup(self) -> None:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self, workers: int) -> None:
        self.workers = workers
        self.port = free_port()
        self.log_path = self.data_dir / f"server-{workers}w.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.data_dir,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                self.login()
            except (httpx.HTTPError, ApiError):
                time.sleep(0.3)
                continue
            if self.expected_workers() <= len(self.worker_pids()):
                return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not become ready; see {self.log_path}")

    def expected_workers(self) -> int:
        return self.workers

    def stop(self) -> None:
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    # -- processes ----------------------------------------------------------------------
    def root_pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (the root when it is the only one)."""
        tree = procstat.process_tree(self.root_pid())
        children = [p.pid for p in tree if p.pid != self.root_pid() and self.is_worker(p)]
        return children or ([self.root_pid()] if self.workers == 1 else [])

    def is_worker(self, sample: procstat.ProcSample) -> bool:
        return True

    # -- REST ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(
        self, method: str, path: str, data: dict[str, str] | None = None, auth: bool = True
    ) -> Any:
        headers = {"Authorization": self.auth_token} if auth else {}
        response = httpx.request(
            method, self.base_url + path, data=data, headers=headers, timeout=120.0
        )
        try:
            body = response.json()
        except ValueError:
            raise ApiError(f"{method} {path}: HTTP {response.status_code}") from None
        result = body.get("result", {}) if isinstance(body, dict) else {}
        if response.status_code >= 400 or not result.get("status", False):
            raise ApiError(f"{method} {path}: HTTP {response.status_code} {str(body)[:300]}")
        return result.get("value")

    def call_retrying(self, method: str, path: str, data: dict[str, str]) -> Any:
        """Provisioning calls: retry a server error a few times (and say so), so a
        transient failure under concurrent writes does not end the run."""
        for attempt in range(5):
            try:
                return self.call(method, path, data)
            except ApiError as exc:
                if "HTTP 5" not in str(exc) or attempt == 4:
                    raise
                self.provisioning_retries += 1
                time.sleep(0.2 * (attempt + 1))
        return None

    def login(self) -> None:
        value = self.call(
            "POST", "/auth", {"username": "admin", "password": self.admin_password}, auth=False
        )
        self.auth_token = value["token"]

    def provision(self, tokens: list[BenchToken], user_file: Path) -> None:
        self.login()
        self.call(
            "POST", f"/resolver/{RESOLVER}", {"type": "passwdresolver", "fileName": str(user_file)}
        )
        self.call("POST", f"/realm/{REALM}", {"resolvers": RESOLVER})

        def enroll(token: BenchToken) -> None:
            self.call_retrying(
                "POST",
                "/token/init",
                {
                    "type": "hotp",
                    "otpkey": token.key.hex(),
                    "pin": token.pin,
                    "user": token.user,
                    "realm": REALM,
                    "serial": token.serial,
                },
            )

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(enroll, tokens))
        # A wrong OTP raises the fail counter; keep tokens from locking during the
        # wrong-OTP case, so every request does the same work.
        for token in tokens:
            self.call("POST", "/token/set", {"serial": token.serial, "max_failcount": "1000000"})

    # -- event definitions ----------------------------------------------------------------
    def has_events(self) -> bool:
        try:
            self.call("GET", "/event/")
        except (ApiError, httpx.HTTPError):
            return False
        return True

    def add_event(self, definition: dict[str, str]) -> int:
        return int(self.call("POST", "/event", definition))

    def delete_event(self, event_id: int) -> None:
        self.call("DELETE", f"/event/{event_id}")

    # -- policies ---------------------------------------------------------------------------
    def add_realm(self, name: str) -> None:
        self.call("POST", f"/realm/{name}", {"resolvers": RESOLVER})

    def add_policy(self, name: str, policy: dict[str, str]) -> str:
        self.call("POST", f"/policy/{name}", policy)
        return name

    def delete_policy(self, name: str) -> None:
        self.call("DELETE", f"/policy/{name}")


def snapshot_factorflow(dest: Path) -> Path:
    """Copy the working tree's ``factorflow`` package, so one run measures one version
    even while the tree changes under it; the servers import it via PYTHONPATH."""
    target = dest / "factorflow-src"
    shutil.copytree(
        REPO / "factorflow", target / "factorflow", ignore=shutil.ignore_patterns("__pycache__")
    )
    # The entry points (token types, user stores, handlers) come from the installed
    # metadata; a copy next to the code keeps the two in step for the whole run.
    import sysconfig

    for info in Path(sysconfig.get_paths()["purelib"]).glob("factorflow-*.dist-info"):
        shutil.copytree(info, target / info.name)
    # Compiled as an installed package is: a worker that compiles its imports (the
    # environment may forbid writing bytecode) spends seconds of CPU on it and keeps
    # the compiler's garbage in its heap, which the peak RSS would then report.
    import compileall

    compileall.compile_dir(target / "factorflow", quiet=1)
    return target


def factorflow_version() -> str:
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "factorflow"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head or 'unknown'}{' + uncommitted changes' if dirty else ''}"


@dataclass
class Factorflow(Server):
    source: Path | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.source is not None:
            env["PYTHONPATH"] = f"{self.source}:{REPO}"
        env.update(
            FACTORFLOW_DATA_DIR=str(self.data_dir),
            FACTORFLOW_ARGON2_TIME_COST=str(self.argon2.time_cost),
            FACTORFLOW_ARGON2_MEMORY_KIB=str(self.argon2.memory_kib),
            FACTORFLOW_ARGON2_PARALLELISM=str(self.argon2.parallelism),
        )
        if self.database_url:
            env["FACTORFLOW_DATABASE_URL"] = self.database_url
        return env

    def executable(self) -> str:
        return str(Path(sys.executable).parent / "factorflow")

    def setup(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [self.executable(), "init", "--admin", "admin", "--password", self.admin_password],
            env=self.env(),
            check=True,
            capture_output=True,
        )

    def command(self) -> list[str]:
        # ``factorflow serve``'s uvicorn settings, with a longer worker health check
        # (see bench/ff_serve.py); bench/ is put on the path next to the snapshot.
        return [sys.executable, "-m", "bench.ff_serve", str(self.port), str(self.workers)]

    def is_worker(self, sample: procstat.ProcSample) -> bool:
        # uvicorn's supervisor spawns the workers; skip multiprocessing's helpers.
        try:
            cmdline = Path(f"/proc/{sample.pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"resource_tracker" not in cmdline and b"semaphore_tracker" not in cmdline


PI_CFG = """\
# Written by the Factorflow benchmark.
SQLALCHEMY_DATABASE_URI = {database_url!r}
{p}ENCFILE = {enckey!r}
{p}AUDIT_KEY_PRIVATE = {audit_private!r}
{p}AUDIT_KEY_PUBLIC = {audit_public!r}
{p}PEPPER = {pepper!r}
SECRET_KEY = {secret!r}
# Responses are not signed (Factorflow does not sign them either); audit entries are.
{p}NO_RESPONSE_SIGN = True
{p}LOGFILE = {logfile!r}
{p}LOGLEVEL = 30
{p}NODE = "bench"
{p}BASE_URL = "http://127.0.0.1/"
# PIN hashing: passlib argon2 (type ID), the cost under test.
{p}HASH_ALGO_LIST = ["argon2"]
{p}HASH_ALGO_PARAMS = {hash_params!r}
"""

PI_WSGI = """\
from {package}.app import create_app

application = create_app(config_name="production", config_file={cfg!r}, silent=True)
"""


@dataclass(frozen=True)
class Flavour:
    """privacyIDEA or its fork eduMFA: the same server under other names, installed
    from PyPI into its own venv outside the repository."""

    package: str
    version: str
    #: The config file's name and its settings' prefix (``PI_ENCFILE``).
    cfg_name: str
    prefix: str
    config_env: str
    manage: str
    #: The manage command's group of the setup commands (``create_tables``, ...).
    setup_group: tuple[str, ...]

    def venv(self) -> Path:
        return CACHE / ("pi-venv" if self.package == "privacyidea" else f"{self.package}-venv")


PRIVACYIDEA = Flavour(
    "privacyidea", PI_VERSION, "pi.cfg", "PI_", "PRIVACYIDEA_CONFIGFILE", "pi-manage", ("setup",)
)
EDUMFA = Flavour(
    "edumfa", "2.9.5", "edumfa.cfg", "EDUMFA_", "EDUMFA_CONFIGFILE", "edumfa-manage", ()
)


def pi_venv() -> Path:
    return PRIVACYIDEA.venv()


def ensure_privacyidea(log: Path | None = None, flavour: Flavour = PRIVACYIDEA) -> Path:
    """Install ``flavour`` (privacyIDEA 3.14 unless told), gunicorn and psycopg2 into a
    venv outside the repository."""
    venv = flavour.venv()
    marker = venv / ".factorflow-bench-installed"
    if marker.is_file() and marker.read_text().strip() == flavour.version:
        return venv
    CACHE.mkdir(parents=True, exist_ok=True)
    base_python = getattr(sys, "_base_executable", sys.executable)
    if not (venv / "bin" / "python").exists():
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    wanted = f"{flavour.package}=={flavour.version}"
    output = subprocess.run(
        [*pip, wanted, "gunicorn", "psycopg2-binary"], capture_output=True, text=True
    )
    if log is not None:
        log.write_text(output.stdout + output.stderr)
    if output.returncode != 0:
        raise RuntimeError(f"pip install {wanted} failed:\n{output.stderr[-2000:]}")
    marker.write_text(flavour.version)
    return venv


@dataclass
class PrivacyIdea(Server):
    flavour: Flavour = PRIVACYIDEA

    def cfg_path(self) -> Path:
        return self.data_dir / self.flavour.cfg_name

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env[self.flavour.config_env] = str(self.cfg_path())
        # keep Factorflow's venv off this interpreter's path
        env.pop("VIRTUAL_ENV", None)
        return env

    def setup(self) -> None:
        ensure_privacyidea(flavour=self.flavour)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        params = {
            "argon2__rounds": self.argon2.time_cost,
            "argon2__memory_cost": self.argon2.memory_kib,
            "argon2__parallelism": self.argon2.parallelism,
        }
        self.cfg_path().write_text(
            PI_CFG.format(
                p=self.flavour.prefix,
                database_url=self.database_url or f"sqlite:///{self.data_dir / 'pi.sqlite'}",
                enckey=str(self.data_dir / "enckey"),
                audit_private=str(self.data_dir / "private.pem"),
                audit_public=str(self.data_dir / "public.pem"),
                pepper=secrets.token_hex(16),
                secret=secrets.token_hex(32),
                logfile=str(self.data_dir / f"{self.flavour.package}.log"),
                hash_params=params,
            )
        )
        (self.data_dir / "piapp.py").write_text(
            PI_WSGI.format(package=self.flavour.package, cfg=str(self.cfg_path()))
        )
        setup = self.flavour.setup_group
        for args in (
            [*setup, "create_enckey"],
            [*setup, "create_audit_keys"],
            [*setup, "create_tables"],
            ["admin", "add", "admin", "-p", self.admin_password],
        ):
            self.manage(*args)

    def manage(self, *args: str) -> None:
        """Run the product's manage command (``pi-manage``, ``edumfa-manage``)."""
        command = str(self.flavour.venv() / "bin" / self.flavour.manage)
        done = subprocess.run(
            [command, *args], env=self.env(), cwd=self.data_dir, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{self.flavour.manage} {' '.join(args[:2])} failed: {done.stderr[-1500:]}"
            )

    def command(self) -> list[str]:
        return [
            str(self.flavour.venv() / "bin" / "gunicorn"),
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--no-control-socket",
            "--timeout",
            "120",
            "--chdir",
            str(self.data_dir),
            "piapp:application",
        ]


@contextmanager
def running(servers: list[Server], workers: int) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for server in servers:
            server.start(workers)
            started.append(server)
        yield started
    finally:
        for server in started:
            server.stop()


def describe(server: Server) -> dict[str, Any]:
    return {"name": server.name, "label": server.label, "argon2": server.argon2.label()}


def dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
