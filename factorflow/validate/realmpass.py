"""The tokens of a realm, for token types whose check authenticates other tokens
(privacyIDEA's ``check_realm_pass``, used by the 4eyes token): see
:class:`~factorflow.tokens.base.RealmPass` and ``ValidateService._realm_pass``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.tokens.models import Token, TokenRealm
from factorflow.users.models import Realm


def realm_tokens(session: Session, realm: str) -> list[Token]:
    """The tokens in ``realm`` (token realms, which include the owner's realm), in
    id order so that concurrent checks lock rows in one order."""
    stmt = (
        select(Token)
        .join(TokenRealm, TokenRealm.token_id == Token.id)
        .join(Realm, Realm.id == TokenRealm.realm_id)
        .where(Realm.name == realm.lower())
        .order_by(Token.id)
    )
    return list(session.scalars(stmt).unique())
