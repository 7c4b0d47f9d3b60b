"""The Token handler's ``enroll`` action: a new token through the token service.

The token is enrolled as an administrator named ``event:<definition>`` would
enrol it, through the same use case as ``/token/init``, with a server-generated key
unless ``additional_params`` (a YAML or JSON mapping merged into the ``/token/init``
parameters) says otherwise, e.g. privacyIDEA's documented ``{"hashlib": "sha256",
"type": "totp", "genkey": 0, "otpkey": "31323334"}``. With ``user`` the token is
assigned to the request's user; ``realm`` becomes the token realm. SMS and email
tokens for a user get the user's ``mobile`` / ``email`` (read once), or with
``dynamic_phone`` / ``dynamic_email`` the address is read from the user store at
each authentication (tokeninfo ``dynamic_phone`` / ``dynamic_email``);
``sms_identifier`` / ``smtp_identifier`` name the SMS gateway / SMTP server the
token uses (tokeninfo ``sms.identifier`` / ``email.identifier``; empty: the default);
``motppin`` is the mOTP PIN of an mOTP token.

Unlike privacyIDEA (#2201) the enrollment policies apply, through the token
service's one enrollment hook: the user's ``max_token_per_user``, the realm's
``max_token_per_realm``, PIN rules, forced values, issuer and label,
``change_pin_on_first_use`` and ``verify_enrollment`` (a token left waiting for
verification cannot authenticate). A refusal fails the action (audited with the
policy's message; the request goes on unless ``abort_on_error``). A definition with
``ignore_enrollment_policies`` enrols as privacyIDEA does, without them.

Types whose enrolment the user's client finishes (``client_enrollment``: webauthn,
passkey — a WebAuthn ceremony with the user's authenticator in the browser) cannot
be enrolled by a handler: they are not offered, a definition naming one is refused
on save (400), and one stored before is refused when it runs.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from factorflow.core.invocation import Actor
from factorflow.core.untrusted import yaml_load
from factorflow.errors import FactorflowError
from factorflow.events.errors import ActionError
from factorflow.events.handlers.base import CHOICES_FROM, VISIBLE_IF, ActionContext, ActionOptions
from factorflow.notify.service import sms_gateway_exists, smtp_server_exists
from factorflow.registry import Registry
from factorflow.tokens.base import TokenType
from factorflow.tokens.requests import InitRequest
from factorflow.users.identity import User

TYPE_GROUP = "factorflow.token_types"


def parse_additional(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        parsed = yaml_load(text, "additional_params")
    except yaml.YAMLError:
        raise ValueError("not a YAML or JSON mapping") from None
    if not isinstance(parsed, dict) or not all(isinstance(k, str) for k in parsed):
        raise ValueError("not a YAML or JSON mapping")
    return {key: "" if value is None else str(value) for key, value in parsed.items()}


class EnrollOptions(ActionOptions):
    tokentype: str = Field(
        title="Token type",
        min_length=1,
        max_length=30,
        description="The type of the new token",
        json_schema_extra={CHOICES_FROM: "enrollable_tokentypes"},
    )
    user: bool = Field(
        title="Assign to the request's user",
        default=False,
        description="Assign the token to the request's user",
    )
    realm: str = Field(
        title="Token realm",
        default="",
        max_length=120,
        description="The token realm",
        json_schema_extra={CHOICES_FROM: "realms"},
    )
    dynamic_phone: bool = Field(
        title="Phone number from the user store",
        default=False,
        description="Read the mobile number from the user store at each authentication",
        json_schema_extra={VISIBLE_IF: ["tokentype", "sms"]},
    )
    dynamic_email: bool = Field(
        title="Email address from the user store",
        default=False,
        description="Read the email address from the user store at each authentication",
        json_schema_extra={VISIBLE_IF: ["tokentype", "email"]},
    )
    smtp_identifier: str = Field(
        title="SMTP server",
        default="",
        max_length=120,
        description="The SMTP server the email token sends through (empty: the default)",
        json_schema_extra={CHOICES_FROM: "smtp_servers", VISIBLE_IF: ["tokentype", "email"]},
    )
    sms_identifier: str = Field(
        title="SMS gateway",
        default="",
        max_length=120,
        description="The SMS gateway the SMS token sends through (empty: the default)",
        json_schema_extra={CHOICES_FROM: "sms_gateways", VISIBLE_IF: ["tokentype", "sms"]},
    )
    motppin: str = Field(
        title="mOTP PIN",
        default="",
        max_length=64,
        description="The mOTP PIN of an mOTP token (the PIN its app asks for)",
        json_schema_extra={VISIBLE_IF: ["tokentype", "motp"]},
    )
    additional_params: str = Field(
        title="Additional enrolment parameters",
        default="",
        max_length=4000,
        description="A YAML/JSON mapping merged into the enrolment parameters",
        json_schema_extra={"ui_type": "text"},
    )

    ignore_enrollment_policies: bool = Field(
        title="Ignore the enrollment policies",
        default=False,
        description="Enrol without applying the enrollment policies (token limits, PIN "
        "rules, forced values, verify_enrollment), as privacyIDEA's handler does",
    )

    @field_validator("additional_params")
    @classmethod
    def _mapping(cls, value: str) -> str:
        parse_additional(value)
        return value


def client_only(type_name: str) -> str:
    return (
        f"A {type_name} token cannot be enrolled by an event handler: its enrolment is "
        "finished by the user's authenticator in the browser (WebAuthn)."
    )


def check_enroll_references(session: Session, options: EnrollOptions) -> None:
    """On save: the token type can be enrolled here, and the SMTP server / SMS gateway
    named must exist (ValueError naming it)."""
    name = options.tokentype.strip().lower()
    type_cls = Registry.from_entry_points(TYPE_GROUP, TokenType).get(name)
    if type_cls is not None and type_cls.client_enrollment:
        raise ValueError(client_only(name))
    for option, exists, what in (
        ("smtp_identifier", smtp_server_exists, "SMTP server"),
        ("sms_identifier", sms_gateway_exists, "SMS gateway"),
    ):
        name = getattr(options, option)
        if name and not exists(session, name):
            raise ValueError(f"Invalid option {option!r}: no {what} {name!r}")


#: Parameter names of secrets, left out of the request a chain sees.
_SECRET = re.compile(r"pass|pin|otpkey|secret|cert", re.I)
#: Per sent-OTP type: (identifier option, its init parameter, dynamic option, the
#: address parameter, the user attribute holding the address).
_DELIVERY = {
    "sms": ("sms_identifier", "sms.identifier", "dynamic_phone", "phone", "mobile"),
    "email": ("smtp_identifier", "email.identifier", "dynamic_email", "email", "email"),
}


def _delivery_params(options: EnrollOptions, type_name: str, user: User | None) -> dict[str, str]:
    """privacyIDEA's parameters of an SMS or email token: the configuration to use and
    the address, read once from the user or (dynamic) at each authentication."""
    if type_name not in _DELIVERY:
        return {}
    identifier_option, identifier_param, dynamic, address, attribute = _DELIVERY[type_name]
    params: dict[str, str] = {}
    if getattr(options, identifier_option):
        params[identifier_param] = getattr(options, identifier_option)
    if user is not None:
        if getattr(options, dynamic):
            params[dynamic] = "1"
        else:
            params[address] = user.attribute(attribute)
    return params


def enroll(ctx: ActionContext, options: EnrollOptions) -> None:
    ports = ctx.ports
    type_cls = ports.token_types.get(options.tokentype.strip().lower())
    if type_cls is None:
        raise ActionError(f"token type {options.tokentype!r} is not installed")
    if type_cls.client_enrollment:
        raise ActionError(client_only(type_cls.type_name))
    extra = parse_additional(options.additional_params)
    params: dict[str, Any] = {"type": type_cls.type_name}
    if "genkey" in type_cls.InitParams.model_fields and "otpkey" not in extra:
        params["genkey"] = "1"
    user = ctx.facts.user if options.user else None
    if options.user:
        if user is None:
            raise ActionError("the request has no user to assign the token to")
        params.update(user=user.login, realm=user.realm)
    if options.realm:
        params["tokenrealm"] = options.realm
    params.update(_delivery_params(options, type_cls.type_name, user))
    if options.motppin and type_cls.type_name == "motp":
        params["motppin"] = options.motppin
    params.update(extra)
    try:
        request = InitRequest.model_validate(params)
    except ValidationError:
        raise ActionError("the enrolment parameters are invalid") from None
    actor = Actor(role="admin", username=f"event:{ctx.definition_name}"[:100])
    try:
        enrolled = ports.tokens.init(
            ctx.session, actor, request, apply_policies=not options.ignore_enrollment_policies
        )
    except FactorflowError as exc:
        # The action's audit entry shows the reason (e.g. the policy's limit).
        ctx.run_details = exc.message[:200]
        raise ActionError(f"enrolment failed: {exc.message}") from None
    ctx.run_details = enrolled.token.serial
    # What POST /token/init was sent (without the key, PINs and passwords: they would
    # reach the chained definitions and a CHAIN-STOP's audit detail) and its answer.
    sent = {k: v for k, v in params.items() if not _SECRET.search(k)}
    ctx.performed_request(
        "token_init", "/token/init", {**sent, "serial": enrolled.token.serial},
        detail=enrolled.detail,
    )  # fmt: skip
