"""The token-type contract, run against every type registered under
``factorflow.token_types`` (a third-party type installed by entry point is collected
like the built-ins): it describes itself, enrols through ``POST /token/init``, a
right answer is accepted and a wrong one refused, and a replay is refused exactly
where the type declares one-time values. How to answer each type comes from
:mod:`tests.tokens.type_adapters`; the RFC 4226/6238 vectors are in
``test_vectors.py``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services, build_services
from factorflow.registry import Registry
from factorflow.settings import Settings
from factorflow.tokens.base import PinMode, TokenInitParams, TokenType
from tests import factories
from tests.model_values import bad_values
from tests.plugins import Plugin, install
from tests.tokens.fido_authenticator import SoftAuthenticator, b64url, unb64url
from tests.tokens.type_adapters import ADAPTERS, TypeAdapter, adapter_for

H = dict[str, str]
GROUP = "factorflow.token_types"
TYPES = sorted(Registry.from_entry_points(GROUP, TokenType))
PIN = "c0ntract-pin"
USER = {"user": "alice", "realm": "realm1"}


@dataclass(frozen=True)
class Enrolled:
    type_cls: type[TokenType]
    adapter: TypeAdapter
    serial: str
    detail: dict[str, Any]
    #: The software authenticator of a WebAuthn type (``TypeAdapter.fido``).
    authenticator: SoftAuthenticator | None = None
    #: The ``multi_challenge`` entry of each challenge, by transaction id.
    challenges: dict[str, dict[str, Any]] = field(default_factory=dict)

    def otp(self, n: int = 0) -> str:
        return self.adapter.otp(self.detail, n)


@pytest.fixture(params=TYPES)
def type_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def type_cls(type_name: str, services: Services) -> type[TokenType]:
    return services.token_types[type_name]


@pytest.fixture
def adapter(
    type_name: str,
    type_cls: type[TokenType],
    client: TestClient,
    admin_headers: H,
    flatfile_realm: str,
) -> TypeAdapter:
    """The type's adapter, with the configuration it needs in place."""
    found = adapter_for(type_name, type_cls)
    found.setup(client, admin_headers)
    return found


@pytest.fixture
def enrolled(
    type_name: str,
    type_cls: type[TokenType],
    adapter: TypeAdapter,
    client: TestClient,
    admin_headers: H,
) -> Enrolled:
    detail = factories.enrol(client, admin_headers, type_name, pin=PIN, **USER, **adapter.params)
    if adapter.fido is None:
        detail = adapter.complete(client, detail)
        return Enrolled(type_cls, adapter, str(detail["serial"]), detail)
    authenticator = SoftAuthenticator(adapter.fido.origin)
    assert detail["rollout_state"] == "clientwait"
    finished = adapter.fido.finish(client, admin_headers, detail, authenticator)
    return Enrolled(type_cls, adapter, str(detail["serial"]), finished, authenticator)


def check(client: TestClient, adapter: TypeAdapter, **params: str) -> dict[str, Any]:
    data = {**USER, **adapter.check_params, **params}
    response = client.post("/validate/check", data=data)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def login_pass(type_cls: type[TokenType], otp: str) -> str:
    """``pass`` as the type's ``pin_mode`` makes it of PIN and OTP."""
    if type_cls.pin_mode is PinMode.WHOLE:
        return PIN
    if type_cls.pin_mode is PinMode.NONE:
        return otp
    return PIN + otp


def challenge(client: TestClient, token: Enrolled) -> str:
    """The PIN alone: a challenge-response type answers with a challenge."""
    body = check(client, token.adapter, **{"pass": PIN})
    assert body["result"]["authentication"] == "CHALLENGE", body
    assert body["detail"]["serial"] == token.serial, body
    transaction_id: str = body["detail"]["transaction_id"]
    token.challenges[transaction_id] = body["detail"]["multi_challenge"][0]
    return transaction_id


def answer(client: TestClient, token: Enrolled, otp: str, transaction_id: str = "") -> bool:
    """Log in with ``otp``; a challenge-response type first gets its challenge (or the
    given one). Whether the server accepted."""
    if token.type_cls.challenge_response:
        transaction_id = transaction_id or challenge(client, token)
        entry = token.challenges[transaction_id]
        otp = token.adapter.respond(token.detail, entry, otp)
        if token.type_cls.answered_on_device:
            assert token.adapter.device is not None, "an answered_on_device type needs a device"
            token.adapter.device(client, token.detail, otp)
            otp = ""  # the check only collects what the device said
        body = check(client, token.adapter, transaction_id=transaction_id, **{"pass": otp})
    else:
        body = check(client, token.adapter, **{"pass": login_pass(token.type_cls, otp)})
    accepted = body["result"]["value"] is True
    assert body["result"]["authentication"] == ("ACCEPT" if accepted else "REJECT"), body
    return accepted


def mutated(value: str) -> str:
    """``value`` with its last character changed within its class (digit, letter)."""
    assert value, "nothing to change"
    last = value[-1]
    if last.isdigit():
        other = str((int(last) + 1) % 10)
    elif last.isalpha():
        other = "a" if last.lower() == "z" else chr(ord(last) + 1)
    else:
        other = "x"
    return value[:-1] + other


def tokens(client: TestClient, headers: H) -> list[dict[str, Any]]:
    value = factories.ok_value(client.get("/token/", headers=headers))
    listed: list[dict[str, Any]] = value["tokens"]
    return listed


# -- describe -----------------------------------------------------------------------------


def test_every_registered_type_has_an_adapter() -> None:
    assert set(TYPES) <= set(ADAPTERS), f"no adapter for {sorted(set(TYPES) - set(ADAPTERS))}"


def test_a_type_installed_by_entry_point_is_held_to_the_contract(
    plugin_site: Path, settings: Settings
) -> None:
    """A third party's type joins the registry the contract is parametrised over, and
    without an adapter the contract fails naming it instead of passing it by."""
    source = "from factorflow.tokens.types.spass import SpassToken\n"
    source += "class AcmeToken(SpassToken):\n    type_name = 'acme'\n"
    install(plugin_site, Plugin("acme_token", source, GROUP, {"acme": "acme_token:AcmeToken"}))
    assert "acme" in Registry.from_entry_points(GROUP, TokenType)
    built = build_services(settings, migrate=False)
    try:
        acme = built.token_types["acme"]
    finally:
        built.close()
    with pytest.raises(pytest.fail.Exception, match=r"'acme' \(acme_token.AcmeToken\).*no adapter"):
        adapter_for("acme", acme)


def check_description(
    type_name: str, type_cls: type[TokenType], client: TestClient, admin_headers: H
) -> None:
    """The type's declarations, and how ``/auth/rights`` and the Token handler list it."""
    assert type_cls.type_name == type_name
    assert type_cls.serial_prefix
    assert issubclass(type_cls.InitParams, TokenInitParams)
    assert isinstance(type_cls.InitParams.model_json_schema()["properties"], dict)
    assert isinstance(type_cls.one_time_values, bool)
    assert isinstance(type_cls.authenticates, bool)
    rights = factories.ok_value(client.get("/auth/rights", headers=admin_headers))
    assert isinstance(rights[type_name], str) and rights[type_name].strip(), rights
    enroll = factories.ok_value(client.get("/event/actions/Token", headers=admin_headers))["enroll"]
    # The Token handler offers the types it can enrol: not those a browser finishes.
    assert (type_name in enroll["tokentype"]["value"]) is not type_cls.client_enrollment


def test_describes_itself_and_refuses_bad_enrolment_parameters(
    type_name: str,
    type_cls: type[TokenType],
    adapter: TypeAdapter,
    client: TestClient,
    admin_headers: H,
) -> None:
    """The type describes itself (one world for both halves keeps the suite fast);
    whatever its ``InitParams`` refuse, ``/token/init`` refuses with a 400, storing
    nothing."""
    check_description(type_name, type_cls, client, admin_headers)
    before = tokens(client, admin_headers)  # the adapter's setup may enrol members (4eyes)
    refused = bad_values(type_cls.InitParams, adapter.params)
    # Parameters only a policy sets are dropped from the request, not refused.
    for bad in (b for b in refused if b.option not in type_cls.policy_params):
        data = {"type": type_name, "pin": PIN, **USER, **adapter.params, bad.option: bad.value}
        response = client.post("/token/init", data=data, headers=admin_headers)
        assert response.status_code == 400, (str(bad), response.text)
    assert tokens(client, admin_headers) == before


# -- enrol and check ----------------------------------------------------------------------


def test_enrols_through_the_api_and_answers_like_its_users(
    enrolled: Enrolled, client: TestClient, admin_headers: H
) -> None:
    """One story per type, as a user lives it (one enrolment keeps the suite fast): the
    token is listed as enrolled; a wrong answer is refused and counted, the right one
    accepted; the same answer again is refused exactly when the type declares
    one-time values, and the next value still works. A type that declares it does not
    authenticate (``authenticates``) refuses every ``pass`` and counts no failure."""
    type_cls = enrolled.type_cls
    token = factories.token_of(client, admin_headers, enrolled.serial)
    assert token["tokentype"] == type_cls.type_name
    assert token["serial"].startswith(type_cls.serial_prefix)
    assert (token["username"], token["realms"]) == ("alice", ["realm1"])
    assert token["active"] is True and token["failcount"] == 0
    assert token["info"]["tokenkind"] in ("software", "hardware", "virtual")
    assert PIN not in json.dumps(enrolled.detail) + json.dumps(token)

    if enrolled.adapter.fido is not None:
        fido_story(enrolled, client, admin_headers)
        return
    if not type_cls.authenticates:  # key material for other systems (sshkey)
        for passw in (PIN, PIN + "123456", ""):
            body = client.post("/validate/check", data={**USER, "pass": passw}).json()
            assert body["result"]["value"] is False, body
        assert factories.token_of(client, admin_headers, enrolled.serial)["failcount"] == 0
        return
    right = enrolled.otp()
    transaction_id = challenge(client, enrolled) if type_cls.challenge_response else ""
    if type_cls.pin_mode is PinMode.WHOLE:  # the PIN is all there is
        wrong = check(client, enrolled.adapter, **{"pass": mutated(PIN)})
        assert wrong["result"]["value"] is False
    else:
        assert answer(client, enrolled, mutated(right), transaction_id) is False
    assert factories.token_of(client, admin_headers, enrolled.serial)["failcount"] == 1
    assert answer(client, enrolled, right, transaction_id) is True

    replayed = answer(client, enrolled, right, transaction_id)
    assert replayed is not type_cls.one_time_values, "one_time_values says otherwise"
    listed = [t["serial"] for t in tokens(client, admin_headers)]
    assert (enrolled.serial in listed) is not type_cls.deletes_after_success
    if not type_cls.deletes_after_success:
        assert answer(client, enrolled, enrolled.otp(1)) is True  # the next value works
        assert factories.token_of(client, admin_headers, enrolled.serial)["failcount"] == 0


def fido_story(enrolled: Enrolled, client: TestClient, admin_headers: H) -> None:
    """The same story for a type answered with a WebAuthn assertion
    (:class:`~tests.tokens.type_adapters.FidoCeremony`): a tampered signature is
    refused and — privacyIDEA's rule for FIDO answers — counts no failure and leaves
    the challenge open; the right assertion is accepted; the same again is refused
    exactly when the type declares one-time values; the next challenge works."""
    ceremony, auth = enrolled.adapter.fido, enrolled.authenticator
    assert ceremony is not None and auth is not None
    assert enrolled.type_cls.answers_with_assertion

    def login(transaction_id: str, assertion: dict[str, str]) -> bool:
        data = {**USER, "pass": "", "transaction_id": transaction_id, **assertion}
        response = client.post("/validate/check", data=data, headers={"Origin": ceremony.origin})
        body = response.json()
        accepted = body["result"]["value"] is True
        assert body["result"]["authentication"] == ("ACCEPT" if accepted else "REJECT"), body
        return accepted

    transaction_id, challenge_bytes = ceremony.start(client, USER, PIN)
    tampered = auth.assert_(challenge_bytes, ceremony.rp_id)
    signature = unb64url(tampered["signaturedata"])
    tampered["signaturedata"] = b64url(signature[:-1] + bytes([signature[-1] ^ 1]))
    assert login(transaction_id, tampered) is False
    assert factories.token_of(client, admin_headers, enrolled.serial)["failcount"] == 0
    right = auth.assert_(challenge_bytes, ceremony.rp_id)
    assert login(transaction_id, right) is True
    replayed = login(transaction_id, right)
    assert replayed is not enrolled.type_cls.one_time_values, "one_time_values says otherwise"
    transaction_id, challenge_bytes = ceremony.start(client, USER, PIN)
    assert login(transaction_id, auth.assert_(challenge_bytes, ceremony.rp_id)) is True
