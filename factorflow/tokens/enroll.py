"""``POST /token/init``: create (or re-enrol) a token of any registered type."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from factorflow.core.invocation import Actor
from factorflow.core.params import split_list
from factorflow.crypto import Hasher, SecretBox
from factorflow.errors import ParameterError, TokenAdminError
from factorflow.pipeline import validation_error
from factorflow.registry import Registry
from factorflow.tokens.access import TokenAccess, check_new_serial
from factorflow.tokens.base import EnrollContext, PinMode, TokenType
from factorflow.tokens.errors import TokenPolicyError
from factorflow.tokens.info import parse_validity, set_info, timestamp
from factorflow.tokens.models import Token, TokenOwner, TokenRealm
from factorflow.tokens.requests import InitRequest
from factorflow.users.identity import User
from factorflow.users.realms import get_realm


@dataclass
class Enrolled:
    token: Token
    detail: dict[str, Any]
    user: User | None


class Enroller:
    def __init__(
        self, access: TokenAccess, types: Registry[TokenType], box: SecretBox, hasher: Hasher
    ) -> None:
        self.access = access
        self.types = types
        self.box = box
        self.hasher = hasher

    def type_class(self, name: str) -> type[TokenType]:
        try:
            return self.types[name.strip().lower()]
        except KeyError:
            raise ParameterError(f"Unknown token type {name[:30]!r}.") from None

    def init(self, session: Session, actor: Actor, req: InitRequest) -> Enrolled:
        type_cls = self.type_class(req.type)
        if req.two_step_init or req.verify:
            raise ParameterError("2stepinit and verify enrollment are not supported.")
        if actor.is_user and not type_cls.self_service:
            raise TokenPolicyError(f"You may not enroll tokens of type {type_cls.type_name!r}.")
        try:
            params = type_cls.InitParams.model_validate(req.model_dump(by_alias=True))
        except ValidationError as exc:
            raise validation_error(exc) from None
        if type_cls.pin_mode is PinMode.WHOLE and not req.pin:
            # A static password that is empty would accept an empty pass.
            raise ParameterError("Missing parameter: 'pin'")
        user = self.access.requested_user(session, actor, req.user, req.realm)
        token = self._token_row(session, actor, type_cls, req.serial)
        ttype = type_cls(token, self.box)
        self._common_fields(token, req, type_cls)
        label = f"{user.login}@{user.realm}" if user else token.serial
        detail = ttype.enroll(params, EnrollContext(serial=token.serial, label=label))
        session.flush()
        ttype.enrolled(session)
        if user is not None:
            assign_owner(session, token, user)
        realm_names = split_list(req.tokenrealm)
        if req.realm and user is None:
            realm_names.append(req.realm)
        add_realms(session, token, realm_names)
        session.flush()
        return Enrolled(
            token, {"serial": token.serial, **detail, "rollout_state": "enrolled"}, user
        )

    def _token_row(
        self, session: Session, actor: Actor, type_cls: type[TokenType], serial: str | None
    ) -> Token:
        if not serial:
            serial = self._new_serial(session, type_cls.serial_prefix)
            token = Token(serial=serial, tokentype=type_cls.type_name)
            session.add(token)
            return token
        check_new_serial(serial)
        existing = self.access.find(session, serial)
        if existing is None:
            token = Token(serial=serial, tokentype=type_cls.type_name)
            session.add(token)
            return token
        user = self.access.actor_user(session, actor)
        if user is not None and not self.access.owned_by(existing, user):
            raise TokenPolicyError("You may not re-enroll this token.")
        if existing.tokentype != type_cls.type_name:
            raise TokenAdminError("The token already exists with a different type.")
        # Re-enrolment (privacyIDEA's rollover): new key material, counters from zero.
        existing.failcount = 0
        return existing

    @staticmethod
    def _new_serial(session: Session, prefix: str) -> str:
        for _ in range(20):
            serial = f"{prefix}{secrets.token_hex(4).upper()}"
            if TokenAccess.find(session, serial) is None:
                return serial
        raise TokenAdminError("Could not generate a unique serial.")

    def _common_fields(self, token: Token, req: InitRequest, type_cls: type[TokenType]) -> None:
        token.description = req.description
        token.rollout_state = "enrolled"
        token.active = True
        if type_cls.pin_mode is not PinMode.NONE and req.pin is not None:
            token.pin_hash = self.hasher.hash(req.pin) if req.pin else ""
        for key in ("validity_period_start", "validity_period_end"):
            value = getattr(req, key)
            if value:
                parse_validity(value)
                set_info(token, key, value)
        set_info(token, "creation_date", timestamp())


def assign_owner(session: Session, token: Token, user: User) -> None:
    """Make ``user`` the owner and add the user's realm to the token realms."""
    realm = get_realm(session, user.realm)
    owner = token.owner
    if owner is None:
        token.owner = TokenOwner(resolver=user.resolver, user_id=user.uid, realm=realm)
    else:
        # Changed in place: replacing the row would insert before the delete and trip
        # the unique token_id.
        owner.resolver, owner.user_id, owner.realm = user.resolver, user.uid, realm
    set_info(token, "assignment_date", timestamp())
    add_realms(session, token, [realm.name])


def add_realms(session: Session, token: Token, names: list[str]) -> None:
    present = {tr.realm.name for tr in token.realms}
    for name in names:
        realm = get_realm(session, name)
        if realm.name not in present:
            token.realms.append(TokenRealm(realm=realm))
            present.add(realm.name)
