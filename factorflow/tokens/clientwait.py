"""The second ``/token/init`` of a type whose enrolment the user's client finishes
(``TokenType.client_enrollment``: WebAuthn and passkeys, W3C WebAuthn §7.1).

The first call left the token in ``clientwait`` with its registration request; this
one carries the serial and the client's answer. Only who may see the token (an
admin of its realm, its user) may complete it; the type verifies the answer
(:meth:`~factorflow.tokens.base.TokenType.complete_enrollment`) and a refusal is a
4xx that stores nothing.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from factorflow.core.invocation import Actor
from factorflow.crypto import SecretBox
from factorflow.errors import ParameterError
from factorflow.tokens.access import TokenAccess
from factorflow.tokens.base import TokenType
from factorflow.tokens.models import Token
from factorflow.tokens.requests import InitRequest
from factorflow.users.identity import User

CLIENTWAIT = "clientwait"


def wants_completion(type_cls: type[TokenType], req: InitRequest) -> bool:
    """Whether ``req`` is the second step of a client enrolment."""
    return (
        type_cls.client_enrollment
        and bool(req.serial)
        and type_cls.is_client_answer(req.model_dump(by_alias=True))
    )


def complete(
    session: Session,
    access: TokenAccess,
    box: SecretBox,
    *,
    actor: Actor,
    req: InitRequest,
    type_cls: type[TokenType],
) -> tuple[Token, dict[str, Any], User | None]:
    """Verify the client's answer for the token ``req.serial``; (token, detail, owner)."""
    assert req.serial
    token = access.get(session, actor, req.serial)
    if token.tokentype != type_cls.type_name:
        raise ParameterError("The token has a different type.")
    if token.rollout_state != CLIENTWAIT:
        raise ParameterError("The token is not waiting for a registration.")
    ttype = type_cls(token, box)
    detail = ttype.complete_enrollment(session, req.model_dump(by_alias=True), time.time())
    if req.description:
        token.description = req.description
    session.flush()
    detail = {"serial": token.serial, **detail, "rollout_state": token.rollout_state}
    return token, detail, access.owner_of(session, token)
