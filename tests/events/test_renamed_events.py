"""privacyIDEA's event ``token_getchallenges`` (GET /token/challenges/); definitions
written with Factorflow's earlier name ``token_challenges`` are bound to it."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.events.handlers.counter import counter_total
from tests.events.conftest import DefinitionMaker
from tests.tokens.helpers import ok


def _count(services: Services) -> int:
    with services.sessions() as session:
        return counter_total(session, "challenges")


def test_get_challenges_is_token_getchallenges(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    available = ok(client.get("/event/available", headers=admin_headers))["result"]["value"]
    assert "token_getchallenges" in available and "token_challenges" not in available
    define(name="count", event="token_getchallenges", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "challenges"})  # fmt: skip
    ok(client.get("/token/challenges/", headers=admin_headers))
    assert _count(services) == 1


@pytest.mark.parametrize("how", ["post", "import"])
def test_the_earlier_name_is_bound_to_privacyideas_with_a_warning(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services,
    caplog: pytest.LogCaptureFixture, how: str,
) -> None:  # fmt: skip
    with caplog.at_level(logging.WARNING):
        if how == "post":
            define(name="old", event="token_challenges,token_getchallenges",
                   handlermodule="Counter", action="increase_counter",
                   options={"counter_name": "challenges"})  # fmt: skip
        else:
            document = {"format": "factorflow-events", "version": 1, "definitions": [{
                "uid": "6b1f7a2e-0000-4000-8000-000000000001", "name": "old",
                "event": ["token_challenges"], "handlermodule": "Counter",
                "action": "increase_counter", "options": {"counter_name": "challenges"},
            }]}  # fmt: skip
            ok(client.post("/event/import", json={"data": document}, headers=admin_headers))
    assert any(
        "'token_challenges' is now 'token_getchallenges'" in r.message for r in caplog.records
    )
    stored = ok(client.get("/event/", headers=admin_headers))["result"]["value"]
    assert [d["event"] for d in stored] == [["token_getchallenges"]]
    ok(client.get("/token/challenges/", headers=admin_headers))
    assert _count(services) == 1
