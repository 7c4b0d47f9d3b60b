"""Events with the WebAuthn types (issue 18 item 5): the ``tokentype`` condition
matches ``webauthn`` and ``passkey`` checks; the Token handler cannot enrol them
(a browser finishes their enrolment), which it says on save and when it runs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.events.cache import bump_version
from factorflow.events.models import EventDefinition
from tests import factories
from tests.tokens.fido_authenticator import SoftAuthenticator
from tests.tokens.helpers import assert_error, ok
from tests.tokens.test_passkey import enrol_passkey, initialize, login
from tests.tokens.test_webauthn import RP, answer, challenge, enrolled, rp_policy

H = dict[str, str]


def mark(client: TestClient, headers: H, type_name: str) -> None:
    factories.define(
        client, headers, name=f"mark-{type_name}", event="validate_check", handlermodule="Token",
        action="set description", position="post", conditions={"tokentype": type_name},
        options={"description": f"{type_name} matched"},
    )  # fmt: skip


def test_tokentype_condition_matches_webauthn_and_passkey_logins(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    rp_policy(client, admin_headers)
    webauthn_key, passkey_key = SoftAuthenticator(), SoftAuthenticator()
    webauthn = enrolled(client, admin_headers, webauthn_key)
    passkey = enrol_passkey(client, admin_headers, passkey_key)
    mark(client, admin_headers, "webauthn")
    mark(client, admin_headers, "passkey")
    transaction_id, nonce, _ = challenge(client)
    assert answer(client, transaction_id, webauthn_key.assert_(nonce, RP))["result"]["value"]
    started = initialize(client)
    signed = passkey_key.assert_(started["challenge"].encode(), RP)
    assert login(client, started, signed)["result"]["value"] is True
    for serial, type_name in ((webauthn, "webauthn"), (passkey, "passkey")):
        assert factories.token_of(client, admin_headers, serial)["description"] == (
            f"{type_name} matched"
        )


@pytest.mark.parametrize("type_name", ["webauthn", "passkey"])
def test_the_token_handler_refuses_to_enrol_them(
    client: TestClient, admin_headers: H, flatfile_realm: str, type_name: str,
    services: Services,
) -> None:  # fmt: skip
    actions = factories.ok_value(client.get("/event/actions/Token", headers=admin_headers))
    assert type_name not in actions["enroll"]["tokentype"]["value"]
    assert "hotp" in actions["enroll"]["tokentype"]["value"]
    fields: dict[str, Any] = {
        "name": "enrol", "event": "auth", "handlermodule": "Token", "action": "enroll",
        "position": "post", "options": {"tokentype": type_name, "user": "1"},
    }  # fmt: skip
    body = assert_error(factories.save_definition(client, admin_headers, **fields), 400)
    assert "browser" in body["result"]["error"]["message"]
    assert factories.definitions(client, admin_headers) == []
    # A definition stored before (an import, an older version) fails when it runs,
    # saying why, and enrols nothing.
    factories.define(client, admin_headers, **{**fields, "options": {"tokentype": "hotp"}})
    with services.sessions.begin() as session:
        row = session.scalars(select(EventDefinition)).one()
        row.options = {**row.options, "tokentype": type_name}
        bump_version(session)
    ok(client.post("/auth", data={"username": "alice", "realm": "realm1",
                                  "password": "alice-pass-1"}))  # fmt: skip
    tokens = factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"]
    assert tokens == []
    entries = factories.audit_entries(client, admin_headers)
    assert any("browser" in str(entry.get("info", "")) for entry in entries), entries
