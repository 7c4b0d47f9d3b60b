"""What the token-type contract (``test_type_contract.py``) needs to know about each
registered type to enrol it and answer it as its user would.

Everything else the contract reads from the type's own declarations: ``pin_mode``
(how ``pass`` is made of PIN and OTP), ``challenge_response`` (the PIN alone asks for
the OTP first), ``one_time_values`` (a replay must be refused),
``deletes_after_success``, ``InitParams``. A type registered under
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

H = dict[str, str]
#: The n-th value the user has (0: the first), from what the enrolment answered.
OtpSource = Callable[[dict[str, Any], int], str]


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
