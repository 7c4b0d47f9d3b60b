"""Policy decisions for one request: authentication, authorization and enrollment.

:class:`RequestPolicies` binds the policy service to one request's session and
client address; the validate and token services ask it for an
:class:`~factorflow.policies.authn.AuthPolicy` or
:class:`~factorflow.policies.enroll.EnrollPolicy` for the user they act on. Every
answer comes from the per-request memo of :class:`PolicyService.view`, so asking
twice costs nothing, and a conflict between policies is a PolicyError (303).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from factorflow.policies.authn import AuthPolicy, duration
from factorflow.policies.enroll import EnrollPolicy, forced_values
from factorflow.policies.matching import MatchContext, PolicyView
from factorflow.policies.service import PolicyService
from factorflow.tokens.base import TokenType
from factorflow.users.identity import User

#: ``session.info`` key under which the pipeline's authorizer leaves the client address.
CLIENT_KEY = "factorflow.policies.client"
_FORCED = (
    "hotp_otplen", "hotp_hashlib", "totp_otplen", "totp_hashlib", "totp_timestep",
)  # fmt: skip


def _str(view: PolicyView, action: str) -> str | None:
    value = view.value(action)
    return None if value is None else str(value)


def _int(view: PolicyView, action: str) -> int | None:
    value = view.value(action)
    return None if value is None or isinstance(value, bool) else int(value)


class RequestPolicies:
    def __init__(
        self,
        service: PolicyService,
        session: Session,
        client: str | None = None,
        now: datetime | None = None,
    ) -> None:
        self.service = service
        self.session = session
        self.client = client if client is not None else session.info.get(CLIENT_KEY)
        self.now = now

    def view(self, scope: str, user: User | None, realm: str | None = None) -> PolicyView:
        ctx = MatchContext(
            realm=user.realm if user else realm,
            resolver=user.resolver if user else None,
            user=user.login if user else None,
            client=self.client,
            userinfo=(lambda: dict(user.attributes)) if user else None,
            facts_key=f"{user.resolver}/{user.uid}" if user else "",
        )
        return self.service.view(self.session, scope, ctx, self.now)

    def authentication(self, user: User | None, realm: str | None = None) -> AuthPolicy:
        """The authentication + authorization decisions for ``user`` (None: unknown user)."""
        authn = self.view("authentication", user, realm)
        authz = self.view("authorization", user, realm)
        names = tuple(dict.fromkeys([*authn.names, *authz.names]))
        if not names:
            return AuthPolicy()
        pattern = _str(authz, "serial")
        return AuthPolicy(
            otppin=_str(authn, "otppin") or "tokenpin",
            passthru=authn.has("passthru"),
            pass_on_no_token=authn.has("passOnNoToken"),
            pass_on_no_user=authn.has("passOnNoUser"),
            challenge_types=frozenset(t.lower() for t in authn.values("challenge_response")),
            challenge_text=_str(authn, "challenge_text"),
            reset_all_user_tokens=authn.has("reset_all_user_tokens"),
            tokentypes=frozenset(t.lower() for t in authz.values("tokentype")),
            serial_pattern=pattern,
            setrealm=_str(authz, "setrealm"),
            no_detail_on_success=authz.has("no_detail_on_success"),
            no_detail_on_fail=authz.has("no_detail_on_fail"),
            add_user_in_response=authz.has("add_user_in_response"),
            add_resolver_in_response=authz.has("add_resolver_in_response"),
            lastauth=duration(_str(authz, "lastauth")),
            names=names,
        )

    def enrollment(self, user: User | None, realm: str | None = None) -> EnrollPolicy:
        """The enrollment decisions for a token enrolled for ``user`` (or in ``realm``)."""
        view = self.view("enrollment", user, realm)
        if not view.matched:
            return EnrollPolicy()
        forced: dict[str, Any] = {action: view.value(action) for action in _FORCED}
        return EnrollPolicy(
            max_token_per_user=_int(view, "max_token_per_user"),
            max_token_per_realm=_int(view, "max_token_per_realm"),
            pin_minlength=_int(view, "otp_pin_minlength"),
            pin_maxlength=_int(view, "otp_pin_maxlength"),
            pin_contents=_str(view, "otp_pin_contents"),
            forced=forced_values(forced),
            issuer=_str(view, "tokenissuer"),
            label=_str(view, "tokenlabel"),
            change_pin_on_first_use=view.has("change_pin_on_first_use"),
            names=tuple(view.names),
        )


class PolicyChallengeSelector:
    """The validate service's challenge selector with privacyIDEA's
    ``challenge_response`` policy: a type answers a PIN alone with a challenge when it
    does so by itself (email, SMS) or an authentication policy for the user names it."""

    def __init__(self, service: PolicyService) -> None:
        self.service = service

    def __call__(self, session: Session, ttype: TokenType, user: User | None) -> bool:
        if ttype.challenge_response:
            return True
        decided = RequestPolicies(self.service, session).authentication(user)
        return ttype.type_name in decided.challenge_types
