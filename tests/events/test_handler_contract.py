"""The handler-module contract, run against every module registered under
``factorflow.event_handlers`` and the worked examples of ``docs/plugins/`` (installed
by entry point for every test here, as a third party's module is): each describes
itself and every action's options (``GET /event/actions/<module>``), refuses bad
options on save with a 400 and stores nothing, and survives its dependencies failing
— the failure is audited and the request answers as it would without the
definition, unless abort_on_error. Definitions are saved with ``POST /event`` and run
by real requests. What the contract needs to know per module is in
:mod:`tests.events.handler_adapters`; the domain's rules are held by the tests the
adapters name."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic.fields import FieldInfo
from starlette.testclient import TestClient

from factorflow.bootstrap import Services, build_services
from factorflow.events.handlers import handler_classes
from factorflow.events.handlers.base import ActionOptions, EventHandler, Position
from factorflow.events.limits import MAX_OPTION_VALUE
from factorflow.settings import Settings
from factorflow.worker import Worker
from tests import factories
from tests.conftest import empty_tables
from tests.events.handler_adapters import (
    ADAPTERS,
    Failure,
    HandlerAdapter,
    World,
    adapter_for,
    dead_port,
)
from tests.model_values import BadValue, bad_values, option_name, required_options
from tests.plugins import EXAMPLE_HANDLERS, install

H = dict[str, str]
MODULES = sorted(set(handler_classes()) | set(EXAMPLE_HANDLERS))
FAILURES = [
    pytest.param(module, index, id=f"{module}-{failure.dependency}")
    for module in MODULES
    for index, failure in enumerate(ADAPTERS[module].failures if module in ADAPTERS else [None])
]
ROOT = Path(__file__).parents[2]
UI_TYPES = {"str", "bool", "int", "text"}


@pytest.fixture
def services(settings: Settings, plugin_site: Path) -> Iterator[Services]:
    """The suite's services, with the example modules installed by entry point."""
    for plugin in EXAMPLE_HANDLERS.values():
        install(plugin_site, plugin)
    built = build_services(settings, migrate=False)
    empty_tables(built.engine)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def world(services: Services, client: TestClient, admin_headers: H, flatfile_realm: str) -> World:
    return World(client, admin_headers, services)


@pytest.fixture(params=MODULES)
def module(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def handler(module: str, services: Services) -> EventHandler:
    return services.events.handlers[module]


@pytest.fixture
def adapter(module: str, handler: EventHandler, world: World) -> HandlerAdapter:
    """The module's adapter, with the configuration its options name in place."""
    found = adapter_for(module, handler)
    found.setup(world)
    return found


def guessed(info: FieldInfo) -> str:
    """A value a required option accepts where it names no configuration."""
    annotation = info.annotation
    if typing.get_origin(annotation) is Literal:
        return str(typing.get_args(annotation)[0])
    if annotation is bool:
        return "0"
    if annotation is int:
        low = next((m.ge for m in info.metadata if hasattr(m, "ge")), 0)
        return str(low)
    return "contract"


def valid_options(
    adapter: HandlerAdapter, action: str, model: type[ActionOptions]
) -> dict[str, str]:
    required = {
        option_name(name, info): guessed(info)
        for name, info in model.model_fields.items()
        if info.is_required()
    }
    return {**required, **adapter.options.get(action, {})}


def position(handler: EventHandler) -> Position:
    return "post" if "post" in handler.positions else handler.positions[0]


def value(client: TestClient, headers: H, path: str) -> Any:
    return factories.ok_value(client.get(path, headers=headers))


# -- the registry -------------------------------------------------------------------------


def test_every_registered_module_has_an_adapter(services: Services) -> None:
    assert set(services.events.handlers) == set(MODULES)
    assert set(MODULES) <= set(ADAPTERS), f"no adapter for {sorted(set(MODULES) - set(ADAPTERS))}"


def test_the_domain_rules_of_every_module_are_held_by_tests_that_exist() -> None:
    for module, adapter in ADAPTERS.items():
        assert adapter.domain_rules, f"{module}: name the tests that hold it to the domain's rules"
        for reference in adapter.domain_rules:
            path, _, name = reference.partition("::")
            source = (ROOT / path).read_text()
            defined = re.search(rf"^def {re.escape(name)}\(", source, re.MULTILINE)
            assert name.startswith("test_") and defined, f"{module}: no {reference}"


# -- describe and save -------------------------------------------------------------------


def check_description(module: str, handler: EventHandler, world: World) -> None:
    """The module and each action's options as ``GET /event/...`` describes them."""
    client, headers = world.client, world.headers
    assert handler.identifier == module and handler.description.strip()
    assert module in value(client, headers, "/event/handlermodules")
    positions = value(client, headers, f"/event/positions/{module}")
    assert positions == list(handler.positions) and set(positions) <= {"pre", "post"}, positions
    assert positions, "a module allows at least one position"
    defaults = value(client, headers, f"/event/defaults/{module}")
    assert defaults["abort_on_error"] is handler.default_abort_on_error
    assert defaults["schedulable"] is handler.schedulable
    described = value(client, headers, f"/event/actions/{module}")
    assert described and set(described) == set(handler.actions)
    for action, model in handler.actions.items():
        fields = {option_name(n, i): i for n, i in model.model_fields.items()}
        assert set(described[action]) == set(fields), action
        for option, descriptor in described[action].items():
            where = f"{module}:{action} option {option!r}"
            assert descriptor["type"] in UI_TYPES, (where, descriptor)
            assert descriptor["description"].strip(), f"{where} has no description"
            assert descriptor["required"] is fields[option].is_required(), where
            if type(handler).__module__.startswith("factorflow."):
                # The built-in modules' forms read as words; the identifier is the hint.
                # (A third party's module may leave it out: the form shows the name.)
                assert descriptor.get("label", "").strip(), f"{where} has no label (title)"


def refused(client: TestClient, headers: H, mentions: str, **fields: Any) -> None:
    response = factories.save_definition(client, headers, **fields)
    assert response.status_code == 400, (mentions, fields.get("options"), response.text)
    message = response.json()["result"]["error"]["message"]
    assert mentions in message, (mentions, message)


def text_bounds(model: type[ActionOptions]) -> list[BadValue]:
    """What every text option refuses whatever its model says: a control character,
    and more than the definitions' bound where the model sets none."""
    found = []
    for name, info in model.model_fields.items():
        if info.annotation is not str:
            continue
        option = option_name(name, info)
        found.append(BadValue(option, "a\x01b", "a control character"))
        if not any(hasattr(m, "max_length") for m in info.metadata):
            found.append(BadValue(option, "7" * (MAX_OPTION_VALUE + 1), "longer than the bound"))
    return found


def test_describes_itself_and_refuses_bad_options_on_save(
    module: str, handler: EventHandler, adapter: HandlerAdapter, world: World
) -> None:
    """The descriptors are complete (one world for both halves keeps the suite fast);
    every bad option is refused with a 400 naming it, and nothing is stored."""
    check_description(module, handler, world)
    client, headers = world.client, world.headers
    base = {"event": "validate_check", "handlermodule": module, "position": position(handler)}
    stored = 0
    for action, model in handler.actions.items():
        valid = valid_options(adapter, action, model)
        factories.define(client, headers, name=f"valid {action}", action=action, **base,
                         options=valid)  # fmt: skip
        stored += 1
        bad = {**base, "name": "bad", "action": action}
        refused(client, headers, "contract_no_such_option", **bad,
                options={**valid, "contract_no_such_option": "1"})  # fmt: skip
        for option in required_options(model):
            refused(client, headers, option, **bad,
                    options={k: v for k, v in valid.items() if k != option})  # fmt: skip
        for wrong in [*bad_values(model, valid), *text_bounds(model)]:
            refused(
                client, headers, wrong.option, **bad, options={**valid, wrong.option: wrong.value}
            )
    for other in {"pre", "post"} - set(handler.positions):
        action = next(iter(handler.actions))
        refused(client, headers, "position", name="bad", action=action,
                options=valid_options(adapter, action, handler.actions[action]),
                **{**base, "position": other})  # fmt: skip
    assert len(factories.definitions(client, headers)) == stored


# -- survive ------------------------------------------------------------------------------


def unreachable_realm(world: World) -> None:
    """Realm ``down``: an LDAP directory on a port nobody listens on."""
    factories.add_resolver(
        world.client, world.headers, "down", "ldapresolver",
        LDAPURI=f"ldap://127.0.0.1:{dead_port()}", LDAPBASE="dc=example,dc=org",
        LOGINNAMEATTRIBUTE="uid", LDAPSEARCHFILTER="(uid=*)", UIDTYPE="DN", TIMEOUT="1",
        USERINFO={"username": "uid", "email": "mail"},
    )  # fmt: skip
    factories.add_realm(world.client, world.headers, "down", "down")


def answer(client: TestClient, realm: str) -> tuple[int, dict[str, Any]]:
    response = client.post(
        "/validate/check", data={"user": "alice", "realm": realm, "pass": "wrong-1"}
    )
    assert response.status_code < 500, response.text
    return response.status_code, response.json()["result"]


@pytest.mark.parametrize(("module", "index"), FAILURES)
def test_survives_a_failing_dependency(
    module: str, index: int, handler: EventHandler, adapter: HandlerAdapter, world: World
) -> None:
    failure: Failure = adapter.failures[index]
    client, headers = world.client, world.headers
    if failure.realm == "down":
        unreachable_realm(world)
    baseline = answer(client, failure.realm)
    model = handler.actions[failure.action]
    definition = {
        "name": "contract", "event": "validate_check", "handlermodule": module,
        "action": failure.action, "position": position(handler),
        "options": {**valid_options(adapter, failure.action, model), **failure.options},
    }  # fmt: skip
    definition_id = factories.define(client, headers, abort_on_error="0", **definition)
    failure.break_it(world)

    answered = answer(client, failure.realm)
    [entry] = factories.audit_entries(
        client, headers, action=f"*-EVENT validate_check>>{module}:{failure.action}"
    )
    if failure.outcome == "fails":
        assert answered == baseline, "a failed action leaves the answer as it was"
        assert entry["success"] == 0 and entry["info"].startswith("contract ("), entry
    else:
        assert entry["success"] == 1, entry
    if failure.outcome == "job fails":
        assert answered == baseline
        assert Worker(world.services, scheduler=False).run_once()
        [attempt] = factories.audit_entries(
            client, headers, action="JOB *", request_id=entry["request_id"]
        )
        assert attempt["success"] == 0 and attempt["info"].startswith("failed, will retry")

    factories.define(client, headers, id=definition_id, abort_on_error="1", **definition)
    status, result = answer(client, failure.realm)
    if failure.outcome == "fails":
        assert (status, result["error"]["code"]) == (400, 903), result
        assert "contract" in result["error"]["message"]
    else:  # the action did not fail: nothing to abort for (it may change the answer)
        assert result.get("error", {}).get("code") != 903, result
