"""privacyIDEA 3.14's remaining challenge endpoints: ``DELETE
/token/challenges/transaction/<transaction_id>`` (event ``token_cancelchallenge``,
right ``cancelchallenge``), ``/validate/initialize`` (usernameless starts, through
the token-type plug-in interface) and ``/validate/capabilities``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.events.handlers.counter import counter_total
from factorflow.registry import Registry
from factorflow.tokens.base import InitializeContext, InitializedChallenge, TokenType
from factorflow.tokens.models import Challenge
from tests.policies.conftest import SetPolicy, helpdesk_headers, realm_b, set_policy  # noqa: F401
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, assert_error, check, init_token, ok

H = dict[str, str]


def challenge_for(client: TestClient, headers: H, user: str, realm: str) -> str:
    """An HOTP challenge of ``user`` (PIN ``1234``); returns its transaction id."""
    policy = {"scope": "authentication", "action": "challenge_response=hotp"}
    ok(client.post("/policy/hotp-challenges", data=policy, headers=headers))
    init_token(client, headers, serial=f"CR-{user}", otpkey=RFC_KEY_HEX, pin="1234", user=user,
               realm=realm)  # fmt: skip
    body = check(client, user=user, realm=realm, **{"pass": "1234"})
    assert body["result"]["authentication"] == "CHALLENGE"
    tid: str = body["detail"]["transaction_id"]
    return tid


def challenges(services: Services) -> list[str]:
    with services.sessions() as session:
        return list(session.scalars(select(Challenge.transaction_id)))


def cancel(client: TestClient, headers: H, tid: str) -> Any:
    return client.delete(f"/token/challenges/transaction/{tid}", headers=headers)


def test_cancel_a_transaction(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    counted = {"name": "cancels", "event": "token_cancelchallenge", "handlermodule": "Counter",
               "action": "increase_counter", "option.counter_name": "cancels"}  # fmt: skip
    ok(client.post("/event", data=counted, headers=admin_headers))
    tid = challenge_for(client, admin_headers, "alice", "realm1")
    body = ok(cancel(client, admin_headers, tid))
    assert body["result"]["value"] == {"status": True, "deleted": 1}
    assert challenges(services) == []
    # The answer to a cancelled challenge matches nothing.
    answer = check(client, user="alice", transaction_id=tid, **{"pass": RFC4226_OTPS[0]})
    assert answer["detail"]["message"] == "Response did not match the challenge."
    # An unknown (or already cancelled) transaction deletes nothing.
    assert ok(cancel(client, admin_headers, tid))["result"]["value"] == {
        "status": True, "deleted": 0,
    }  # fmt: skip
    with services.sessions() as session:
        assert counter_total(session, "cancels") == 2
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("DELETE /token/challenges/%"))
        ).first()
        assert entry is not None and entry.serial == "CR-alice"
        assert entry.info == f"Cancelled 1 challenge(s) for transaction {tid}"


def test_cancel_needs_an_admin_and_good_input(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    tid = challenge_for(client, admin_headers, "alice", "realm1")
    assert_error(client.delete(f"/token/challenges/transaction/{tid}"), 401, 4033)
    assert_error(cancel(client, admin_headers, "9" * 65), 400, 905)
    assert challenges(services) == [tid]


def test_a_realm_limited_admin_cancels_only_in_its_realm(
    client: TestClient, admin_headers: H, helpdesk_headers: H, realm_b: str,  # noqa: F811
    set_policy: SetPolicy, services: Services,  # noqa: F811
) -> None:  # fmt: skip
    in_a = challenge_for(client, admin_headers, "alice", "realm1")
    in_b = challenge_for(client, admin_headers, "dave", "realm2")
    set_policy("helpdesk-b", scope="admin", action="cancelchallenge", adminuser="helpdesk",
               realm="realm2")  # fmt: skip
    assert_error(cancel(client, helpdesk_headers, in_a), 403, 303)
    assert sorted(challenges(services)) == sorted([in_a, in_b])
    assert ok(cancel(client, helpdesk_headers, in_b))["result"]["value"]["deleted"] == 1
    assert challenges(services) == [in_a]


class UsernamelessToken(TokenType):
    """A token type that starts authentications before the user is known."""

    type_name = "usernameless"

    @classmethod
    def initialize(cls, session: Session, ctx: InitializeContext) -> InitializedChallenge | None:
        request = {"challenge": f"c-{ctx.transaction_id}", "rpId": ctx.params.get("rp", "")}
        return InitializedChallenge({"usernameless": request})


@pytest.fixture
def usernameless(services: Services) -> Iterator[None]:
    types = services.tokens.types
    plugins = {**dict(types.items()), "usernameless": UsernamelessToken}
    services.tokens.types = Registry("factorflow.token_types", TokenType, plugins)
    yield
    services.tokens.types = types


def test_initialize_refuses_types_that_cannot(client: TestClient, flatfile_realm: str) -> None:
    for kind in ("hotp", "webauthn", "nosuchtype"):  # passkey can: tests/tokens/test_passkey.py
        body = assert_error(client.post("/validate/initialize", data={"type": kind}), 400, 905)
        assert body["result"]["error"]["message"] == (
            f"ERR905: Unsupported token type '{kind}' for authentication initialization!"
        )
    body = assert_error(client.get("/validate/initialize"), 400, 905)
    assert "'type'" in body["result"]["error"]["message"]
    assert_error(client.post("/validate/initialize", json={"type": "x" * 31}), 400, 905)
    assert_error(client.post("/validate/initialize", json={"type": ["hotp"]}), 400, 905)


def test_initialize_asks_the_token_type(client: TestClient, usernameless: None) -> None:
    body = ok(client.get("/validate/initialize", params={"type": "UsernameLess", "rp": "example"}))
    assert body["id"] == 2
    assert body["result"] == {"status": True, "value": False, "authentication": "CHALLENGE"}
    tid = body["detail"]["transaction_id"]
    assert tid.isdigit() and len(tid) == 20
    assert body["detail"]["usernameless"] == {"challenge": f"c-{tid}", "rpId": "example"}


def test_capabilities_answer_unidentified_clients_as_privacyidea(client: TestClient) -> None:
    for method in ("GET", "POST"):
        r = client.request(method, "/validate/capabilities", headers={"X-API-Key": "pi_x_y"})
        assert_error(r, 401, 4031)


def test_the_new_events_are_available(client: TestClient, admin_headers: H) -> None:
    body = ok(client.get("/event/available", headers=admin_headers))
    names = set(body["result"]["value"])
    assert {"token_cancelchallenge", "validate_initialize", "validate_capabilities"} <= names
    assert json.dumps(sorted(names))  # a list of names, as privacyIDEA's
