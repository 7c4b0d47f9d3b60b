"""``/ttype/push``: the push token's smartphone (public: it proves itself with its
enrolment credential or its key, see :mod:`factorflow.tokens.push`)."""

from __future__ import annotations

import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.core.params import PiBool
from factorflow.errors import ParameterError
from factorflow.pipeline import Access
from factorflow.policies.decide import RequestPolicies
from factorflow.tokens.models import Token
from factorflow.tokens.push import PushPhone
from factorflow.tokens.types.push import ALLOW

routes = Routes("ttype")

Serial = Annotated[str, Field(min_length=1, max_length=120)]
#: An RSA-4096 SubjectPublicKeyInfo is about 740 base64 characters; a signature 832 base32.
Text = Annotated[str, Field(max_length=4096)]


class _PhoneRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    serial: Serial


class PollParams(_PhoneRequest):
    timestamp: Annotated[str, Field(min_length=1, max_length=64)]
    signature: Annotated[str, Field(min_length=1, max_length=4096)]


class PhoneParams(_PhoneRequest):
    """Either the registration (``enrollment_credential``, ``pubkey``, ``fbtoken``) or
    the answer to a challenge (``nonce``, ``signature``, optionally ``decline``)."""

    enrollment_credential: Text | None = None
    pubkey: Text | None = None
    fbtoken: Text | None = None
    nonce: Annotated[str, Field(max_length=200)] | None = None
    signature: Text | None = None
    decline: PiBool = False


@routes.route("GET", "/ttype/push", event="ttype", params=PollParams, access=Access.PUBLIC)
def poll(call: Call[PollParams]) -> Outcome:
    """The phone polls its open challenges (signed ``serial|timestamp``)."""
    p = call.params
    call.audit.note_token(p.serial, "push")
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)

    def allow_polling(token: Token) -> str:
        owner = call.services.tokens.access.owner_of(call.session, token)
        decided = policies.authentication(owner, owner.realm if owner else None)
        return decided.type_options.get("push_allow_polling", ALLOW)

    phone = PushPhone(call.services.tokens)
    messages = phone.poll(
        call.session, p.serial, timestamp=p.timestamp, signature=p.signature,
        polling_policy=allow_polling, now=time.time(),
    )  # fmt: skip
    call.audit.info = f"{len(messages)} open challenges"
    return Outcome(value=messages)


@routes.route("POST", "/ttype/push", event="ttype", params=PhoneParams, access=Access.PUBLIC)
def phone(call: Call[PhoneParams]) -> Outcome:
    """The phone registers (second enrolment step) or answers a challenge."""
    p = call.params
    call.audit.note_token(p.serial, "push")
    push = PushPhone(call.services.tokens)
    if p.pubkey is not None and p.fbtoken is not None:
        detail = push.register(
            call.session, p.serial, p.enrollment_credential or "", p.pubkey, p.fbtoken
        )
        call.audit.info = "push token registered"
        return Outcome(value=True, detail=detail)
    if p.nonce and p.signature:
        taken = push.answer(
            call.session, p.serial, nonce=p.nonce, signature=p.signature, decline=p.decline,
            now=time.time(),
        )  # fmt: skip
        call.audit.info = f"challenge {'declined' if p.decline else 'accepted'}: {taken}"
        return Outcome(value=taken)
    raise ParameterError("Missing parameters!")
