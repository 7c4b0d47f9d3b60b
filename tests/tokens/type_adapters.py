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
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, totp, yubikey_otp
from tests.tokens.push_phone import PUSH_ENROLMENT, Phone, impostor_key

H = dict[str, str]
#: The n-th value the user has (0: the first), from what the enrolment answered.
OtpSource = Callable[[dict[str, Any], int], str]


def _no_setup(client: TestClient, headers: H) -> None:
    del client, headers


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
