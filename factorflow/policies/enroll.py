"""What the policies decide for one enrolment (``/token/init`` or the Token handler's
``enroll``) and for a PIN an admin or user sets.

:class:`EnrollPolicy` is a frozen summary built from the matching ``enrollment``
policies and, as privacyIDEA keeps them there, the PIN rules and forced values of
the ``admin`` scope (an admin acting) or the ``user`` scope (the user acting)
(:meth:`EnrollPolicy.from_views`); the token service consumes it through its
``EnrollmentRules`` protocol (:mod:`factorflow.tokens.enroll`), so every enrolment
and every ``/token/setpin`` takes the same decision:

* ``max_token_per_user`` / ``max_token_per_realm``: refused when the user (realm)
  already has that many tokens; with several matching policies the highest maximum
  applies and priorities are ignored (privacyIDEA's rule);
* ``otp_pin_minlength`` / ``maxlength`` / ``contents`` (admin / user scope): the
  PIN set at enrolment or by ``/token/setpin``; contents uses privacyIDEA's classes
  ``c`` letters, ``n`` digits, ``s`` special characters (and Factorflow's ``o``
  others): ``cn`` needs each class, ``+cn`` any of them, ``-s`` none of them,
  ``[0123456789]`` only these characters;
* ``hotp_otplen``, ``hotp_hashlib``, ``totp_otplen``, ``totp_hashlib``,
  ``totp_timestep``, ``daypassword_otplen``, ``daypassword_hashlib``,
  ``daypassword_timestep`` (admin / user scope): forced values that replace the
  request's;
* ``tokenissuer`` / ``tokenlabel``: the issuer and label of the ``otpauth://`` URL
  and QR code, with the tags ``{user}``, ``{realm}``, ``{serial}``, ``{givenname}``,
  ``{surname}``, ``{type}``;
* ``otpkey_minlength`` (Factorflow's): the shortest ``otpkey`` in bytes a request may
  supply (privacyIDEA accepts any length and has no such action);
* ``change_pin_on_first_use``: a token an administrator enrols for a user records
  (tokeninfo ``next_pin_change``) that its PIN must change;
* ``verify_enrollment``: token types whose enrolment takes a second step, an OTP
  proving that the user's device holds the key;
* ``tantoken_count``: the number of TANs a generated TAN list has (forced, as
  privacyIDEA's prepolicy sets it);
* ``certificate_ca_connector``, ``certificate_template``,
  ``certificate_request_subject_component``: a certificate token's ``ca``,
  ``template`` and ``subject_components`` (forced, as privacyIDEA's prepolicies).
* ``webauthn_relying_party_id`` / ``_name``, ``webauthn_authenticator_attestation_form``
  / ``_level``: forced into WebAuthn (and the relying party into passkey) enrolments.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from factorflow.errors import PolicyError
from factorflow.policies.matching import PolicyView

_CLASSES = {
    "c": set(string.ascii_letters),
    "n": set(string.digits),
    "s": set(string.punctuation),
}
#: Request parameter names of the forced per-type values.
TYPE_PARAMS = {"otplen": "otplen", "hashlib": "hashlib", "timestep": "timeStep"}
#: The push token's enrollment actions, named as its enrolment parameters.
PUSH_ACTIONS = (
    "push_registration_url", "push_firebase_configuration", "push_ttl", "push_ssl_verify",
)  # fmt: skip
_FORCED = (
    "hotp_otplen", "hotp_hashlib", "totp_otplen", "totp_hashlib", "totp_timestep",
    "daypassword_otplen", "daypassword_hashlib", "daypassword_timestep",
)  # fmt: skip


def _class_of(char: str) -> str:
    for name, chars in _CLASSES.items():
        if char in chars:
            return name
    return "o"


@dataclass(frozen=True)
class EnrollPolicy:
    max_token_per_user: int | None = None
    max_token_per_realm: int | None = None
    pin_minlength: int | None = None
    pin_maxlength: int | None = None
    pin_contents: str | None = None
    #: token type → request parameter → forced value.
    forced: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    issuer: str | None = None
    label: str | None = None
    change_pin_on_first_use: bool = False
    key_minlength: int | None = None
    #: Token types (lower case) whose enrolment must be verified with an OTP.
    verify_types: frozenset[str] = frozenset()
    names: tuple[str, ...] = ()

    @classmethod
    def from_views(cls, view: PolicyView, role: PolicyView | None = None) -> EnrollPolicy:
        """The decision of the ``enrollment`` policies in ``view`` and the ``admin`` /
        ``user`` policies in ``role`` (a conflict between unique values at the best
        priority is a PolicyError)."""
        settings = _role_settings(role) if role is not None else {}
        names = [*view.names, *(settings.pop("names", ()))]
        if not view.matched and not names:
            return cls()
        push = {
            action: value for action in PUSH_ACTIONS if (value := view.value(action)) is not None
        }
        if push:  # privacyIDEA's push enrolment values, forced into the push token's parameters
            forced = dict(settings.get("forced", {}))
            settings["forced"] = {**forced, "push": {**forced.get("push", {}), **push}}
        tans = _int(view.value("tantoken_count"))
        if tans is not None:  # privacyIDEA's enrollment action, forced like the role values
            forced = dict(settings.get("forced", {}))
            settings["forced"] = {
                **forced,
                "tan": {**forced.get("tan", {}), "tantoken_count": tans},
            }
        certificate = _certificate_forced(view)
        if certificate:  # privacyIDEA's prepolicies set these request parameters
            forced = dict(settings.get("forced", {}))
            settings["forced"] = {**forced, "certificate": certificate}
        settings = _with_fido(view, settings)
        return cls(
            max_token_per_user=_highest(view, "max_token_per_user"),
            max_token_per_realm=_highest(view, "max_token_per_realm"),
            issuer=_str(view.value("tokenissuer")),
            label=_str(view.value("tokenlabel")),
            change_pin_on_first_use=view.has("change_pin_on_first_use"),
            key_minlength=_int(view.value("otpkey_minlength")),
            verify_types=frozenset(t.lower() for t in view.values("verify_enrollment")),
            names=tuple(dict.fromkeys(names)),
            **settings,
        )

    def must_verify(self, tokentype: str) -> bool:
        return tokentype.lower() in self.verify_types

    def check_pin(self, pin: str | None) -> None:
        """Refuse a PIN the policies do not allow (an absent PIN is not checked)."""
        if pin is None:
            return
        if self.pin_minlength is not None and len(pin) < self.pin_minlength:
            raise PolicyError(f"The minimum OTP PIN length is {self.pin_minlength}.")
        if self.pin_maxlength is not None and len(pin) > self.pin_maxlength:
            raise PolicyError(f"The maximum OTP PIN length is {self.pin_maxlength}.")
        if self.pin_contents and not pin_has_contents(pin, self.pin_contents):
            raise PolicyError(f"The OTP PIN does not meet the contents rule {self.pin_contents}.")

    def check_counts(self, user_tokens: int | None, realm_tokens: int | None) -> None:
        """Refuse a new token beyond the per-user / per-realm maximum."""
        if (
            self.max_token_per_user is not None
            and user_tokens is not None
            and user_tokens >= self.max_token_per_user
        ):
            raise PolicyError(
                f"The number of tokens for this user is limited to {self.max_token_per_user}."
            )
        if (
            self.max_token_per_realm is not None
            and realm_tokens is not None
            and realm_tokens >= self.max_token_per_realm
        ):
            raise PolicyError(
                f"The number of tokens in this realm is limited to {self.max_token_per_realm}."
            )

    def forced_params(self, tokentype: str) -> dict[str, Any]:
        return dict(self.forced.get(tokentype.lower(), {}))


def _certificate_forced(view: PolicyView) -> dict[str, Any]:
    """``certificate_ca_connector`` → ``ca``, ``certificate_template`` → ``template``,
    ``certificate_request_subject_component`` → ``subject_components`` (the values of
    every matching policy)."""
    out: dict[str, Any] = {}
    ca = _str(view.value("certificate_ca_connector"))
    template = _str(view.value("certificate_template"))
    if ca:
        out["ca"] = ca
    if template:
        out["template"] = template
    components = view.values("certificate_request_subject_component")
    if components:
        out["subject_components"] = components
    return out


def _role_settings(role: PolicyView) -> dict[str, Any]:
    """The PIN rules and forced values of the admin / user policies in ``role``, and the
    names of the policies that set any."""
    actions = ("otp_pin_minlength", "otp_pin_maxlength", "otp_pin_contents", *_FORCED)
    deciding = [p.name for p in role.matched if any(a in p.action for a in actions)]
    if not deciding:
        return {}
    contents = role.value("otp_pin_contents")
    return {
        "pin_minlength": _int(role.value("otp_pin_minlength")),
        "pin_maxlength": _int(role.value("otp_pin_maxlength")),
        "pin_contents": None if contents is None else str(contents),
        "forced": forced_values({action: role.value(action) for action in _FORCED}),
        "names": deciding,
    }


#: The WebAuthn enrollment actions, forced into the enrolment of these types (the
#: policies of the token's realm decide: two realms may have two relying parties).
FIDO_ACTIONS = {
    "webauthn_relying_party_id": ("webauthn", "passkey"),
    "webauthn_relying_party_name": ("webauthn", "passkey"),
    "webauthn_authenticator_attestation_form": ("webauthn",),
    "webauthn_authenticator_attestation_level": ("webauthn",),
}


def _with_fido(view: PolicyView, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with the WebAuthn actions of ``view`` as forced values."""
    forced = {kind: dict(values) for kind, values in settings.get("forced", {}).items()}
    for action, kinds in FIDO_ACTIONS.items():
        value = view.value(action)
        if value is None:
            continue
        for kind in kinds:
            forced.setdefault(kind, {})[action] = str(value)
    return {**settings, "forced": forced} if forced else settings


def _int(value: object) -> int | None:
    return None if value is None or isinstance(value, bool) else int(str(value))


def _str(value: object) -> str | None:
    return None if value is None or str(value) == "" else str(value)


def _highest(view: PolicyView, action: str) -> int | None:
    """The highest limit any matching policy sets (priorities do not apply)."""
    limits = [_int(p.action[action]) for p in view.matched if action in p.action]
    return max((n for n in limits if n is not None), default=None)


def pin_has_contents(pin: str, rule: str) -> bool:
    """privacyIDEA's ``otp_pin_contents`` check (see module docstring)."""
    if rule.startswith("["):
        return set(pin) <= set(rule[1:-1])
    present = {_class_of(char) for char in pin}
    if rule.startswith("+"):
        return bool(present & set(rule[1:]))
    if rule.startswith("-"):
        return not present & set(rule[1:])
    return set(rule) <= present


def forced_values(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"hotp_otplen": 8, ...}`` → ``{"hotp": {"otplen": 8}, ...}``."""
    out: dict[str, dict[str, Any]] = {}
    for action, value in values.items():
        kind, _, key = action.partition("_")
        if key in TYPE_PARAMS and value is not None:
            out.setdefault(kind, {})[TYPE_PARAMS[key]] = value
    return out
