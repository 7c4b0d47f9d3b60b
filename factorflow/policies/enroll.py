"""What enrollment policies decide for one ``/token/init`` (or an enrolling handler).

:class:`EnrollPolicy` is a frozen summary the token service consumes:

* ``max_token_per_user`` / ``max_token_per_realm``: refused when the user (realm)
  already has that many tokens;
* ``otp_pin_minlength`` / ``maxlength`` / ``contents``: the PIN set at enrolment;
  contents uses privacyIDEA's classes ``c`` letters, ``n`` digits, ``s`` special
  characters, ``o`` others: ``cn`` needs each class, ``+cn`` any of them, ``-s``
  none of them;
* ``hotp_otplen``, ``hotp_hashlib``, ``totp_otplen``, ``totp_hashlib``,
  ``totp_timestep``: forced values that replace the request's;
* ``tokenissuer`` / ``tokenlabel``: the QR code's issuer and label, with the tags
  ``{user}``, ``{realm}``, ``{serial}``, ``{givenname}``, ``{surname}``;
* ``change_pin_on_first_use``: the token records that its PIN must change.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from factorflow.errors import PolicyError

_CLASSES = {
    "c": set(string.ascii_letters),
    "n": set(string.digits),
    "s": set(string.punctuation),
}
#: Request parameter names of the forced per-type values.
TYPE_PARAMS = {"otplen": "otplen", "hashlib": "hashlib", "timestep": "timeStep"}


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
    names: tuple[str, ...] = ()

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

    def render(self, template: str | None, tags: Mapping[str, str]) -> str | None:
        """``template`` with its ``{tag}`` placeholders filled (unknown tags stay)."""
        if template is None:
            return None
        out = template
        for key, value in tags.items():
            out = out.replace("{" + key + "}", value)
        return out


def pin_has_contents(pin: str, rule: str) -> bool:
    """privacyIDEA's ``otp_pin_contents`` check (see module docstring)."""
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
