"""Finding tokens on behalf of an actor.

Administrators see every token. A user-role actor sees only tokens owned by the
user of its JWT (resolver, user id and realm): its ``user``/``realm`` parameters are
replaced by its own identity, and another user's serial is answered exactly like an
unknown serial, so token existence never leaks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, joinedload, lazyload

from factorflow.core.invocation import Actor
from factorflow.core.params import split_list
from factorflow.errors import FactorflowError, MissingParameterError
from factorflow.tokens.errors import InvalidSerialError, TokenNotFoundError
from factorflow.tokens.models import Token, TokenOwner
from factorflow.users.identity import User
from factorflow.users.models import Realm
from factorflow.users.realms import get_realm, normalize

#: Serials Factorflow generates or accepts at enrolment.
SERIAL_PATTERN = re.compile(r"^[A-Za-z0-9_.:@+\-]{1,64}$")


#: How a token is loaded to be checked: with its owner (and the owner's realm) and its
#: tokeninfo in the same statement — an authentication reads all three. The owner's
#: realm's resolvers, the token realms and groups are loaded only if read (an event
#: condition may): the check has no use for them, and they were three statements more,
#: twice on SQLite (prepare and check). ``user_tokens`` fills the owner from its own
#: join, so the owner must stay first.
_CHECK_LOAD = (
    joinedload(Token.owner).joinedload(TokenOwner.realm).lazyload(Realm.members),
    joinedload(Token.info),
    lazyload(Token.realms),
    lazyload(Token.groups),
)


class UserDirectory(Protocol):
    """What the token use cases need from the user service."""

    def resolve(self, session: Session, login: str, realm: str) -> User: ...

    def get_user(self, session: Session, realm: str, resolver: str, uid: str) -> User | None: ...

    def logins(
        self, session: Session, owners: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], str]: ...


def check_serial(serial: str) -> str:
    """A single serial as a management endpoint accepts it (no wildcards)."""
    serial = serial.strip()
    if not serial or "*" in serial or "%" in serial:
        raise InvalidSerialError()
    return serial


def check_new_serial(serial: str) -> str:
    if not SERIAL_PATTERN.match(serial):
        raise InvalidSerialError()
    return serial


class TokenAccess:
    def __init__(self, users: UserDirectory) -> None:
        self.users = users

    # -- users -------------------------------------------------------------------
    def actor_user(self, session: Session, actor: Actor) -> User | None:
        """The user behind a user-role actor; None for administrators."""
        if not actor.is_user:
            return None
        return self.users.resolve(session, actor.username, actor.realm)

    def requested_user(
        self, session: Session, actor: Actor, login: str | None, realm: str | None
    ) -> User | None:
        """The user a request is about: the actor itself for user roles, else the
        ``user``/``realm`` parameters (None when no user was given)."""
        if actor.is_user:
            return self.actor_user(session, actor)
        if not login:
            return None
        return self.users.resolve(session, login, realm or "")

    def owner_of(self, session: Session, token: Token) -> User | None:
        owner = token.owner
        if owner is None:
            return None
        try:
            return self.users.get_user(session, owner.realm.name, owner.resolver, owner.user_id)
        except FactorflowError:
            # A store that is down must not hide the token from administrators.
            return None

    def owner_logins(self, session: Session, tokens: Iterable[Token]) -> dict[int, str]:
        """The owner's login of each token by token id ("" for none, or an owner the
        store cannot answer for), the owners looked up together: a page of tokens
        costs no statement per owner."""
        owners = {
            token.id: (owner.resolver, owner.user_id)
            for token in tokens
            if (owner := token.owner) is not None
        }
        logins = self.users.logins(session, owners.values())
        return {token_id: logins[owner] for token_id, owner in owners.items()}

    @staticmethod
    def user_realm(session: Session, user: User) -> Realm:
        return get_realm(session, user.realm)

    @staticmethod
    def owned_by(token: Token, user: User) -> bool:
        owner = token.owner
        return (
            owner is not None
            and owner.resolver == user.resolver
            and owner.user_id == user.uid
            and owner.realm.name == user.realm
        )

    # -- tokens ------------------------------------------------------------------
    @staticmethod
    def find(session: Session, serial: str) -> Token | None:
        stmt = select(Token).where(Token.serial == serial).options(*_CHECK_LOAD)
        return session.execute(stmt).unique().scalar_one_or_none()

    def user_tokens(self, session: Session, user: User) -> list[Token]:
        if not user.realm:
            return []
        # One statement: the realm is matched in the join (validate_check's hot path),
        # and the same joins fill the owner.
        stmt = (
            select(Token)
            .join(TokenOwner, TokenOwner.token_id == Token.id)
            .join(Realm, Realm.id == TokenOwner.realm_id)
            .where(
                TokenOwner.resolver == user.resolver,
                TokenOwner.user_id == user.uid,
                Realm.name == normalize(user.realm),
            )
            .order_by(Token.id)
            .options(
                contains_eager(Token.owner)
                .contains_eager(TokenOwner.realm)
                .lazyload(Realm.members),
                *_CHECK_LOAD[1:],
            )
        )
        return list(session.scalars(stmt).unique())

    def get(self, session: Session, actor: Actor, serial: str) -> Token:
        """One token by serial, visible to ``actor``; 404 otherwise."""
        token = self.find(session, check_serial(serial))
        if token is None:
            raise TokenNotFoundError()
        user = self.actor_user(session, actor)
        if user is not None and not self.owned_by(token, user):
            raise TokenNotFoundError()
        return token

    def select(
        self,
        session: Session,
        actor: Actor,
        serial: str | None,
        login: str | None,
        realm: str | None,
        *,
        serials: Iterable[str] = (),
        many: bool = False,
    ) -> list[Token]:
        """Tokens by serial (a comma list or ``serials`` when ``many``) or all tokens of
        a user. With both, the serials must belong to the user. Never empty: nothing
        found is a 404."""
        names = [*split_list(serial), *serials] if many else ([serial] if serial else [])
        user = self.requested_user(session, actor, login, realm)
        if not names:
            if user is None:
                raise MissingParameterError("serial")
            tokens = self.user_tokens(session, user)
            if not tokens:
                raise TokenNotFoundError()
            return tokens
        tokens = []
        for name in dict.fromkeys(names):
            token = self.find(session, check_serial(name))
            if token is None or (user is not None and not self.owned_by(token, user)):
                raise TokenNotFoundError()
            tokens.append(token)
        return tokens
