"""The worked example of docs/plugins/event-handlers.md, installed as a distribution
with an entry point and run through the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from factorflow.api.app import create_app
from factorflow.bootstrap import Services, build_services
from factorflow.events.handlers import GROUP
from factorflow.events.handlers.base import EventHandler
from factorflow.events.handlers.counter import counter_total
from factorflow.registry import DuplicatePluginError
from factorflow.settings import Settings
from tests import factories
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD, bearer
from tests.plugins import EXAMPLE_HANDLERS, Plugin, doc_example, install


def test_the_documented_module_installs_and_runs(
    plugin_site: Path, settings: Settings, services: Services, flatfile_realm: str
) -> None:
    install(plugin_site, EXAMPLE_HANDLERS["Greeting"])
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


CONFIGURED_MODULE = """
from typing import Any

from pydantic import ValidationInfo, field_validator

from factorflow.events.handlers.base import ActionContext, ActionOptions, EventHandler
from factorflow.settings import Settings


class StampOptions(ActionOptions):
    label: str = "none"

    @field_validator("label")
    @classmethod
    def _known(cls, value: str, info: ValidationInfo) -> str:
        if value not in (info.context or {}).get("labels", ()):
            raise ValueError("not a label of this node")
        return value


class StampHandler(EventHandler):
    identifier = "Stamp"
    description = "Stamp the audit entry with the node's name."
    positions = ("post",)

    def __init__(self, node: str) -> None:
        self.node = node
        self.actions = {f"stamp {node}": StampOptions}

    @classmethod
    def create(cls, settings: Settings) -> "StampHandler":
        return cls(settings.node_name)

    def options_context(self) -> dict[str, Any]:
        return {"labels": (self.node, "other")}

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        assert isinstance(options, StampOptions)
        ctx.run_details = f"{self.node}:{options.label}"
"""


def test_a_module_configured_by_the_settings_is_made_once(
    plugin_site: Path, settings: Settings, services: Services, flatfile_realm: str
) -> None:
    """A module whose actions and option checks depend on the configuration overrides
    ``create(settings)``: the server makes its one instance at start-up, describes,
    checks and runs definitions with that instance, and its validators get
    ``options_context()``."""
    install(plugin_site, Plugin("acme_stamp", CONFIGURED_MODULE, GROUP,
                                {"Stamp": "acme_stamp:StampHandler"}))  # fmt: skip
    built = build_services(settings, migrate=False)
    try:
        handler = built.events.handlers["Stamp"]
        assert isinstance(handler, EventHandler) and type(handler).__name__ == "StampHandler"
        action = f"stamp {settings.node_name}"
        with TestClient(create_app(built), raise_server_exceptions=False) as client:
            token = client.post("/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
            headers = bearer(token.json()["result"]["value"]["token"])
            described = client.get("/event/actions/Stamp", headers=headers).json()
            assert list(described["result"]["value"]) == [action]
            definition = {"name": "stamp", "event": "validate_check", "handlermodule": "Stamp",
                          "action": action}  # fmt: skip
            refused = client.post("/event", headers=headers,
                                  data={**definition, "option.label": "elsewhere"})  # fmt: skip
            assert refused.status_code == 400
            assert "not a label of this node" in refused.json()["result"]["error"]["message"]
            saved = client.post("/event", headers=headers,
                                data={**definition, "option.label": settings.node_name})  # fmt: skip
            assert saved.status_code == 200, saved.text
            client.post("/validate/check", data={"user": "alice", "pass": "x"})
            [entry] = factories.audit_entries(
                client, headers, action=f"*-EVENT validate_check>>Stamp:{action}"
            )
            assert entry["info"] == f"stamp ({settings.node_name}:{settings.node_name})", entry
        [compiled] = built.events.cache.snapshot().index[("validate_check", "post")]
        assert compiled.handler is handler
    finally:
        built.close()


def test_a_duplicate_identifier_is_a_start_up_error(plugin_site: Path, settings: Settings) -> None:
    source = "from factorflow.events.handlers.logger import LoggingHandler as Other\n"
    source += "class Clash(Other):\n    pass\n"
    install(plugin_site, Plugin("acme_clash", source, GROUP, {"Logging": "acme_clash:Clash"}))
    with pytest.raises(DuplicatePluginError, match=r"LoggingHandler.*Clash|Clash.*LoggingHandler"):
        build_services(settings, migrate=False)


CONDITIONS_GROUP = "factorflow.event_conditions"


def test_the_documented_condition_installs_and_decides(
    plugin_site: Path, settings: Settings, services: Services, flatfile_realm: str
) -> None:
    """docs/plugins/conditions.md: the condition is listed, refuses a bad value on save
    and decides whether a definition fires (a Counter counts only the PAM module's
    checks)."""
    source = doc_example("conditions.md")
    install(
        plugin_site,
        Plugin("acme_agent", source, CONDITIONS_GROUP, {"acme_agent": "acme_agent:USER_AGENT"}),
    )
    built = build_services(settings, migrate=False)
    try:
        with TestClient(create_app(built), raise_server_exceptions=False) as client:
            token = client.post("/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
            headers = bearer(token.json()["result"]["value"]["token"])
            listed = client.get("/event/conditions/Counter", headers=headers).json()["result"][
                "value"
            ]
            assert listed["acme_user_agent_contains"]["group"] == "general"
            definition = {
                "name": "count-pam", "event": "validate_check", "handlermodule": "Counter",
                "action": "increase_counter", "option.counter_name": "pam_checks",
            }  # fmt: skip
            refused = client.post("/event", headers=headers, data={
                **definition, "conditions": '{"acme_user_agent_contains": "  "}',
            })  # fmt: skip
            assert refused.status_code == 400
            assert "User-Agent" in refused.json()["result"]["error"]["message"]
            saved = client.post("/event", headers=headers, data={
                **definition, "conditions": '{"acme_user_agent_contains": "privacyidea-pam"}',
            })  # fmt: skip
            assert saved.status_code == 200, saved.text
            for agent in ("privacyidea-pam/1.2", "curl/8.0", "PrivacyIDEA-PAM/2.0"):
                client.post(
                    "/validate/check",
                    data={"user": "alice", "pass": "x"},
                    headers={"User-Agent": agent},
                )
        with built.sessions() as session:
            assert counter_total(session, "pam_checks") == 2
    finally:
        built.close()


def test_a_condition_name_claimed_twice_is_a_start_up_error(
    plugin_site: Path, settings: Settings
) -> None:
    source = "from factorflow.events.conditions.general import CONDITIONS\n"
    twice = Plugin("acme_twice", source, CONDITIONS_GROUP, {"acme_twice": "acme_twice:CONDITIONS"})
    install(plugin_site, twice)
    with pytest.raises(DuplicatePluginError, match=r"client_ip.*general.*acme_twice"):
        build_services(settings, migrate=False)
