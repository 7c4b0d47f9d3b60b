"""The worked example of docs/plugins/event-handlers.md, installed as a distribution
with an entry point and run through the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from factorflow.api.app import create_app
from factorflow.bootstrap import Services, build_services
from factorflow.registry import DuplicatePluginError
from factorflow.settings import Settings
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD, bearer

DOC = Path(__file__).parents[2] / "docs" / "plugins" / "event-handlers.md"


def install(site: Path, module: str, source: str, entry: str) -> None:
    (site / f"{module}.py").write_text(source)
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[factorflow.event_handlers]\n{entry}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    yield path


def example_source() -> str:
    blocks: list[str] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_documented_module_installs_and_runs(
    site: Path, settings: Settings, services: Services, flatfile_realm: str
) -> None:
    install(site, "acme_greeting", example_source(), "Greeting = acme_greeting:GreetingHandler")
    built = build_services(settings, migrate=False)
    try:
        assert "Greeting" in built.events.handlers
        with TestClient(create_app(built), raise_server_exceptions=False) as client:
            token = client.post("/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
            headers = bearer(token.json()["result"]["value"]["token"])
            actions = client.get("/event/actions/Greeting", headers=headers).json()
            assert actions["result"]["value"]["greet"]["greeting"]["type"] == "str"
            response = client.post("/event", headers=headers, data={
                "name": "hello", "event": "validate_check", "handlermodule": "Greeting",
                "action": "greet", "option.greeting": "Welcome back, {givenname}",
            })  # fmt: skip
            assert response.status_code == 200, response.text
            answer = client.post("/validate/check", data={"user": "alice", "pass": "x"}).json()
            assert answer["detail"]["greeting"] == "Welcome back, Alice"
    finally:
        built.close()


def test_a_duplicate_identifier_is_a_start_up_error(site: Path, settings: Settings) -> None:
    install(site, "acme_clash", "from factorflow.events.handlers.logger import LoggingHandler "
            "as Other\nclass Clash(Other):\n    pass\n", "Logging = acme_clash:Clash")  # fmt: skip
    with pytest.raises(DuplicatePluginError, match=r"LoggingHandler.*Clash|Clash.*LoggingHandler"):
        build_services(settings, migrate=False)
