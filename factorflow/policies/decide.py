"""Policy decisions for one request: authentication, authorization and enrollment.

:class:`RequestPolicies` binds the policy service to one request's session and
client address; the validate and token services ask it for an
:class:`~factorflow.policies.authn.AuthPolicy` or
:class:`~factorflow.policies.enroll.EnrollPolicy` for the user they act on. Every
answer comes from the per-request memo of :class:`PolicyService.view`, so asking
twice costs nothing, and a conflict between policies is a PolicyError (303).

:meth:`RequestPolicies.role_view` answers for the values privacyIDEA keeps in the
``admin`` and ``user`` scopes (PIN rules, forced enrolment values, random PINs,
custom attributes): the admin scope matched against the acting admin and the user
acted on, or the user scope against the acting user.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from factorflow.core.invocation import Actor
from factorflow.policies.authn import TYPE_ACTIONS, AuthCacheRule, AuthPolicy, RateLimit, duration
from factorflow.policies.matching import CompiledPolicy, MatchContext, PolicyView
from factorflow.policies.service import PolicyService
from factorflow.tokens.base import TokenType
from factorflow.users.identity import User

#: ``session.info`` key under which the pipeline's authorizer leaves the client address.
CLIENT_KEY = "factorflow.policies.client"


def _str(view: PolicyView, action: str) -> str | None:
    value = view.value(action)
    return None if value is None else str(value)


def _int(view: PolicyView, action: str) -> int | None:
    value = view.value(action)
    return None if value is None or isinstance(value, bool) else int(value)


def _narrower(policy: CompiledPolicy) -> bool:
    """Whether ``policy`` limits more than realms (what a listing filter cannot check)."""
    users = policy.users
    return bool(
        policy.resolvers
        or users.include
        or users.exclude
        or any(condition.active for condition in policy.conditions)
    )


def user_context(actor: Actor, user: User | None, client: str | None) -> MatchContext:
    """What the ``user`` scope matches a request of the user ``actor`` against: its
    realm and login, the client, and from its record ``user`` (None when the store
    does not know it) the user store and the attributes. The user rights of every
    request are checked against it, and the types a user may enrol are listed by it."""
    return MatchContext(
        realm=actor.realm,
        user=actor.username,
        client=client,
        resolver=user.resolver if user else None,
        userinfo=(lambda: dict(user.attributes)) if user else None,
    )


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

    def _context(
        self, user: User | None, realm: str | None, admin: Actor | None = None
    ) -> MatchContext:
        """A request about ``user`` (or ``realm``), by ``admin`` for the admin scope."""
        return MatchContext(
            realm=user.realm if user else realm,
            resolver=user.resolver if user else None,
            user=user.login if user else None,
            adminrealm=admin.realm if admin else None,
            adminuser=admin.username if admin else None,
            client=self.client,
            userinfo=(lambda: dict(user.attributes)) if user else None,
            facts_key=f"{user.resolver}/{user.uid}" if user else "",
        )

    def view(self, scope: str, user: User | None, realm: str | None = None) -> PolicyView:
        return self.service.view(self.session, scope, self._context(user, realm), self.now)

    def role_view(
        self, actor: Actor, user: User | None, realm: str | None = None
    ) -> PolicyView | None:
        """The ``admin`` policies matching ``actor`` (an admin) and ``user``, or the
        ``user`` policies matching ``actor`` (a user); None for other actors (a
        scheduled definition, a handler run by ``/validate/check``)."""
        if actor.is_user:
            return self.view("user", user, realm)
        if not actor.is_admin:
            return None
        ctx = self._context(user, realm, actor)
        return self.service.view(self.session, "admin", ctx, self.now)

    def enrollable(
        self, actor: Actor, types: Mapping[str, bool], user: User | None = None
    ) -> list[str]:
        """The token types (name → self-service) ``actor`` may enrol: privacyIDEA's
        ``GET /auth/rights``. Without a restricting policy of the actor's scope an admin
        may enrol every type and a user the self-service ones; otherwise ``enroll<TYPE>``
        must be granted (for a user, of a self-service type). ``user`` is a user
        actor's record (None: unknown), matched as :func:`user_context` says, so the
        types listed are those ``/token/init`` accepts."""
        scope = "admin" if actor.is_admin else "user"
        if not (actor.is_admin or actor.is_user):
            return []
        candidates = [t for t, self_service in types.items() if actor.is_admin or self_service]
        if not self.service.defined(self.session, scope):
            return candidates
        ctx = (
            MatchContext(adminrealm=actor.realm, adminuser=actor.username, client=self.client)
            if actor.is_admin
            else user_context(actor, user, self.client)
        )
        view = self.service.view(self.session, scope, ctx, self.now)
        return [t for t in candidates if view.has(f"enroll{t.upper()}")]

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
            passthru=authn.has("passthru"),  # "userstore", the only kind Factorflow has
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
            lastauth=duration(_str(authz, "last_auth")),
            auth_cache=AuthCacheRule.parse(_str(authn, "auth_cache")),
            auth_max_success=RateLimit.parse(_str(authz, "auth_max_success")),
            auth_max_fail=RateLimit.parse(_str(authz, "auth_max_fail")),
            type_options={
                action: value
                for action in TYPE_ACTIONS
                if (value := _str(authn, action)) is not None
            },
            names=names,
        )

    def admin_realms(
        self, actor: Actor, right: str, user: User | None = None
    ) -> frozenset[str] | None:
        """The realms (lower case) in which ``actor`` may list objects under ``right``;
        None when the listing is not limited by realm.

        The authorizer checks a right against the *target* of a request; a listing
        has no single target, so it is narrowed to the realms of the admin policies
        that grant the right instead (privacyIDEA's rule for ``GET /token/``). A
        granting policy without a realm condition lifts the limit. With ``user`` (the
        listing is of that user's objects) the policies are matched against the user;
        without one, a granting policy that also names resolvers, users or
        conditions cannot be decided per row and grants nothing to the listing.
        Users and unrestricted admins (no admin policy) get None.
        """
        if not actor.is_admin or not self.service.defined(self.session, "admin"):
            return None
        view = self.service.view(self.session, "admin", self._context(user, None, actor), self.now)
        realms: set[str] = set()
        for policy in view.matched:
            if right not in policy.action or (user is None and _narrower(policy)):
                continue
            if not policy.realms:
                return None
            realms |= policy.realms
        return frozenset(realms)


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
