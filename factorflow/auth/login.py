"""The login use case of ``POST /auth``: local admins and realm users, throttled.

Who is tried (privacyIDEA's order): a name without realm and without ``@`` is a
local admin if such an admin exists; otherwise, and for ``user@realm`` or an explicit
realm, a user of the realm (the default realm if none is named).

Equal cost whoever the name belongs to, so that answer times do not tell which
names exist: a name of the admin form always costs one argon2 verification (the
admin's hash, or a dummy hash when there is no such admin), and a login that reaches
a realm costs one check in the realm's first user store (the user's password, or a
decoy of the same kind when nobody has the name; stores that cannot, like LDAP,
spend nothing). A wrong admin password also pays the realm check, so an admin, a
user and an unknown name all cost one admin and one store verification.

Throttling (:mod:`factorflow.auth.throttle`) comes first: a blocked account or client
is refused before any password is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from factorflow.admins.models import Admin
from factorflow.admins.service import AdminService
from factorflow.auth.errors import LOCKED_CODE, LOCKED_NOW, WRONG_CREDENTIALS, FailedLoginError
from factorflow.auth.throttle import Attempt, LoginThrottle, account_subject, client_subject
from factorflow.core.invocation import Actor
from factorflow.errors import UserError
from factorflow.users.errors import StoreUnavailableError
from factorflow.users.identity import User
from factorflow.users.service import UserService


@dataclass(frozen=True)
class LoginResult:
    actor: Actor
    #: The admin's credential version, carried in its JWT; "" for realm users.
    credential_version: str = ""
    user: User | None = None


class UserLogin(Protocol):
    """How a realm user proves who they are at ``POST /auth`` (the webui scope's
    ``login_mode``, decided above this layer): ``mode`` is ``userstore`` (the store's
    password), ``privacyIDEA`` (PIN and OTP of their tokens, checked by ``tokens``) or
    ``disable`` (no login)."""

    def mode(self, session: Session, user: User, client_ip: str) -> str: ...

    def tokens(self, session: Session, user: User, password: str, client_ip: str) -> bool: ...


class StoreLogin:
    """Every user logs in with the user store's password (no webui policies)."""

    def mode(self, session: Session, user: User, client_ip: str) -> str:
        return "userstore"

    def tokens(self, session: Session, user: User, password: str, client_ip: str) -> bool:
        return False


#: privacyIDEA's answer when the login_mode policy disables a user's login.
LOGIN_DISABLED = "The login for this user is disabled."


class _WrongCredentialsError(Exception):
    """Credentials that did not verify (counted as a failed login)."""

    def __init__(self, reason: str, user: User | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user = user


class LoginService:
    def __init__(
        self,
        admins: AdminService,
        users: UserService,
        throttle: LoginThrottle,
        user_login: UserLogin | None = None,
    ) -> None:
        self.admins = admins
        self.users = users
        self.throttle = throttle
        self.user_login: UserLogin = user_login or StoreLogin()

    def login(
        self, session: Session, username: str, password: str, realm: str, client_ip: str
    ) -> LoginResult:
        """Log in ``username``; raises :class:`FailedLoginError` when that fails or is refused."""
        admin_form = not realm and "@" not in username
        admin = self.admins.find(session, username) if admin_form else None
        attempt = self.throttle.begin(
            session, self._account(session, username, realm, admin), client_subject(client_ip)
        )
        try:
            result = self._check(
                session,
                username=username,
                password=password,
                realm=realm,
                admin=admin,
                admin_form=admin_form,
                client_ip=client_ip,
            )
        except _WrongCredentialsError as wrong:
            raise self._failed(session, attempt, wrong) from None
        except StoreUnavailableError as exc:
            # Not counted: an unreachable directory must not lock everybody out.
            raise FailedLoginError(WRONG_CREDENTIALS, audit_info=exc.message) from None
        self.throttle.succeeded(session, attempt)
        return result

    def _account(self, session: Session, username: str, realm: str, admin: Admin | None) -> str:
        if admin is not None:
            return account_subject(admin.username)
        login, realm = self.users.split_login(session, username, realm)
        return account_subject(login, realm or self.users.default_realm(session))

    def _check(
        self,
        session: Session,
        *,
        username: str,
        password: str,
        realm: str,
        admin: Admin | None,
        admin_form: bool,
        client_ip: str = "",
    ) -> LoginResult:
        if admin is not None:
            if self.admins.verify_password(admin, password):
                return LoginResult(
                    Actor(role="admin", username=admin.username), admin.credential_version
                )
            self.users.check_unknown_password(session, username, "", password)
            raise _WrongCredentialsError(WRONG_CREDENTIALS)
        if admin_form:
            self.admins.verify_password(None, password)
        try:
            user = self.users.resolve(session, username, realm)
        except UserError as exc:
            self.users.check_unknown_password(session, username, realm, password)
            raise _WrongCredentialsError(exc.message) from None
        mode = self.user_login.mode(session, user, client_ip)
        if mode == "disable":
            raise _WrongCredentialsError(LOGIN_DISABLED, user)
        if mode == "privacyIDEA":
            verified = self.user_login.tokens(session, user, password, client_ip)
        else:
            verified = self.users.check_password(session, user, password)
        if not verified:
            raise _WrongCredentialsError(WRONG_CREDENTIALS, user)
        return LoginResult(Actor(role="user", username=user.login, realm=user.realm), user=user)

    def _failed(
        self, session: Session, attempt: Attempt, wrong: _WrongCredentialsError
    ) -> FailedLoginError:
        block = self.throttle.failed(session, attempt)
        info = wrong.reason if block is None else f"{wrong.reason}; {block.describe()}"
        if block is not None and block.started:
            return FailedLoginError(LOCKED_NOW, code=LOCKED_CODE, audit_info=info, user=wrong.user)
        return FailedLoginError(WRONG_CREDENTIALS, audit_info=info, user=wrong.user)
