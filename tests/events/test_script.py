"""The Script handler: argv, refusals, timeout, raise_error, background jobs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.core.invocation import Actor
from factorflow.events.definition import check_action, compile_options
from factorflow.events.errors import DefinitionError, HandlerAbortError
from factorflow.events.handlers.base import ActionContext
from factorflow.events.handlers.script import ScriptError
from factorflow.jobs.models import Job
from factorflow.settings import Settings
from factorflow.worker import Worker
from tests import conftest as root
from tests.events.conftest import DefinitionMaker, make_facts
from tests.events.test_handlers import run
from tests.jobs.conftest import FAST, load_job


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return root.test_settings(tmp_path / "data", database_url, script_timeout_seconds=1.0, **FAST)


@pytest.fixture
def scripts(services: Services) -> Path:
    directory = services.settings.effective_script_directory
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def write_script(directory: Path, name: str, body: str, *, executable: bool = True) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755 if executable else 0o644)
    return path


def recorder(directory: Path, out: Path, name: str = "record", exit_code: int = 0) -> Path:
    """A script that writes its cwd and argv, one per line, to ``out``."""
    body = f"""pwd > '{out}'
for a in "$@"; do printf '%s\\n' "$a" >> '{out}'; done
echo "hello from $0"
echo "oops" >&2
exit {exit_code}
"""
    return write_script(directory, name, body)


def test_actions_are_the_executables_of_the_directory(
    services: Services, scripts: Path, tmp_path: Path
) -> None:
    recorder(scripts, tmp_path / "out")
    write_script(scripts, "plain.txt", "exit 0\n", executable=False)
    (scripts / "subdir").mkdir()
    outside = write_script(tmp_path, "outside", "exit 0\n")
    (scripts / "escape").symlink_to(outside)
    (scripts / "inside-link").symlink_to(scripts / "record")
    handler = services.events.handlers["Script"]
    assert sorted(handler.actions) == ["inside-link", "record"]
    assert handler.describe_actions()["record"]["background"]["value"] == ["wait", "background"]
    # New scripts appear without a restart.
    write_script(scripts, "later", "exit 0\n")
    assert "later" in handler.actions
    for bad in ("plain.txt", "escape", "subdir", "../outside", "nothing", "", "."):
        assert handler.canonical_action(bad) is None, bad


def test_refused_names_on_save(
    client: TestClient,
    admin_headers: dict[str, str],
    scripts: Path,
    tmp_path: Path,
) -> None:
    write_script(scripts, "plain", "exit 0\n", executable=False)
    (scripts / "escape").symlink_to(write_script(tmp_path, "outside", "exit 0\n"))
    for action in ("plain", "escape", "../outside", "missing"):
        r = client.post(
            "/event",
            data={
                "name": "s",
                "event": "token_init",
                "handlermodule": "Script",
                "action": action,
                "position": "post",
            },
            headers=admin_headers,
        )
        assert r.status_code == 400, (action, r.text)
        assert "not an action of Script" in r.text


def test_argv_order_and_cwd(
    services: Services, session: Session, scripts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "argv.txt"
    recorder(scripts, out)
    facts = make_facts(
        services,
        session,
        params={"serial": "S1"},
        actor=Actor(role="admin", username="admin", realm=""),
    )
    ctx = run(services, facts, "Script", "record", serial="True", user="True", realm="True",
              logged_in_user="True", logged_in_role="True")  # fmt: skip
    lines = out.read_text().splitlines()
    assert Path(lines[0]).resolve() == scripts.resolve()
    assert lines[1:] == [
        "--serial", "S1", "--user", "none", "--realm", "none",
        "--logged_in_user", "admin@none", "--logged_in_role", "admin",
    ]  # fmt: skip
    assert ctx.run_details.startswith("exit 0; stdout: hello from")
    assert "stderr: oops" in ctx.run_details
    # Only the chosen arguments, still in privacyIDEA's order.
    run(services, facts, "Script", "record", logged_in_role="True", serial="True")
    assert out.read_text().splitlines()[1:] == ["--serial", "S1", "--logged_in_role", "admin"]


def test_tag_like_and_shell_metacharacters_are_plain_arguments(
    services: Services, session: Session, scripts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "argv.txt"
    recorder(scripts, out)
    evil = "S1; touch /tmp/pwned $(id) `id` '\""
    facts = make_facts(services, session, params={"serial": evil})
    run(services, facts, "Script", "record", serial="True")
    assert out.read_text().splitlines()[1:] == ["--serial", evil]


def test_failure_is_audited_and_raise_error_aborts(
    services: Services, session: Session, scripts: Path, tmp_path: Path
) -> None:
    recorder(scripts, tmp_path / "out", name="fails", exit_code=3)
    facts = make_facts(services, session)
    ctx = run(services, facts, "Script", "fails")
    assert ctx.run_details.startswith("exit 3")
    with pytest.raises(HandlerAbortError, match="Error during execution"):
        run(services, facts, "Script", "fails", raise_error="True")


def test_a_hanging_script_is_killed_at_the_timeout(
    services: Services, session: Session, scripts: Path
) -> None:
    write_script(scripts, "hangs", "sleep 30\n")
    facts = make_facts(services, session)
    started = time.monotonic()
    ctx = run(services, facts, "Script", "hangs")
    assert time.monotonic() - started < 10
    assert ctx.run_details.startswith("timed out, killed")
    with pytest.raises(HandlerAbortError):
        run(services, facts, "Script", "hangs", raise_error="True")


def test_a_script_that_became_unusable_is_refused_at_run_time(
    services: Services, session: Session, scripts: Path, tmp_path: Path
) -> None:
    path = recorder(scripts, tmp_path / "out")
    handler = services.events.handlers["Script"]
    _, model = compile_options(handler, "record", {"raise_error": "True"})
    path.chmod(0o644)
    facts = make_facts(services, session)
    ctx = ActionContext(services.action_ports, session, facts.inv, facts, "test", "post")
    with pytest.raises(HandlerAbortError, match="Failed to start"):
        handler.run(ctx, "record", model)
    with pytest.raises(DefinitionError):
        check_action(handler, "record")  # no longer an action
    os.chmod(path, 0o755)
    _, model = compile_options(handler, "record", {})
    path.unlink()
    path.symlink_to(write_script(tmp_path, "elsewhere", "exit 0\n"))
    with pytest.raises(ScriptError):
        handler.run(ctx, "record", model)


def test_api_raise_error_aborts_the_request_with_903(
    client: TestClient,
    admin_headers: dict[str, str],
    define: DefinitionMaker,
    flatfile_realm: str,
    scripts: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "argv.txt"
    recorder(scripts, out, name="fails", exit_code=1)
    define(name="guard", event="token_init", handlermodule="Script", action="fails",
           position="post", options={"background": "wait", "raise_error": "True",
                                     "serial": "True", "user": "True", "realm": "True"})  # fmt: skip
    r = client.post(
        "/token/init",
        data={
            "type": "spass",
            "serial": "SP1",
            "user": "alice",
            "realm": "realm1",
            "pin": "1234",
        },
        headers=admin_headers,
    )
    assert r.status_code == 400, r.text
    assert r.json()["result"]["error"]["code"] == 903
    assert out.read_text().splitlines()[1:] == [
        "--serial", "SP1", "--user", "alice", "--realm", "realm1",
    ]  # fmt: skip


def test_background_runs_are_durable_jobs(
    services: Services,
    client: TestClient,
    admin_headers: dict[str, str],
    define: DefinitionMaker,
    flatfile_realm: str,
    scripts: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "argv.txt"
    recorder(scripts, out)
    define(name="bg", event="token_init", handlermodule="Script", action="record",
           position="post", options={"background": "background", "serial": "True",
                                     "user": "True"})  # fmt: skip
    r = client.post(
        "/token/init",
        data={
            "type": "spass",
            "serial": "SP2",
            "user": "bob",
            "realm": "realm1",
            "pin": "1234",
        },
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert not out.exists()  # not run inside the request
    assert Worker(services).drain() == 1
    assert out.read_text().splitlines()[1:] == ["--serial", "SP2", "--user", "bob"]
    with services.sessions() as session:
        job_id = session.scalar(select(Job.id).where(Job.kind == "script"))
    assert job_id is not None
    job = load_job(services, job_id)
    assert job.state == "delivered"
    assert job.definition == "bg"


def test_a_guard_whose_script_was_removed_still_aborts_the_request(
    client: TestClient,
    admin_headers: dict[str, str],
    define: DefinitionMaker,
    flatfile_realm: str,
    scripts: Path,
    tmp_path: Path,
) -> None:
    path = recorder(scripts, tmp_path / "out", name="guard")
    define(name="guard", event="validate_check", handlermodule="Script", action="guard",
           position="pre", abort_on_error="1", options={"raise_error": "True"})  # fmt: skip
    path.unlink()
    r = client.post("/validate/check", data={"user": "alice", "pass": "x"})
    assert r.status_code == 400, r.text
    assert r.json()["result"]["error"]["code"] == 903
    # A stored definition that no longer compiles runs as a stand-in that fails,
    # audited with the reason.
    entries = client.get("/audit/", headers=admin_headers, params={"action": "*PRE-EVENT*"})
    infos = [e["info"] for e in entries.json()["result"]["value"]["auditdata"]]
    assert any("guard" in info and "cannot run" in info for info in infos), infos
