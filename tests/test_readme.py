"""The README's first five minutes, as written (issue 13, item 12): ``bash scripts/start``
on a fresh data directory prints the admin password, and the "Using it" commands then
run verbatim in bash and authenticate alice."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKEND
from tests.notify.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite", reason="the README describes the embedded default (SQLite)"
)


def code_block_after(heading: str) -> str:
    """The first ```sh block after ``heading`` in the README."""
    section = README[README.index(heading) :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, f"no sh block after {heading!r}"
    return match.group(1)


def json_documents(text: str) -> list[Any]:
    """The JSON answers curl printed one after the other (without newlines between)."""
    decoder = json.JSONDecoder()
    documents, index = [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    """``bash scripts/start`` as the README says, on a free port and a fresh data dir."""
    assert code_block_after("## Two commands").strip() == "bash scripts/start"
    env = {
        **os.environ,
        "FACTORFLOW_PORT": str(free_port()),
        "FACTORFLOW_DATA_DIR": str(tmp_path / "factorflow-data"),
    }
    log = tmp_path / "start.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "scripts/start"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{env['FACTORFLOW_PORT']}/validate/check", timeout=2)
                break
            except httpx.TransportError:
                output = log.read_text(errors="replace")
                assert process.poll() is None, output
                assert time.monotonic() < deadline, output
                time.sleep(0.3)
        printed = re.search(r"password: (\S+)", log.read_text())
        assert printed, log.read_text()
        yield env, printed.group(1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def test_the_using_it_commands_run_as_written(
    started: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, password = started
    workdir = tmp_path / "shell"
    workdir.mkdir()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code_block_after("## Using it")],
        cwd=workdir,
        env={**env, "PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers = json_documents(done.stdout)
    resolver, realm, init, first, replay, second = answers
    for answer in (resolver, realm, init):
        assert answer["result"]["status"] is True, answer
    assert init["detail"]["serial"]
    assert first["result"]["authentication"] == "ACCEPT", first
    assert replay["result"]["authentication"] == "REJECT", replay
    assert second["result"]["authentication"] == "ACCEPT", second
