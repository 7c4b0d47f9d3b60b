"""The event condition ``tokentype`` names the types added as plug-ins like the
built-ins: a definition for the type runs on its tokens' checks, one for another
type does not."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests import factories
from tests.tokens.type_adapters import ADAPTERS

H = dict[str, str]
#: The types of issue 19 (the built-ins are covered by tests/events).
TYPES = [
    "tan", "daypassword", "motp", "applspec", "indexedsecret", "question", "yubikey", "radius",
    "remote",
]  # fmt: skip


@pytest.mark.parametrize("type_name", TYPES)
def test_tokentype_condition_matches_the_type(
    type_name: str, client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    adapter = ADAPTERS[type_name]
    adapter.setup(client, admin_headers)
    detail = factories.enrol(
        client, admin_headers, type_name, pin="pin", user="alice", realm="realm1", **adapter.params
    )
    serial = str(detail["serial"])
    factories.define(
        client, admin_headers, name="this", event="validate_check", handlermodule="Token",
        action="set description", position="post", conditions={"tokentype": type_name},
        options={"description": "matched"},
    )  # fmt: skip
    factories.define(
        client, admin_headers, name="other", event="validate_check", handlermodule="Token",
        action="set tokeninfo", position="post", conditions={"tokentype": "hotp"},
        options={"key": "other", "value": "ran"},
    )  # fmt: skip
    data = {"serial": serial, "pass": "pin-wrong", **adapter.check_params}
    response = client.post("/validate/check", data=data)
    assert response.status_code == 200, response.text
    token = factories.token_of(client, admin_headers, serial)
    assert token["description"] == "matched"
    assert "other" not in token["info"]
