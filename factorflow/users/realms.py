"""Realms: named, ordered groups of resolvers, one of them the default realm.

Realm names are case-insensitive and stored in lower case, as privacyIDEA does.
The first realm created becomes the default realm; when the default realm is
deleted and exactly one realm remains, that one becomes the default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, joinedload

from factorflow.core.checks import check_name
from factorflow.errors import ParameterError
from factorflow.users.errors import RealmConfigError, RealmNotFoundError
from factorflow.users.models import CustomUserAttribute, Realm, RealmResolver, ResolverConfig

#: privacyIDEA's code for "the realm still has custom user attributes".
REALM_HAS_ATTRIBUTES = 908


def normalize(name: str) -> str:
    return name.strip().lower()


def _with_members() -> Select[Realm]:
    # The resolvers are read by nearly every lookup (resolving a user walks them), and
    # a realm has a handful: one statement with the join instead of the selectin's two.
    return select(Realm).options(joinedload(Realm.members))


def find_realm(session: Session, name: str) -> Realm | None:
    """The realm ``name`` (any case) with its resolvers, in one statement."""
    if not name:
        return None
    stmt = _with_members().where(Realm.name == normalize(name))
    return session.execute(stmt).unique().scalar_one_or_none()


def get_realm(session: Session, name: str) -> Realm:
    realm = find_realm(session, name)
    if realm is None:
        raise RealmNotFoundError(f"The realm {name[:130]!r} does not exist.")
    return realm


def default_realm(session: Session) -> Realm | None:
    stmt = _with_members().where(Realm.is_default.is_(True)).order_by(Realm.id)
    # All rows, not first(): one realm arrives as one row per resolver.
    found = session.scalars(stmt).unique().all()
    return found[0] if found else None


def all_realms(session: Session) -> list[Realm]:
    return list(session.scalars(select(Realm).order_by(Realm.name)))


def ordered_members(realm: Realm) -> list[RealmResolver]:
    """Members by ascending priority; no priority sorts last; ties by resolver name."""
    return sorted(
        realm.members,
        key=lambda m: (m.priority is None, m.priority or 0, m.resolver.name),
    )


def save_realm(
    session: Session,
    name: str,
    resolvers: Sequence[ResolverConfig],
    priorities: Mapping[str, int | None],
) -> Realm:
    """Create the realm or replace its resolvers (privacyIDEA's set_realm)."""
    check_name("realm", name)
    if not resolvers:
        raise ParameterError("Missing parameter: 'resolvers'")
    realm = find_realm(session, name)
    if realm is None:
        first = session.scalar(select(Realm.id).limit(1)) is None
        realm = Realm(name=normalize(name), is_default=first)
        session.add(realm)
    # Existing memberships are updated in place: deleting and re-inserting the same
    # (realm, resolver) pair in one flush could trip the unique constraint.
    existing = {member.resolver.name: member for member in realm.members}
    wanted = {row.name for row in resolvers}
    for member in list(realm.members):
        if member.resolver.name not in wanted:
            realm.members.remove(member)
    for row in resolvers:
        current = existing.get(row.name)
        if current is None:
            realm.members.append(RealmResolver(resolver=row, priority=priorities.get(row.name)))
        else:
            current.priority = priorities.get(row.name)
    session.flush()
    return realm


def describe_realm(realm: Realm) -> dict[str, Any]:
    return {
        "id": realm.id,
        "default": realm.is_default,
        "resolver": [
            {
                "name": m.resolver.name,
                "type": m.resolver.type,
                "priority": m.priority,
                "node": "",
            }
            for m in ordered_members(realm)
        ],
    }


def delete_realm(session: Session, name: str, *, delete_custom_attributes: bool = False) -> None:
    realm = get_realm(session, name)
    attributes = select(CustomUserAttribute.id).where(CustomUserAttribute.realm == realm.name)
    if session.scalars(attributes.limit(1)).first() is not None:
        if not delete_custom_attributes:
            raise RealmConfigError(
                f"The realm {realm.name!r} has custom user attributes; "
                "send delete_custom_attributes=1 to delete them with the realm.",
                code=REALM_HAS_ATTRIBUTES,
            )
        for row in session.scalars(
            select(CustomUserAttribute).where(CustomUserAttribute.realm == realm.name)
        ):
            session.delete(row)
    was_default = realm.is_default
    session.delete(realm)
    session.flush()
    if was_default:
        remaining = all_realms(session)
        if len(remaining) == 1:
            remaining[0].is_default = True
            session.flush()


def set_default_realm(session: Session, name: str) -> Realm:
    realm = get_realm(session, name)
    session.execute(update(Realm).where(Realm.id != realm.id).values(is_default=False))
    realm.is_default = True
    session.flush()
    return realm


def clear_default_realm(session: Session) -> None:
    session.execute(update(Realm).values(is_default=False))
    session.flush()
