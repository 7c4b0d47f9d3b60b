"""A token's owner and realms, as an enrolment or an assignment sets them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from factorflow.core.dates import timestamp
from factorflow.tokens.info import set_info
from factorflow.tokens.models import Token, TokenOwner, TokenRealm
from factorflow.users.identity import User
from factorflow.users.realms import get_realm


def assign_owner(session: Session, token: Token, user: User) -> None:
    """Make ``user`` the owner and add the user's realm to the token realms."""
    realm = get_realm(session, user.realm)
    owner = token.owner
    if owner is None:
        token.owner = TokenOwner(resolver=user.resolver, user_id=user.uid, realm=realm)
    else:
        # Changed in place: replacing the row would insert before the delete and trip
        # the unique token_id.
        owner.resolver, owner.user_id, owner.realm = user.resolver, user.uid, realm
    set_info(token, "assignment_date", timestamp())
    add_realms(session, token, [realm.name])


def add_realms(session: Session, token: Token, names: list[str]) -> None:
    present = {tr.realm.name for tr in token.realms}
    for name in names:
        realm = get_realm(session, name)
        if realm.name not in present:
            token.realms.append(TokenRealm(realm=realm))
            present.add(realm.name)
