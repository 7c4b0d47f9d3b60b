"""What authentication and authorization policies decide for one ``/validate`` request.

:class:`AuthPolicy` is a plain, frozen summary the validate service consumes; it
never touches the database. Built by :meth:`RequestPolicies.authentication`
(:mod:`factorflow.policies.decide`) for the user being authenticated.

* ``otppin``: ``tokenpin`` (default) checks the PIN against the token PIN,
  ``userstore`` against the user's password in the user store, ``none`` expects
  the OTP alone.
* ``passthru`` / ``passOnNoToken`` / ``passOnNoUser``: accept without a token
  (passthru checks the user-store password).
* ``challenge_response``: token types that answer a PIN alone with a challenge.
* ``tokentype`` / ``serial``: only these tokens may be used (authorization).
* ``lastauth``: a token unused for longer is rejected.
* ``auth_cache``: the same ``pass`` is accepted again without a new OTP for a while
  (:class:`AuthCacheRule`, see :mod:`factorflow.validate.authcache`).
* ``auth_max_success`` / ``auth_max_fail``: at most N successful / failed
  authentications of the user per time window (:class:`RateLimit`), counted in the
  audit log.
* the token types' own actions (``indexedsecret_count``, ...: ``TYPE_ACTIONS``):
  their values, as the challenge a type creates reads them (``type_options``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from factorflow.core.compare import ComparisonError, parse_date, parse_duration

MSG_LASTAUTH = "The last successful authentication was too long ago."
MSG_TOKENTYPE = "You are not allowed to login with this token type."
MSG_SERIAL = "You are not allowed to login with this serial."
#: Authentication actions of token types, handed to their challenges as they are.
TYPE_ACTIONS = (
    "indexedsecret_count", "indexedsecret_challenge_text", "question_number",
    "push_text_on_mobile", "push_title_on_mobile", "push_ssl_verify", "push_allow_polling",
)  # fmt: skip


@dataclass(frozen=True)
class AuthCacheRule:
    """privacyIDEA's ``auth_cache`` value: ``4h`` (an entry is usable for 4 hours after
    the authentication that wrote it), ``4h/5m`` (and only while it was last used at
    most 5 minutes ago) or ``4h/3`` (and at most 3 times)."""

    lifetime: timedelta
    idle: timedelta | None = None
    max_uses: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> AuthCacheRule | None:
        """None for no value or one the catalog would not have stored."""
        if not text:
            return None
        first, _, second = text.partition("/")
        lifetime = duration(first)
        if lifetime is None:
            return None
        if not second:
            return cls(lifetime)
        if second.isdigit():
            return cls(lifetime, max_uses=int(second)) if int(second) > 0 else None
        idle = duration(second)
        return cls(lifetime, idle=idle) if idle is not None else None


@dataclass(frozen=True)
class RateLimit:
    """``auth_max_success`` / ``auth_max_fail``: ``3/5m`` is at most 3 per 5 minutes."""

    count: int
    window: timedelta

    @classmethod
    def parse(cls, text: str | None) -> RateLimit | None:
        if not text:
            return None
        number, _, window = text.partition("/")
        delta = duration(window)
        if not number.isdigit() or delta is None:
            return None
        return cls(int(number), delta)

    def describe(self) -> str:
        """The window as privacyIDEA writes it in its messages (``0:05:00``)."""
        return str(self.window)


@dataclass(frozen=True)
class AuthPolicy:
    otppin: str = "tokenpin"
    passthru: bool = False
    pass_on_no_token: bool = False
    pass_on_no_user: bool = False
    challenge_types: frozenset[str] = frozenset()
    challenge_text: str | None = None
    reset_all_user_tokens: bool = False
    tokentypes: frozenset[str] = frozenset()
    serial_pattern: str | None = None
    setrealm: str | None = None
    no_detail_on_success: bool = False
    no_detail_on_fail: bool = False
    add_user_in_response: bool = False
    add_resolver_in_response: bool = False
    lastauth: timedelta | None = None
    auth_cache: AuthCacheRule | None = None
    auth_max_success: RateLimit | None = None
    auth_max_fail: RateLimit | None = None
    #: The values of ``TYPE_ACTIONS`` that apply ({action: value}).
    type_options: Mapping[str, str] = field(default_factory=dict)
    #: Names of the policies that decided something, for the audit.
    names: tuple[str, ...] = field(default_factory=tuple)

    def refuses_token(self, tokentype: str, serial: str, last_auth: str, now: datetime) -> str:
        """Why a token that would authenticate is not allowed to ("" if it is)."""
        if self.tokentypes and tokentype.lower() not in self.tokentypes:
            return MSG_TOKENTYPE
        if self.serial_pattern is not None and not re.search(self.serial_pattern, serial):
            return MSG_SERIAL
        if self.lastauth is not None and last_auth:
            try:
                when = parse_date(last_auth)
            except ComparisonError:
                return ""
            moment = now if now.tzinfo else now.replace(tzinfo=UTC)
            if moment - when > self.lastauth:
                return MSG_LASTAUTH
        return ""


def duration(text: str | None) -> timedelta | None:
    if not text:
        return None
    try:
        return parse_duration(text)
    except ComparisonError:
        return None
