"""Script: run an executable from the script directory (reference §4.3).

The actions are the executable regular files in ``Settings.effective_script_directory``,
listed when they are asked for (``GET /event/actions/Script``, saving a definition).
A name with a path separator, a link that leaves the directory and a file that is not
executable are refused on save and again when the script is to run.

The script runs as an argv list (never through a shell), in the script directory,
with privacyIDEA's arguments in privacyIDEA's order (``--serial S --user U --realm R
--logged_in_user u@r --logged_in_role role``), stdin closed, and is killed at
``Settings.script_timeout_seconds``. Its exit status and the start of its stdout and
stderr go into the action's audit entry.

``background`` runs (and ``sync_to_database`` runs, which must see the request's
changes) become durable jobs of kind ``script``, enqueued in the request's
transaction: the worker starts the script only after the request committed, and a
failing run (non-zero exit, timeout) is retried with backoff — background scripts
should therefore be idempotent. With ``wait`` the request waits for the exit status;
with ``raise_error`` a failure aborts the request (HandlerAbortError, 903).
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from factorflow.events.errors import ActionError, HandlerAbortError
from factorflow.events.handlers.base import VISIBLE_IF, ActionContext, ActionOptions, EventHandler
from factorflow.jobs.base import (
    Deliverer,
    DeliveryError,
    JobView,
    PermanentDeliveryError,
)

if TYPE_CHECKING:
    from factorflow.events.facts import Facts
    from factorflow.settings import Settings

log = logging.getLogger(__name__)

JOB_KIND = "script"
#: Characters of stdout and of stderr kept for the audit (its info column is short).
OUTPUT_LIMIT = 120


class ScriptError(ActionError):
    """A script was refused or could not be started."""


class ScriptOptions(ActionOptions):
    background: Literal["wait", "background"] = Field(
        title="Run mode",
        default="wait",
        description="Wait for the script to finish, or run it in the background (a job)",
    )
    raise_error: bool = Field(
        title="Abort the request on failure",
        default=False,
        description="With wait: abort the request if the script fails",
        json_schema_extra={VISIBLE_IF: ["background", "wait"]},
    )
    sync_to_database: bool = Field(
        title="Run after commit",
        default=False,
        description="Run the script once the request's changes are committed (as a job)",
    )
    serial: bool = Field(
        title="Pass the serial", default=False, description="Pass --serial <serial>"
    )
    user: bool = Field(
        title="Pass the user", default=False, description="Pass --user <login of the request user>"
    )
    realm: bool = Field(
        title="Pass the realm",
        default=False,
        description="Pass --realm <realm of the request user>",
    )
    logged_in_user: bool = Field(
        title="Pass the logged-in user",
        default=False,
        description="Pass --logged_in_user <user>@<realm> of the logged-in principal",
    )
    logged_in_role: bool = Field(
        title="Pass the logged-in role",
        default=False,
        description="Pass --logged_in_role admin|user|none",
    )


def resolve_script(directory: Path, name: str) -> Path:
    """The script ``name`` in ``directory``; raises ScriptError if it is refused."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ScriptError(f"Invalid script name {name!r}")
    try:
        base = directory.resolve(strict=True)
        path = (base / name).resolve(strict=True)
    except (OSError, RuntimeError):
        raise ScriptError(f"No script {name!r} in the script directory") from None
    if path.parent != base and base not in path.parents:
        raise ScriptError(f"Script {name!r} leaves the script directory")
    try:
        mode = path.stat().st_mode
    except OSError:
        raise ScriptError(f"No script {name!r} in the script directory") from None
    if not stat.S_ISREG(mode):
        raise ScriptError(f"Script {name!r} is not a regular file")
    if not os.access(path, os.X_OK):
        raise ScriptError(f"Script {name!r} is not executable")
    return path


def list_scripts(directory: Path) -> list[str]:
    """The names of the usable scripts in ``directory`` (none if it is unreadable)."""
    try:
        names = sorted(entry.name for entry in os.scandir(directory))
    except OSError as exc:
        log.warning("script directory %s cannot be listed: %s", directory, exc)
        return []
    usable = []
    for name in names:
        try:
            resolve_script(directory, name)
        except ScriptError:
            continue
        usable.append(name)
    return usable


class ScriptActions(Mapping[str, type[ActionOptions]]):
    """The script directory as an action mapping, read on every access."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __getitem__(self, name: str) -> type[ActionOptions]:
        try:
            resolve_script(self.directory, name)
        except ScriptError:
            raise KeyError(name) from None
        return ScriptOptions

    def __iter__(self) -> Iterator[str]:
        return iter(list_scripts(self.directory))

    def __len__(self) -> int:
        return len(list_scripts(self.directory))


def build_argv(path: Path, options: ScriptOptions, facts: Facts) -> list[str]:
    """privacyIDEA's arguments in privacyIDEA's order."""
    argv = [str(path)]
    if options.serial:
        serial = facts.param("serial") or str(_detail(facts).get("serial") or "")
        if not serial:
            serial = facts.audit.serial or ""
        argv += ["--serial", serial or "none"]
    user = facts.user
    if options.user:
        argv += ["--user", (user.login if user else "") or "none"]
    if options.realm:
        argv += ["--realm", (user.realm if user else "") or "none"]
    actor = facts.inv.actor
    if options.logged_in_user:
        argv += ["--logged_in_user", f"{actor.username or 'none'}@{actor.realm or 'none'}"]
    if options.logged_in_role:
        argv += ["--logged_in_role", actor.role or "none"]
    return argv


def _detail(facts: Facts) -> dict[str, object]:
    detail = (facts.response or {}).get("detail")
    return detail if isinstance(detail, dict) else {}


@dataclass(frozen=True)
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def summary(self) -> str:
        status = "timed out, killed" if self.timed_out else f"exit {self.returncode}"
        parts = [status]
        if self.stdout:
            parts.append(f"stdout: {self.stdout}")
        if self.stderr:
            parts.append(f"stderr: {self.stderr}")
        return "; ".join(parts)


def _clip(data: bytes | str | None) -> str:
    if data is None:
        return ""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = " ".join(text.split())
    return text if len(text) <= OUTPUT_LIMIT else text[: OUTPUT_LIMIT - 1] + "…"


def execute(argv: list[str], cwd: Path, timeout: float) -> Outcome:
    """Run ``argv`` without a shell; kill it (and its process group) at ``timeout``.
    Raises ScriptError if it cannot be started."""
    try:
        proc = subprocess.Popen(  # noqa: S603 - argv list, no shell, path checked
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise ScriptError(f"Failed to start script: {exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, 9)
        except OSError:
            proc.kill()
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - grandchild kept pipes open
            out, err = b"", b""
        return Outcome(proc.returncode, _clip(out), _clip(err), timed_out=True)
    return Outcome(proc.returncode, _clip(out), _clip(err))


class ScriptHandler(EventHandler):
    """Its actions are the usable scripts of ``directory``, listed on every access."""

    identifier = "Script"
    description = "Run a script from the script directory."
    case_sensitive_actions = True

    def __init__(self, directory: Path, timeout: float = 30.0) -> None:
        self.directory = directory
        self.timeout = timeout
        self.actions = ScriptActions(directory)

    @classmethod
    def create(cls, settings: Settings) -> ScriptHandler:
        return cls(settings.effective_script_directory, settings.script_timeout_seconds)

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        assert isinstance(options, ScriptOptions)
        directory, timeout = self.directory, self.timeout
        wait = options.background == "wait" and not options.sync_to_database
        try:
            path = resolve_script(directory, action)
        except ScriptError:
            if wait and options.raise_error:
                raise HandlerAbortError("Failed to start script.") from None
            raise
        argv = build_argv(path, options, ctx.facts)
        if not wait:
            job_id = ctx.ports.jobs.enqueue(
                ctx.session,
                kind=JOB_KIND,
                payload={"script": action, "args": argv[1:]},
                idempotency_key=f"script:{uuid.uuid4().hex}",
                request_id=ctx.inv.request_id,
                definition=ctx.definition_name,
            )
            ctx.run_details = f"queued as job {job_id}"
            return
        try:
            outcome = execute(argv, directory, timeout)
        except ScriptError:
            if options.raise_error:
                raise HandlerAbortError("Failed to start script.") from None
            raise
        ctx.run_details = outcome.summary()
        if not outcome.ok:
            log.warning("script %s failed: %s", action, outcome.summary())
            if options.raise_error:
                raise HandlerAbortError("Error during execution of the script.")


class ScriptDeliverer(Deliverer):
    """Runs a background script: ``{"script": "<name>", "args": ["--serial", ...]}``."""

    kind = JOB_KIND

    def deliver(self, job: JobView) -> str:
        name = job.payload.get("script")
        args = job.payload.get("args", [])
        if not isinstance(name, str) or not isinstance(args, list):
            raise PermanentDeliveryError("Job payload needs 'script' (str) and 'args' (list)")
        settings = self.ports.settings
        directory = settings.effective_script_directory
        try:
            path = resolve_script(directory, name)
        except ScriptError as exc:
            raise PermanentDeliveryError(str(exc)) from None
        try:
            outcome = execute(
                [str(path), *(str(a) for a in args)], directory, settings.script_timeout_seconds
            )
        except ScriptError as exc:
            raise DeliveryError(str(exc)) from None
        if not outcome.ok:
            raise DeliveryError(f"script {name}: {outcome.summary()}")
        return f"script {name}: {outcome.summary()}"


__all__ = [
    "JOB_KIND",
    "ScriptActions",
    "ScriptDeliverer",
    "ScriptError",
    "ScriptHandler",
    "ScriptOptions",
    "build_argv",
    "execute",
    "list_scripts",
    "resolve_script",
]
