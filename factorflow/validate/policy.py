"""Authentication and authorization policies inside ``/validate/check``.

The validate service gets an :class:`AuthDecider` (the policy engine's
``RequestPolicies``) and asks it for the frozen :class:`AuthPolicy` of the user it
authenticates; this module turns that decision into the few places where the flow
differs: how the PIN is checked (``otppin``), what a user without tokens or an
unknown user gets (``passthru``, ``passOnNoToken``, ``passOnNoUser``), which tokens
may be used (``tokentype``, ``serial``, ``lastauth``), ``reset_all_user_tokens`` and
the rate limits ``auth_max_success`` / ``auth_max_fail`` (:func:`rate_limited`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from factorflow.audit.models import AuditEntry
from factorflow.policies.authn import AuthPolicy, RateLimit
from factorflow.tokens.access import UserDirectory
from factorflow.tokens.info import get_info
from factorflow.tokens.models import Token
from factorflow.users.errors import UserNotFoundError
from factorflow.users.identity import User
from factorflow.validate.results import MSG_NO_TOKENS, CheckResult

# Messages, not secrets (ruff reads "PASS" as a password).
MSG_PASS_ON_NO_USER = "user does not exist, accepted due to 'passOnNoUser'"  # noqa: S105
MSG_PASS_ON_NO_TOKEN = "user has no token, accepted due to 'passOnNoToken'"  # noqa: S105
MSG_PASSTHRU = "against userstore due to 'passthru'"

#: The audit ``action`` of the requests that authenticate a user (method, rule).
CHECK_ACTIONS = tuple(
    f"{method} /validate/{path}" for method in ("GET", "POST") for path in ("check", "radiuscheck")
)

PinCheck = Callable[[Token, str], bool]


class AuthDecider(Protocol):
    def authentication(self, user: User | None, realm: str | None = None) -> AuthPolicy: ...


class PasswordStore(Protocol):
    def check_password(self, session: Session, user: User, password: str) -> bool: ...


class UserLookup(UserDirectory, PasswordStore, Protocol):
    """What the validate service needs from the user service."""

    def split_login(self, session: Session, login: str, realm: str = "") -> tuple[str, str]: ...

    def default_realm(self, session: Session) -> str: ...

    def remember(self, session: Session, login: str, realm: str, user: User) -> None: ...


def no_such_user(users: UserLookup, session: Session, login: str, realm: str) -> UserNotFoundError:
    """privacyIDEA's error for an unknown user at ``/validate/check`` (400, code 904):
    ``User <nosuch@realm1> does not exist.``, naming the realm it looked in."""
    login, realm = users.split_login(session, login, realm)
    realm = realm or users.default_realm(session)
    error = UserNotFoundError(f"User <{login}@{realm}> does not exist.")
    error.user_ref = (login, realm)
    return error


def pin_check(
    decided: AuthPolicy,
    token_pin: PinCheck,
    store: PasswordStore,
    session: Session,
    owner: Callable[[Token], User | None],
) -> PinCheck:
    """How the PIN part of ``pass`` is checked under ``otppin``."""
    if decided.otppin == "none":
        return lambda _token, pin: pin == ""
    if decided.otppin == "userstore":

        def userstore(token: Token, pin: str) -> bool:
            user = owner(token)
            return user is not None and store.check_password(session, user, pin)

        return userstore
    return token_pin


def without_tokens(
    decided: AuthPolicy, store: PasswordStore, session: Session, user: User, password: str
) -> CheckResult:
    """The answer for a user who has no tokens."""
    if decided.passthru and store.check_password(session, user, password):
        return CheckResult(True, MSG_PASSTHRU, user=user)
    if decided.pass_on_no_token:
        return CheckResult(True, MSG_PASS_ON_NO_TOKEN, user=user)
    return CheckResult(False, MSG_NO_TOKENS, user=user)


def allowed_tokens(
    decided: AuthPolicy, tokens: list[Token], now: float
) -> tuple[list[Token], CheckResult | None]:
    """The tokens the authorization policies allow; a REJECT when none is left."""
    moment = datetime.fromtimestamp(now, UTC)
    allowed: list[Token] = []
    refusals: list[tuple[Token, str]] = []
    for token in tokens:
        why = decided.refuses_token(
            token.tokentype, token.serial, get_info(token, "last_auth"), moment
        )
        if why:
            refusals.append((token, why))
        else:
            allowed.append(token)
    if allowed or not refusals:
        return allowed, None
    token, why = refusals[0]
    if len(refusals) == 1:
        return [], CheckResult(False, why, token, token.tokentype)
    return [], CheckResult(False, why)


def reset_user_tokens(session: Session, tokens: list[Token]) -> None:
    """``reset_all_user_tokens``: a success resets the fail counters of all of them."""
    ids = [t.id for t in tokens]
    if ids:
        session.execute(
            update(Token).where(Token.id.in_(ids)).values(failcount=0),
            execution_options={"synchronize_session": False},
        )


def rate_limited(
    session: Session, decided: AuthPolicy, user: User, result: CheckResult, now: datetime
) -> CheckResult | None:
    """A REJECT replacing ``result`` when ``auth_max_fail`` (any result) or
    ``auth_max_success`` (a success) is reached; None otherwise.

    As in privacyIDEA the check has run, so a valid OTP is used up, and the limits
    count this user's earlier ``/validate/check`` requests in the audit log: ACCEPT
    entries are successes, REJECT entries failures (a CHALLENGE is neither). A
    request refused here is audited as a REJECT, so it counts as a failure.
    """
    fail = decided.auth_max_fail
    if fail is not None and _audited(session, user, "REJECT", fail, now) >= fail.count:
        return _limited(result, f"Only {fail.count} failed authentications per {fail.describe()}")
    success = decided.auth_max_success
    if (
        success is not None
        and result.accepted
        and _audited(session, user, "ACCEPT", success, now) >= success.count
    ):
        message = f"Only {success.count} successful authentications per {success.describe()}"
        return _limited(result, message)
    return None


def _audited(session: Session, user: User, outcome: str, limit: RateLimit, now: datetime) -> int:
    # ix_audit_user narrows to the user's entries (ix_audit_date to the window).
    count = session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.user == user.login,
            AuditEntry.realm == user.realm,
            AuditEntry.date >= now - limit.window,
            AuditEntry.action.in_(CHECK_ACTIONS),
            AuditEntry.authentication == outcome,
        )
    )
    return int(count or 0)


def _limited(result: CheckResult, message: str) -> CheckResult:
    return CheckResult(False, message, result.token, result.token_type, result.user)
