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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from factorflow.events.compare import ComparisonError, parse_date, parse_duration

MSG_LASTAUTH = "The last successful authentication was too long ago."
MSG_TOKENTYPE = "You are not allowed to login with this token type."
MSG_SERIAL = "You are not allowed to login with this serial."


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
