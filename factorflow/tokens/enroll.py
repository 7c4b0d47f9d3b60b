"""``POST /token/init``: create (or re-enrol) a token of any registered type, under
the enrollment policies.

Every enrolment — ``/token/init`` and the Token handler's ``enroll`` — passes one
hook: the :class:`EnrollmentPolicies` the composition root injects (the policy
engine's ``enrollment`` scope, :mod:`factorflow.policies.enroll`) returns the
:class:`EnrollmentRules` for the token's user (or realm), and :meth:`Enroller.init`
applies them:

1. the PIN rules (privacyIDEA keeps them with the acting admin's or user's policies,
   which is why the hook gets the actor; ``/token/setpin`` checks them too), and for a
   new serial ``max_token_per_user`` / ``max_token_per_realm`` (a refusal is a
   PolicyError, 403);
2. the forced per-type values (``otplen``, ``hashlib``, ``timeStep``, also the
   actor's) replace the request's;
3. the issuer and label of the ``otpauth://`` URL and its QR code, with the tags
   ``{user}``, ``{realm}``, ``{serial}``, ``{givenname}``, ``{surname}``, ``{type}``;
   without a policy the issuer is ``Factorflow`` and the label ``user@realm`` (the
   serial for a token without user);
4. ``change_pin_on_first_use``: a token an administrator enrols for a user gets the
   tokeninfo ``next_pin_change`` (now, privacyIDEA's ``YYYY-MM-DDThh:mm±hhmm``);
   :meth:`~factorflow.tokens.service.TokenService.setpin` clears it;
5. ``otpkey_minlength``: a key the request supplies (``otpkey``) must have at least
   that many bytes; without the policy any key is accepted, as privacyIDEA does;
6. ``verify_enrollment``: privacyIDEA's two-step enrolment for PIN + OTP types that
   are not challenge-response (HOTP, TOTP): the first ``/token/init`` answers
   ``rollout_state`` "verify" and ``verify.message`` (validate skips that state); a
   second with ``serial``, ``type`` and ``verify=<otp>`` sets "enrolled" (a wrong OTP
   is a 400). Types the user's client finishes (WebAuthn) use
   :mod:`factorflow.tokens.clientwait` instead.

The Token handler may enrol with ``apply_policies=False``; without an injected hook
nothing is restricted.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factorflow.core.checks import validation_error
from factorflow.core.dates import VALIDITY_FORMAT, timestamp
from factorflow.core.invocation import Actor
from factorflow.core.params import split_list
from factorflow.crypto import Hasher, SecretBox
from factorflow.errors import ParameterError, PolicyError, TokenAdminError
from factorflow.registry import Registry
from factorflow.tokens.access import TokenAccess, check_new_serial
from factorflow.tokens.base import EnrollContext, PinMode, TokenInitParams, TokenType
from factorflow.tokens.clientwait import complete, wants_completion
from factorflow.tokens.errors import TokenPolicyError
from factorflow.tokens.fido import known_credentials
from factorflow.tokens.info import parse_validity, set_info
from factorflow.tokens.models import Token, TokenRealm
from factorflow.tokens.ownership import add_realms, assign_owner
from factorflow.tokens.ports import TypePorts
from factorflow.tokens.requests import InitRequest
from factorflow.users.identity import User
from factorflow.users.models import Realm

#: privacyIDEA's rollout states of a finished and of a to-be-verified enrolment.
ENROLLED = "enrolled"
VERIFY_PENDING = "verify"
VERIFY_MESSAGE = "Please enter a valid OTP value of the new token."
#: The tokeninfo key of ``change_pin_on_first_use`` (privacyIDEA's name).
NEXT_PIN_CHANGE = "next_pin_change"


class EnrollmentRules(Protocol):
    """What the enrollment policies decide for one enrolment."""

    @property
    def names(self) -> tuple[str, ...]:
        """The deciding policies (for the audit)."""
        ...

    @property
    def issuer(self) -> str | None: ...

    @property
    def label(self) -> str | None: ...

    @property
    def change_pin_on_first_use(self) -> bool: ...

    @property
    def key_minlength(self) -> int | None:
        """The shortest key (in bytes) a request may supply; None: any."""
        ...

    def check_pin(self, pin: str | None) -> None:
        """Raise when the policies refuse ``pin``."""

    def check_counts(self, user_tokens: int | None, realm_tokens: int | None) -> None:
        """Raise when one more token is too many."""

    def forced_params(self, tokentype: str) -> dict[str, Any]: ...

    def must_verify(self, tokentype: str) -> bool: ...


class EnrollmentPolicies(Protocol):
    """The hook: the rules for a token ``actor`` enrols (or sets the PIN of) for
    ``user`` (or in ``realm``)."""

    def __call__(
        self, session: Session, actor: Actor, user: User | None, realm: str | None
    ) -> EnrollmentRules: ...


@dataclass(frozen=True)
class Unrestricted:
    """The rules when no policy applies."""

    names: tuple[str, ...] = ()
    issuer: str | None = None
    label: str | None = None
    change_pin_on_first_use: bool = False
    key_minlength: int | None = None

    def check_pin(self, pin: str | None) -> None:
        return None

    def check_counts(self, user_tokens: int | None, realm_tokens: int | None) -> None:
        return None

    def forced_params(self, tokentype: str) -> dict[str, Any]:
        return {}

    def must_verify(self, tokentype: str) -> bool:
        return False


UNRESTRICTED = Unrestricted()


@dataclass
class Enrolled:
    token: Token
    detail: dict[str, Any]
    user: User | None
    #: The enrollment policies that decided (empty without any).
    policies: tuple[str, ...] = field(default=())


def verifiable(type_cls: type[TokenType]) -> bool:
    """Whether an enrolment of this type can be verified with an OTP the user reads
    from the device: a PIN + OTP type that checks OTPs and is not challenge-response."""
    return (
        type_cls.pin_mode is PinMode.PREPEND
        and not type_cls.challenge_response
        and type_cls.check_otp is not TokenType.check_otp
    )


def fill_tags(template: str, tags: dict[str, str]) -> str:
    """``template`` with its ``{tag}`` placeholders filled (unknown tags stay)."""
    out = template
    for key, value in tags.items():
        out = out.replace("{" + key + "}", value)
    return out


def realm_token_count(session: Session, realm: str) -> int:
    stmt = (
        select(func.count(TokenRealm.id))
        .join(Realm, Realm.id == TokenRealm.realm_id)
        .where(func.lower(Realm.name) == realm.lower())
    )
    return int(session.scalar(stmt) or 0)


class Enroller:
    def __init__(
        self,
        access: TokenAccess,
        types: Registry[TokenType],
        box: SecretBox,
        hasher: Hasher,
        policies: EnrollmentPolicies | None = None,
        *,
        ports: TypePorts | None = None,
    ) -> None:
        self.access = access
        self.types = types
        self.box = box
        self.hasher = hasher
        self.policies = policies
        self.ports = ports

    def type_class(self, name: str) -> type[TokenType]:
        try:
            return self.types[name.strip().lower()]
        except KeyError:
            raise ParameterError(f"Unknown token type {name[:30]!r}.") from None

    def rules(
        self, session: Session, actor: Actor, user: User | None, realm: str | None
    ) -> EnrollmentRules:
        """The rules for a token ``actor`` enrols for ``user`` (or in ``realm``)."""
        if self.policies is None:
            return UNRESTRICTED
        return self.policies(session, actor, user, realm)

    def init(
        self, session: Session, actor: Actor, req: InitRequest, *, apply_policies: bool = True
    ) -> Enrolled:
        type_cls = self.type_class(req.type)
        if req.two_step_init:
            raise ParameterError("2stepinit enrollment is not supported.")
        if req.verify is not None:
            return self._verify(session, actor, req, type_cls)
        if wants_completion(type_cls, req):
            return Enrolled(
                *complete(session, self.access, self.box, actor=actor, req=req, type_cls=type_cls)
            )
        if actor.is_user and not type_cls.self_service:
            raise TokenPolicyError(f"You may not enroll tokens of type {type_cls.type_name!r}.")
        if type_cls.pin_mode is PinMode.WHOLE and not req.pin:
            # A static password that is empty would accept an empty pass.
            raise ParameterError("Missing parameter: 'pin'")
        user = self.access.requested_user(session, actor, req.user, req.realm)
        realm = user.realm if user else (req.realm or "").strip() or None
        rules = self.rules(session, actor, user, realm) if apply_policies else UNRESTRICTED
        self._check(session, rules, req, user, realm)
        forced = rules.forced_params(type_cls.type_name)
        try:
            given = req.model_dump(by_alias=True)
            given = {k: v for k, v in given.items() if k not in type_cls.policy_params}
            params = type_cls.InitParams.model_validate({**given, **forced})
        except ValidationError as exc:
            raise validation_error(exc) from None
        check_key_length(rules, params)
        token = self._token_row(session, actor, type_cls, req.serial)
        ttype = type_cls(token, self.box, self.ports)
        self._common_fields(token, req, type_cls)
        ctx = self._context(token, type_cls, user, realm, rules)
        if type_cls.client_enrollment and user is not None:
            mine = self.access.user_tokens(session, user)
            ctx = replace(
                ctx, known_credentials=known_credentials(mine, self.types, self.box, token)
            )
        detail = ttype.enroll(params, ctx)
        session.flush()
        ttype.enrolled(session)
        if user is not None:
            assign_owner(session, token, user)
        realm_names = split_list(req.tokenrealm)
        if req.realm and user is None:
            realm_names.append(req.realm)
        add_realms(session, token, realm_names)
        if rules.change_pin_on_first_use and actor.is_admin and user is not None:
            mark_pin_change(token, type_cls)
        # A type that waits for its device (push: clientwait) set the state itself.
        detail = {"serial": token.serial, **detail, "rollout_state": token.rollout_state}
        if rules.must_verify(type_cls.type_name) and verifiable(type_cls):
            token.rollout_state = VERIFY_PENDING
            detail.update(rollout_state=VERIFY_PENDING, verify={"message": VERIFY_MESSAGE})
        session.flush()
        return Enrolled(token, detail, user, tuple(rules.names))

    def _check(
        self,
        session: Session,
        rules: EnrollmentRules,
        req: InitRequest,
        user: User | None,
        realm: str | None,
    ) -> None:
        """The PIN rules, and the token limits unless an existing serial is re-enrolled."""
        rules.check_pin(req.pin)
        if not rules.names:
            return  # no policy: nothing to count against
        if req.serial and self.access.find(session, req.serial) is not None:
            return
        user_count = len(self.access.user_tokens(session, user)) if user else None
        realm_count = realm_token_count(session, realm) if realm else None
        rules.check_counts(user_count, realm_count)

    @staticmethod
    def _context(
        token: Token,
        type_cls: type[TokenType],
        user: User | None,
        realm: str | None,
        rules: EnrollmentRules,
    ) -> EnrollContext:
        """The issuer and label of the enrolment URL: the policies' templates, filled."""
        tags = {
            "serial": token.serial,
            "type": type_cls.type_name,
            "user": user.login if user else "",
            "realm": user.realm if user else realm or "",
            "givenname": user.attribute("givenname") if user else "",
            "surname": user.attribute("surname") if user else "",
        }
        label = f"{user.login}@{user.realm}" if user else token.serial
        if rules.label:
            # An empty result (``{user}`` without a user) would make an invalid QR code.
            label = fill_tags(rules.label, tags).strip() or token.serial
        login = user.login if user else ""
        issuer = fill_tags(rules.issuer, tags).strip() if rules.issuer else ""
        if issuer:
            return EnrollContext(
                serial=token.serial, label=label, issuer=issuer, user=user, login=login
            )
        return EnrollContext(serial=token.serial, label=label, user=user, login=login)

    def _verify(
        self, session: Session, actor: Actor, req: InitRequest, type_cls: type[TokenType]
    ) -> Enrolled:
        """The second step of a verified enrolment: ``verify`` is an OTP of the token."""
        if not req.serial:
            raise ParameterError("Missing parameter: 'serial'")
        token = self.access.get(session, actor, req.serial)
        if token.tokentype != type_cls.type_name:
            raise ParameterError("The token has a different type.")
        if token.rollout_state != VERIFY_PENDING:
            raise ParameterError("The token is not waiting for the verification of its enrollment.")
        ttype = type_cls(token, self.box)
        now = time.time()
        found = ttype.check_otp((req.verify or "").strip(), now)
        if found.counter is None or not ttype.commit_otp(session, found.counter):
            raise ParameterError("Verification of the new token failed.")
        ttype.after_success(session, found.counter, now)
        token.rollout_state = ENROLLED
        session.flush()
        detail = {"serial": token.serial, "rollout_state": ENROLLED}
        return Enrolled(token, detail, self.access.owner_of(session, token))

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
        token.rollout_state = ENROLLED
        token.active = True
        if type_cls.pin_mode is not PinMode.NONE and req.pin is not None:
            token.pin_hash = self.hasher.hash(req.pin) if req.pin else ""
        for key in ("validity_period_start", "validity_period_end"):
            value = getattr(req, key)
            if value:
                parse_validity(value)
                set_info(token, key, value)
        set_info(token, "creation_date", timestamp())


def check_key_length(rules: EnrollmentRules, params: TokenInitParams) -> None:
    """The enrollment policy ``otpkey_minlength``: a supplied key of fewer bytes is
    refused (403); generated keys are long enough."""
    minimum = rules.key_minlength
    length = params.given_key_length()
    if minimum is not None and length is not None and length < minimum:
        raise PolicyError(
            f"The OTP key must be at least {minimum} bytes ({2 * minimum} hex digits) long."
        )


def mark_pin_change(token: Token, type_cls: type[TokenType]) -> None:
    """``change_pin_on_first_use``: the PIN must change from now on (types with a PIN)."""
    if type_cls.pin_mode is not PinMode.NONE:
        set_info(token, NEXT_PIN_CHANGE, datetime.now(UTC).strftime(VALIDITY_FORMAT))
