"""Custom user attributes: key/values Factorflow keeps per user and realm, beside
what the user store holds. They are merged into a user's attributes; names that
identify the user (``username``, ``userid``, ...) cannot be custom attributes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from factorflow.errors import ParameterError
from factorflow.users.identity import User
from factorflow.users.models import CustomUserAttribute

RESERVED = frozenset({"username", "userid", "user_id", "resolver", "realm", "editable", "password"})
MAX_KEY = 255
MAX_VALUE = 4096


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY:
        raise ParameterError(f"Invalid parameter 'key': use 1-{MAX_KEY} characters")
    if key in RESERVED:
        raise ParameterError(f"Invalid parameter 'key': {key!r} is reserved")
    return key


def _where(resolver: str, uid: str, realm: str) -> list[ColumnElement[bool]]:
    return [
        CustomUserAttribute.resolver == resolver,
        CustomUserAttribute.user_id == uid,
        CustomUserAttribute.realm == realm,
    ]


def get_attributes(session: Session, resolver: str, uid: str, realm: str) -> dict[str, str]:
    rows = session.scalars(
        select(CustomUserAttribute)
        .where(*_where(resolver, uid, realm))
        .order_by(CustomUserAttribute.key)
    )
    return {row.key: row.value for row in rows}


def realm_attributes(
    session: Session, realm: str, resolvers: Iterable[str]
) -> dict[tuple[str, str], dict[str, str]]:
    """All custom attributes of a realm's users: (resolver, uid) → {key: value}."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    names = list(resolvers)
    if not names:
        return found
    query = select(CustomUserAttribute).where(
        CustomUserAttribute.realm == realm, CustomUserAttribute.resolver.in_(names)
    )
    for row in session.scalars(query):
        found.setdefault((row.resolver, row.user_id), {})[row.key] = row.value
    return found


def set_attribute(session: Session, user: User, key: str, value: str) -> None:
    check_key(key)
    if len(value) > MAX_VALUE:
        raise ParameterError(f"Invalid parameter 'value': at most {MAX_VALUE} characters")
    owner = _where(user.resolver, user.uid, user.realm)
    row = session.scalar(select(CustomUserAttribute).where(*owner, CustomUserAttribute.key == key))
    if row is None:
        session.add(
            CustomUserAttribute(
                resolver=user.resolver, user_id=user.uid, realm=user.realm, key=key, value=value
            )
        )
    else:
        row.value = value
    session.flush()


def delete_attribute(session: Session, user: User, key: str) -> bool:
    owner = _where(user.resolver, user.uid, user.realm)
    result = session.execute(
        delete(CustomUserAttribute).where(*owner, CustomUserAttribute.key == key)
    )
    return bool(getattr(result, "rowcount", 0))


def delete_user_attributes(session: Session, resolver: str, uid: str) -> None:
    session.execute(
        delete(CustomUserAttribute).where(
            CustomUserAttribute.resolver == resolver, CustomUserAttribute.user_id == uid
        )
    )
