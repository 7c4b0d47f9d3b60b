"""What the token-type contract (``test_type_contract.py``) needs to know about each
registered type to enrol it and answer it as its user would.

Everything else the contract reads from the type's own declarations: ``pin_mode``
(how ``pass`` is made of PIN and OTP), ``challenge_response`` (the PIN alone asks for
the OTP first), ``one_time_values`` (a replay must be refused),
``deletes_after_success``, ``InitParams``, ``answered_on_device``. A type registered under
``factorflow.token_types`` without an adapter here fails the contract, naming it:
a new type cannot skip the suite silently.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests import factories
from tests.policies.conftest import policy_data
from tests.tokens.fido_authenticator import SoftAuthenticator, unb64url
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, ok, totp, yubikey_otp
from tests.tokens.push_phone import PUSH_ENROLMENT, Phone, impostor_key

H = dict[str, str]
#: The n-th value the user has (0: the first), from what the enrolment answered.
OtpSource = Callable[[dict[str, Any], int], str]
#: The answer to a challenge (its ``multi_challenge`` entry), given the enrolment's
#: detail and the value the adapter's ``otp`` planned.
Responder = Callable[[dict[str, Any], dict[str, Any], str], str]


def _as_planned(detail: dict[str, Any], entry: dict[str, Any], planned: str) -> str:
    return planned


def _no_setup(client: TestClient, headers: H) -> None:
    del client, headers


@dataclass(frozen=True)
class FidoCeremony:
    """How the contract drives a type answered with a WebAuthn assertion
    (``answers_with_assertion``): a signature over a fresh challenge cannot be an OTP
    computed from the enrolment, so the contract holds a software authenticator
    (``tests/tokens/fido_authenticator.py``, real P-256 signatures) and asks this for
    the two steps it cannot express in ``pass``. Everything else — a tampered answer
    refused without counting a failure, the right one accepted, a replay refused as
    ``one_time_values`` says, the next challenge working — the contract checks as it
    does for every type."""

    #: The second ``/token/init`` with the authenticator's registration; its detail.
    finish: Callable[[TestClient, H, dict[str, Any], SoftAuthenticator], dict[str, Any]]
    #: A new login challenge for the user: (transaction id, the bytes to sign).
    start: Callable[[TestClient, dict[str, str], str], tuple[str, bytes]]
    #: The relying party id the enrolment policy sets (``setup``) and the page origin.
    rp_id: str = "example.com"
    origin: str = "https://mfa.example.com"


@dataclass(frozen=True)
class TypeAdapter:
    #: ``POST /token/init`` parameters besides type, user, realm and PIN.
    params: dict[str, Any] = field(default_factory=dict)
    #: The OTP part of the n-th ``pass`` ("" for types without one).
    otp: OtpSource = lambda detail, n: ""
    #: Configuration the type needs before it is enrolled (an SMTP server...).
    setup: Callable[[TestClient, H], None] = _no_setup
    #: ``/validate/check`` parameters besides user, realm and pass (a ``service_id``).
    check_params: dict[str, str] = field(default_factory=dict)
    #: For WebAuthn types: the ceremonies the contract cannot express as an OTP.
    fido: FidoCeremony | None = None
    #: Turns the planned value into the answer to the challenge shown (the types
    #: whose answer depends on the question asked: ocra).
    respond: Responder = _as_planned
    #: The enrolment steps after ``POST /token/init`` that the user's device takes
    #: (the push token's phone registers at /ttype/push); the detail to keep.
    complete: Callable[[TestClient, dict[str, Any]], dict[str, Any]] = lambda client, detail: detail
    #: For types whose user answers on the device (``answered_on_device``): the device
    #: answers the open challenge with the given value — the right one from ``otp``
    #: or a wrong one. ``/validate/check`` then carries the transaction id and an
    #: empty ``pass``, and collects what the device said.
    device: Callable[[TestClient, dict[str, Any], str], None] | None = None


def _rfc_hotp(detail: dict[str, Any], n: int) -> str:
    return RFC4226_OTPS[n]


def _current_totp(detail: dict[str, Any], n: int) -> str:
    return totp(offset_steps=n)


def _day_password(detail: dict[str, Any], n: int) -> str:
    return totp(step=86400)  # the same value all day long, n or not


#: motp.sourceforge.net's example init-secret and a PIN.
MOTP_SECRET, MOTP_PIN = "e3152afee62599c8", "1234"


def _current_motp(detail: dict[str, Any], n: int) -> str:
    step = int(time.time() // 10) + n
    return hashlib.md5(f"{step}{MOTP_SECRET}{MOTP_PIN}".encode()).hexdigest()[:6]


#: Yubico's test-vector key and private id (developers.yubico.com/OTP/Specifications).
YUBIKEY_KEY, YUBIKEY_UID = bytes(range(16)), bytes(range(1, 7))


def _yubikey(detail: dict[str, Any], n: int) -> str:
    return yubikey_otp(YUBIKEY_KEY, YUBIKEY_UID, usage=n + 1, session=0)


def _printed(detail: dict[str, Any], n: int) -> str:
    return str(detail["otps"][str(n)])


def _registration_code(detail: dict[str, Any], n: int) -> str:
    return str(detail["registrationcode"])


def _smtp(client: TestClient, headers: H) -> None:
    # Nothing listens there: the contract answers with the OTP computed from the key
    # it enrolled, and the queued mail is never delivered within the test.
    factories.add_smtp_server(client, headers, "contract-mail", port=9)


def _sms(client: TestClient, headers: H) -> None:
    factories.add_sms_gateway(client, headers, "contract-sms", "http://127.0.0.1:9/send")


def _rp_policy(client: TestClient, headers: H) -> None:
    action = {"webauthn_relying_party_id": "example.com", "webauthn_relying_party_name": "Ex"}
    data = policy_data({"scope": "enrollment", "action": action})
    factories.ok_value(client.post("/policy/contract-rp", data=data, headers=headers))


def _second_init(
    client: TestClient, headers: H, detail: dict[str, Any], answer: dict[str, str]
) -> dict[str, Any]:
    data = {"serial": detail["serial"], "transaction_id": detail["transaction_id"], **answer}
    response = client.post(
        "/token/init", data=data, headers={**headers, "Origin": "https://mfa.example.com"}
    )
    finished: dict[str, Any] = ok(response)["detail"]
    return finished


def _webauthn_finish(
    client: TestClient, headers: H, detail: dict[str, Any], auth: SoftAuthenticator
) -> dict[str, Any]:
    nonce = unb64url(detail["webAuthnRegisterRequest"]["nonce"])
    answer = auth.register(nonce, "example.com", fmt="packed")
    return _second_init(client, headers, detail, {"type": "webauthn", **answer})


def _webauthn_start(client: TestClient, user: dict[str, str], pin: str) -> tuple[str, bytes]:
    detail = ok(client.post("/validate/check", data={**user, "pass": pin}))["detail"]
    sign = detail["multi_challenge"][0]["attributes"]["webAuthnSignRequest"]
    return detail["transaction_id"], unb64url(sign["challenge"])


def _passkey_finish(
    client: TestClient, headers: H, detail: dict[str, Any], auth: SoftAuthenticator
) -> dict[str, Any]:
    text = detail["passkey_registration"]["challenge"]
    answer = auth.register(text.encode(), "example.com")
    return _second_init(client, headers, detail, {
        "type": "passkey", "attestationObject": answer["regdata"],
        "clientDataJSON": answer["clientdata"], "credential_id": answer["credential_id"],
    })  # fmt: skip


def _passkey_start(client: TestClient, user: dict[str, str], pin: str) -> tuple[str, bytes]:
    passkey = ok(client.post("/validate/initialize", data={"type": "passkey"}))["detail"]["passkey"]
    return passkey["transaction_id"], passkey["challenge"].encode()  # signed as text


def _radius(client: TestClient, headers: H) -> None:
    # A real FreeRADIUS of this test process (tests/radius/freeradius.py); its user
    # "contract" has the contract's PIN + "radius-otp-1" as password: the PIN is not
    # checked here (radius.local_checkpin off), the whole pass is forwarded.
    from tests.radius.conftest import add_radius_server
    from tests.radius.freeradius import running

    add_radius_server(client, headers, "contract-radius", running().port)


def _remote(client: TestClient, headers: H) -> None:
    # A second Factorflow (tests/tokens/remote_server.py) where dave's pw token takes
    # the contract's PIN + "remote-otp-1": the whole pass is forwarded and checked there.
    from tests.tokens.remote_server import shared_remote

    factories.add_remote_server(client, headers, "contract-remote", shared_remote()[0].url)


#: RFC 6287 Appendix C's 32-byte key.
OCRA_KEY = bytes.fromhex("3132333435363738393031323334353637383930313233343536373839303132")
OCRA_SUITE = "OCRA-1:HOTP-SHA256-8:QN08"
OCRA_RIGHT = "ocra-answer"


def _ocra(detail: dict[str, Any], entry: dict[str, Any], planned: str) -> str:
    """The OCRA response to the question asked; a changed plan answers wrongly."""
    from factorflow.tokens.ocra import OcraSuite, ocra_response

    response = ocra_response(
        OCRA_KEY, OcraSuite.parse(OCRA_SUITE), entry["attributes"]["challenge"]
    )
    return response if planned == OCRA_RIGHT else response[:-1] + str((int(response[-1]) + 1) % 10)


#: The members of the 4eyes contract token: (user, PIN, HOTP key).
FOUR_EYES_MEMBERS = [("bob", "bob-pin", RFC_KEY_HEX), ("carol", "carol-pin", "3132" * 10)]


def _four_eyes_members(client: TestClient, headers: H) -> None:
    for login, pin, key in FOUR_EYES_MEMBERS:
        factories.enrol(client, headers, "hotp", user=login, realm="realm1", pin=pin, otpkey=key)


def _four_eyes(detail: dict[str, Any], n: int) -> str:
    """Both members' PIN + n-th HOTP value (RFC 4226), blank-separated."""
    from tests.tokens.helpers import hotp

    return " ".join(pin + hotp(n, bytes.fromhex(key)) for _, pin, key in FOUR_EYES_MEMBERS)


#: The yubico token's validation server: one local stand-in for the run, its counters
#: forgotten by each setup (every test has a database of its own).
YUBICO_CLIENT, YUBICO_API_KEY, YUBICO_PUBLIC = "4711", b"yubico-api-key-of-the-test", "cccccccccccb"
_YUBICO_SERVER: dict[str, Any] = {}


def yubico_server(client: TestClient, headers: H) -> Any:
    """The stand-in, started once, with the system settings pointing at it."""
    from tests.tokens.yubico_server import StandIn, api_key_b64, serve

    if not _YUBICO_SERVER:
        stand_in = StandIn(clients={YUBICO_CLIENT: YUBICO_API_KEY})
        stand_in.keys[YUBICO_PUBLIC] = (YUBIKEY_KEY, YUBIKEY_UID)
        _YUBICO_SERVER["stand_in"], _YUBICO_SERVER["url"] = stand_in, serve(stand_in)[1]
    stand_in = _YUBICO_SERVER["stand_in"]
    stand_in.last_counter.clear()
    stand_in.tamper = ""
    values = {"yubico.id": YUBICO_CLIENT, "yubico.secret": api_key_b64(YUBICO_API_KEY),
              "yubico.url": _YUBICO_SERVER["url"]}  # fmt: skip
    factories.ok_value(client.post("/system/setConfig", json=values, headers=headers))
    return stand_in


def _local_ca(client: TestClient, headers: H) -> None:
    # A CA generated on creation signs the certificate of the key the server generates.
    response = client.post("/caconnector/contract-ca", data={"type": "local"}, headers=headers)
    factories.ok_value(response)


def _phone_registers(client: TestClient, detail: dict[str, Any]) -> dict[str, Any]:
    phone = Phone(client)
    assert factories.ok_value(phone.register(detail)) is True
    return {**detail, "phone": phone.state()}


#: The push phone's right answer: it accepts, signing with its key. Any other value
#: (the contract's wrong answer) is an impostor's signature, which the server refuses.
PUSH_ACCEPT = "accept"


def _phone_answers(client: TestClient, detail: dict[str, Any], value: str) -> None:
    phone = Phone.restore(client, detail["phone"])
    for message in phone.challenges():
        key = phone.key if value == PUSH_ACCEPT else impostor_key()
        phone.respond(message["nonce"], key=key)


PASSWORD = "lost-token-pw-1"
#: An Ed25519 public key (ssh-keygen -t ed25519), for the sshkey type.
SSH_ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINBRzTZul2eZqRaYXrEaMkN79N+5WsES7VWfjKbF0Mqq alice@laptop"
)

ADAPTERS: dict[str, TypeAdapter] = {
    "hotp": TypeAdapter(params={"otpkey": RFC_KEY_HEX}, otp=_rfc_hotp),
    "totp": TypeAdapter(params={"otpkey": RFC_KEY_HEX}, otp=_current_totp),
    "paper": TypeAdapter(params={"papertoken_count": "5"}, otp=_printed),
    "spass": TypeAdapter(),
    "pw": TypeAdapter(params={"otpkey": PASSWORD}, otp=lambda detail, n: PASSWORD),
    "registration": TypeAdapter(otp=_registration_code),
    "email": TypeAdapter(
        params={"otpkey": RFC_KEY_HEX, "email": "alice@example.net"}, otp=_rfc_hotp, setup=_smtp
    ),
    "sms": TypeAdapter(
        params={"otpkey": RFC_KEY_HEX, "phone": "+4917111"}, otp=_rfc_hotp, setup=_sms
    ),
    "tan": TypeAdapter(params={"tantoken_count": "5"}, otp=_printed),
    "daypassword": TypeAdapter(params={"otpkey": RFC_KEY_HEX}, otp=_day_password),
    "motp": TypeAdapter(params={"otpkey": MOTP_SECRET, "motppin": MOTP_PIN}, otp=_current_motp),
    "applspec": TypeAdapter(
        params={"otpkey": PASSWORD, "service_id": "Mail"},
        otp=lambda detail, n: PASSWORD,
        check_params={"service_id": "mail"},
    ),
    # One character throughout: every challenge (two positions by default) has one answer.
    "indexedsecret": TypeAdapter(params={"otpkey": "qqqqqqqq"}, otp=lambda detail, n: "qq"),
    # One answer to every question: whichever is asked, the user knows it.
    "question": TypeAdapter(
        params={"questions": json.dumps({f"Question {i}?": "Answer" for i in range(5)})},
        otp=lambda detail, n: "Answer",
    ),
    "yubikey": TypeAdapter(
        params={"otpkey": YUBIKEY_KEY.hex(), "yubikey.tokenid": YUBIKEY_UID.hex()},
        otp=_yubikey,
    ),
    "sshkey": TypeAdapter(params={"sshkey": SSH_ED25519}),
    "webauthn": TypeAdapter(setup=_rp_policy, fido=FidoCeremony(_webauthn_finish, _webauthn_start)),
    "passkey": TypeAdapter(setup=_rp_policy, fido=FidoCeremony(_passkey_finish, _passkey_start)),
    # The RADIUS server decides; it accepts the same password again (no one-time values).
    "radius": TypeAdapter(
        params={"radius.identifier": "contract-radius", "radius.user": "contract"},
        otp=lambda detail, n: "radius-otp-1",
        setup=_radius,
    ),
    "remote": TypeAdapter(
        params={
            "remote.server_id": "contract-remote",
            "remote.user": "dave",
            "remote.realm": "fedrealm",
        },
        otp=lambda detail, n: "remote-otp-1",
        setup=_remote,
    ),
    "4eyes": TypeAdapter(params={"4eyes": "realm1:2"}, otp=_four_eyes, setup=_four_eyes_members),
    "yubico": TypeAdapter(
        params={"yubico.tokenid": YUBICO_PUBLIC}, otp=_yubikey, setup=yubico_server
    ),
    "ocra": TypeAdapter(
        params={"otpkey": OCRA_KEY.hex(), "ocrasuite": OCRA_SUITE},
        otp=lambda detail, n: OCRA_RIGHT,
        respond=_ocra,
    ),
    "certificate": TypeAdapter(params={"genkey": "1", "ca": "contract-ca"}, setup=_local_ca),
    # Poll-only push (no Firebase): the simulated phone of tests/tokens/push_phone.py.
    "push": TypeAdapter(
        params={"genkey": "1", **PUSH_ENROLMENT},
        otp=lambda detail, n: PUSH_ACCEPT,
        complete=_phone_registers,
        device=_phone_answers,
    ),
}


def adapter_for(type_name: str, type_cls: type[object]) -> TypeAdapter:
    """The adapter of a registered type; fails the test, naming the type, without one."""
    adapter = ADAPTERS.get(type_name)
    if adapter is None:
        pytest.fail(
            f"token type {type_name!r} ({type_cls.__module__}.{type_cls.__qualname__}) is "
            "registered but has no adapter in tests/tokens/type_adapters.py: add one so that "
            "the contract suite can enrol it and answer it",
            pytrace=False,
        )
    return adapter
