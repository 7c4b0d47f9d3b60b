"""Help-desk token endpoints: revoke, lost, getserial, copypin, copyuser, setrandompin
(privacyIDEA's paths, events and answers; see :mod:`factorflow.tokens.helpdesk`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Actor, Outcome
from factorflow.pipeline import Access
from factorflow.policies.decide import RequestPolicies
from factorflow.tokens.helpdesk import (
    CopyRequest,
    GetSerialRequest,
    LostTokenRules,
    SerialRequest,
)
from factorflow.tokens.models import Token

routes = Routes("token_helpdesk")
AUTH = Access.AUTHENTICATED

#: Random PINs of ``setrandompin`` when no ``otp_pin_set_random`` policy says otherwise
#: (privacyIDEA refuses instead); the contents come from ``otp_pin_contents``.
RANDOM_PIN_LENGTH = 12
RANDOM_PIN_CONTENTS = "cn"


def _policies(call: Call[Any]) -> RequestPolicies:
    return RequestPolicies(call.services.policies, call.session, call.inv.client_ip)


def _int_value(value: object, default: int) -> int:
    return default if value is None or isinstance(value, bool) else int(str(value))


@routes.route(
    "POST", "/token/revoke", "/token/revoke/{serial}", event="token_revoke",
    params=SerialRequest, access=AUTH,
)  # fmt: skip
def revoke(call: Call[SerialRequest]) -> Outcome:
    """Revoke a token: disabled for good, it can only be deleted afterwards."""
    token = call.services.helpdesk.revoke(call.session, call.actor, call.params.serial)
    call.audit.note_token(token.serial, token.tokentype)
    return Outcome(value=1)


@routes.route(
    "POST", "/token/lost/{serial}", event="token_lost", params=SerialRequest, access=AUTH
)  # fmt: skip
def lost(call: Call[SerialRequest]) -> Outcome:
    """Disable a lost token and create a temporary password token with its PIN."""
    helpdesk = call.services.helpdesk
    token = helpdesk.access.get(call.session, call.actor, call.params.serial)
    owner = helpdesk.access.owner_of(call.session, token) if token.owner else None
    view = _policies(call).view("enrollment", owner)
    defaults = LostTokenRules()
    rules = LostTokenRules(
        password_length=_int_value(view.value("losttoken_PW_length"), defaults.password_length),
        password_contents=str(view.value("losttoken_PW_contents") or defaults.password_contents),
        valid_days=_int_value(view.value("losttoken_valid"), defaults.valid_days),
    )
    new, value = helpdesk.lost(call.session, call.actor, token, owner, rules)
    call.audit.note_token(token.serial, token.tokentype)
    call.audit.action_detail = f"replacement={new.serial}"
    if owner is not None:
        call.audit.note_user(owner.login, owner.realm, owner.resolver)
    return Outcome(value=value)


@routes.route(
    "GET", "/token/getserial/{otp}", event="token_getserial", params=GetSerialRequest,
    access=AUTH,
)  # fmt: skip
def getserial(call: Call[GetSerialRequest]) -> Outcome:
    """Find the (by default unassigned) token that shows this OTP."""
    realms = _policies(call).admin_realms(call.actor, "getserial")
    value = call.services.helpdesk.getserial(call.session, call.actor, call.params, realms)
    if value["serial"]:
        call.audit.note_token(str(value["serial"]))
    return Outcome(value=value)


CopyOperation = Callable[[Session, Actor, Token, Token], None]


def _copy(call: Call[CopyRequest], operation: CopyOperation) -> Outcome:
    helpdesk = call.services.helpdesk
    source = helpdesk.access.get(call.session, call.actor, call.params.from_)
    target = helpdesk.access.get(call.session, call.actor, call.params.to)
    operation(call.session, call.actor, source, target)
    call.audit.note_token(target.serial, target.tokentype)
    call.audit.action_detail = f"from={source.serial}"
    return Outcome(value=True)


@routes.route(
    "POST", "/token/copypin", event="token_copypin", params=CopyRequest, access=AUTH
)  # fmt: skip
def copypin(call: Call[CopyRequest]) -> Outcome:
    """Copy the PIN hash of ``from`` to ``to``."""
    return _copy(call, call.services.helpdesk.copypin)


@routes.route(
    "POST", "/token/copyuser", event="token_copyuser", params=CopyRequest, access=AUTH
)  # fmt: skip
def copyuser(call: Call[CopyRequest]) -> Outcome:
    """Assign ``to`` to the owner of ``from``."""
    return _copy(call, call.services.helpdesk.copyuser)


@routes.route(
    "POST", "/token/setrandompin", "/token/setrandompin/{serial}", event="token_setrandompin",
    params=SerialRequest, access=AUTH,
)  # fmt: skip
def setrandompin(call: Call[SerialRequest]) -> Outcome:
    """Set a random PIN and return it once in ``detail.pin``."""
    helpdesk = call.services.helpdesk
    token = helpdesk.access.get(call.session, call.actor, call.params.serial)
    owner = helpdesk.access.owner_of(call.session, token) if token.owner else None
    view = _policies(call).role_view(call.actor, owner)
    length = _int_value(view.value("otp_pin_set_random") if view else None, RANDOM_PIN_LENGTH)
    contents = RANDOM_PIN_CONTENTS
    if view is not None:
        rule = view.value("otp_pin_random_content") or view.value("otp_pin_contents")
        contents = str(rule or RANDOM_PIN_CONTENTS)
    pin = helpdesk.setrandompin(call.session, call.actor, token, length, contents)
    call.audit.note_token(token.serial, token.tokentype)
    return Outcome(value=1, detail={"pin": pin})
