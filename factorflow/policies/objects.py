"""The request's objects as authorization targets, looked up on its session.

Users are resolved with the same user service call as the use cases (and its
per-request memo), so the authorizer judges the user the service will act on. A
user that does not resolve is placed in the realm the request names — after
``user@realm`` splitting — or the default realm; with neither, in the realm ``""``
that no realm-limited policy names.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.errors import FactorflowError
from factorflow.policies.targets import Target
from factorflow.tokens.access import TokenAccess
from factorflow.tokens.models import Token
from factorflow.users.identity import User
from factorflow.users.models import Realm, RealmResolver, ResolverConfig
from factorflow.users.realms import normalize
from factorflow.users.service import UserService


def _user_target(label: str, user: User) -> Target:
    return Target(
        label, (user.realm,), resolver=user.resolver, user=user.login,
        userinfo=lambda: dict(user.attributes), facts_key=f"{user.resolver}/{user.uid}",
    )  # fmt: skip


class DbObjects:
    """:class:`~factorflow.policies.targets.ObjectLookup` on one request's session."""

    def __init__(self, session: Session, users: UserService, access: TokenAccess) -> None:
        self.session = session
        self.users = users
        self.access = access

    def token(self, serial: str) -> Target | None:
        token = TokenAccess.find(self.session, serial)
        if token is None:
            return None
        label = f"token {token.serial}"

        def tokeninfo() -> dict[str, str]:
            return {i.key: i.value for i in token.info}

        owner = token.owner
        if owner is None:
            realms = tuple(sorted(member.realm.name for member in token.realms))
            return Target(label, realms, any_realm=True, tokeninfo=tokeninfo, facts_key=serial)
        user = self.access.owner_of(self.session, token)
        return Target(
            label, (owner.realm.name,), resolver=owner.resolver,
            # An owner whose store cannot answer is nobody a user-limited policy names.
            user=user.login if user else "",
            userinfo=(lambda: dict(user.attributes)) if user else None,
            tokeninfo=tokeninfo, facts_key=serial,
        )  # fmt: skip

    def user(self, login: str, realm: str) -> Target:
        found = self._resolve(login, realm)
        if found is not None:
            return _user_target(f"user {found.login}@{found.realm}", found)
        name, named_realm = self.users.split_login(self.session, login, realm)
        where = normalize(named_realm) if named_realm else self.users.default_realm(self.session)
        return Target(f"user {name}@{where}", (where,), user=name)

    def store_user(self, login: str, resolver: str, realm: str) -> Target:
        if resolver:
            return self.resolver(resolver, login)
        found = self._resolve(login, realm)
        if found is None:
            return self.user(login, realm)
        return self.resolver(found.resolver, found.login)

    def resolver(self, name: str, login: str | None = None) -> Target:
        stmt = (
            select(Realm.name)
            .join(RealmResolver, RealmResolver.realm_id == Realm.id)
            .join(ResolverConfig, ResolverConfig.id == RealmResolver.resolver_id)
            .where(ResolverConfig.name == name)
            .order_by(Realm.name)
        )
        realms = tuple(self.session.scalars(stmt))
        label = f"user {login} in resolver {name}" if login else f"resolver {name}"
        return Target(label, realms, resolver=name, user=login)

    def realm(self, name: str) -> Target:
        realm = normalize(name)
        return Target(f"realm {realm}", (realm,))

    def default_realm(self) -> str | None:
        return self.users.default_realm(self.session) or None

    def token_realms(self, serial: str) -> tuple[frozenset[str], str | None] | None:
        token: Token | None = TokenAccess.find(self.session, serial) if serial else None
        if token is None:
            return None
        realms = frozenset(member.realm.name for member in token.realms)
        return realms, token.owner.realm.name if token.owner else None

    def realm_resolvers(self, realm: str) -> frozenset[str]:
        return self.users.realm_resolvers(self.session, realm)

    def _resolve(self, login: str, realm: str) -> User | None:
        try:
            return self.users.resolve(self.session, login, realm)
        except FactorflowError:
            return None
