"""``GET /token/``: privacyIDEA's filters, sorting and paging, and the token object.

``realms`` limits a listing to what a realm-limited administrator may see (see
:meth:`factorflow.policies.decide.RequestPolicies.admin_realms`): a token owned by a
user in one of those realms, or an unowned token in one of them — the rule the admin
authorizer applies to a single token (privacyIDEA's spare tokens shared by several
realms). Tokens in no realm are only listed without such a limit (privacyIDEA's
``tokenlist``); :func:`manageable_in` adds them where an administrator looks for a
token to assign (``getserial``).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from factorflow.core.invocation import Actor
from factorflow.core.params import is_true, split_list
from factorflow.tokens.access import TokenAccess
from factorflow.tokens.base import TokenType
from factorflow.tokens.info import info_dict
from factorflow.tokens.models import Token, TokenInfo, TokenOwner, TokenRealm
from factorflow.tokens.requests import ListRequest
from factorflow.users.identity import User
from factorflow.users.models import Realm

_ESCAPE = "!"

#: A page of tokens: owner (with its realm) and tokeninfo joined to the page's own
#: statement, token realms and groups one statement each for the whole page; the
#: realms' resolver lists are not shown, so not loaded.
_LIST_LOAD = (
    joinedload(Token.owner).joinedload(TokenOwner.realm).lazyload(Realm.members),
    joinedload(Token.info),
    selectinload(Token.realms).joinedload(TokenRealm.realm).lazyload(Realm.members),
    selectinload(Token.groups),
)

SORT_COLUMNS: dict[str, Any] = {
    "serial": Token.serial,
    "id": Token.id,
    "tokentype": Token.tokentype,
    "type": Token.tokentype,
    "description": Token.description,
    "active": Token.active,
    "failcount": Token.failcount,
    "maxfail": Token.maxfail,
    "count": Token.otp_counter,
    "otplen": Token.otplen,
    "rollout_state": Token.rollout_state,
}


def like_pattern(value: str) -> str:
    """privacyIDEA's ``*`` wildcard as a LIKE pattern; literal % and _ stay literal."""
    escaped = value.replace(_ESCAPE, _ESCAPE * 2).replace("%", "!%").replace("_", "!_")
    return escaped.replace("*", "%")


def match(column: Any, value: str) -> ColumnElement[bool]:
    """Equality, or LIKE when the value has wildcards; a comma list matches any."""
    options = [v for v in split_list(value)] or [value]
    clauses: list[ColumnElement[bool]] = []
    for option in options:
        if "*" in option:
            clauses.append(column.like(like_pattern(option), escape=_ESCAPE))
        else:
            clauses.append(column == option)
    return or_(*clauses)


def _in_realm(value: str) -> ColumnElement[bool]:
    names = [name.lower() for name in split_list(value)] or [value.lower()]
    return exists(
        select(TokenRealm.id)
        .join(Realm, Realm.id == TokenRealm.realm_id)
        .where(TokenRealm.token_id == Token.id, match(Realm.name, ",".join(names)))
    )


def _owner(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(TokenOwner.id).where(TokenOwner.token_id == Token.id, *conditions))


def _owned_by(session: Session, user: User) -> ColumnElement[bool]:
    realm = TokenAccess.user_realm(session, user)
    return _owner(
        TokenOwner.resolver == user.resolver,
        TokenOwner.user_id == user.uid,
        TokenOwner.realm_id == realm.id,
    )


def _token_realms() -> Select[int]:
    return select(TokenRealm.id).where(TokenRealm.token_id == Token.id)


def visible_in(realms: Set[str]) -> ColumnElement[bool]:
    """Tokens an administrator limited to ``realms`` (lower case) may see."""
    wanted = select(Realm.id).where(func.lower(Realm.name).in_(sorted(realms)))
    return or_(
        _owner(TokenOwner.realm_id.in_(wanted)),
        and_(~_owner(), exists(_token_realms().where(TokenRealm.realm_id.in_(wanted)))),
    )


def in_no_realm() -> ColumnElement[bool]:
    """Unowned tokens in no realm: every realm administrator's spare tokens."""
    return and_(~_owner(), ~exists(_token_realms()))


def manageable_in(realms: Set[str]) -> ColumnElement[bool]:
    """Tokens an administrator limited to ``realms`` may act on."""
    return or_(visible_in(realms), in_no_realm())


def _tristate(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return is_true(value)


def build_query(
    session: Session,
    access: TokenAccess,
    actor: Actor,
    req: ListRequest,
    realms: Set[str] | None = None,
) -> Select[Token]:
    stmt = select(Token)
    if realms is not None:
        stmt = stmt.where(visible_in(realms))
    user = access.requested_user(session, actor, req.user, req.realm if req.user else None)
    if user is not None:
        stmt = stmt.where(_owned_by(session, user))
    elif req.realm:
        stmt = stmt.where(_in_realm(req.realm))
    if req.tokenrealm:
        stmt = stmt.where(_in_realm(req.tokenrealm))
    if req.serial:
        stmt = stmt.where(match(Token.serial, req.serial))
    if req.type:
        stmt = stmt.where(match(Token.tokentype, req.type.lower()))
    if req.type_list:
        stmt = stmt.where(Token.tokentype.in_([t.lower() for t in split_list(req.type_list)]))
    if req.description:
        stmt = stmt.where(match(Token.description, req.description))
    if req.resolver:
        stmt = stmt.where(_owner(match(TokenOwner.resolver, req.resolver)))
    if req.userid:
        stmt = stmt.where(_owner(TokenOwner.user_id == req.userid))
    assigned = _tristate(req.assigned)
    if assigned is not None:
        stmt = stmt.where(_owner() if assigned else ~_owner())
    active = _tristate(req.active)
    if active is not None:
        stmt = stmt.where(Token.active.is_(active))
    if req.rollout_state:
        stmt = stmt.where(Token.rollout_state == req.rollout_state)
    if req.infokey:
        conditions = [TokenInfo.token_id == Token.id, TokenInfo.key == req.infokey]
        if req.infovalue is not None:
            conditions.append(match(TokenInfo.value, req.infovalue))
        stmt = stmt.where(exists(select(TokenInfo.id).where(*conditions)))
    return stmt


def list_tokens(
    session: Session,
    access: TokenAccess,
    actor: Actor,
    req: ListRequest,
    realms: Set[str] | None = None,
    *,
    types: Mapping[str, type[TokenType]] | None = None,
) -> dict[str, Any]:
    """One page of the tokens ``req`` selects; ``realms`` as in the module docstring;
    ``types`` (the installed token types) classify the tokeninfo keys."""
    types = types or {}
    stmt = build_query(session, access, actor, req, realms)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    # An unknown sort key falls back to the serial, as privacyIDEA's clients expect.
    column = SORT_COLUMNS.get(req.sortby, Token.serial)
    ordered = column.desc() if req.sortdir == "desc" else column.asc()
    page_stmt = stmt.order_by(ordered, Token.id).offset((req.page - 1) * req.pagesize)
    page = page_stmt.limit(req.pagesize).options(*_LIST_LOAD)
    tokens = list(session.scalars(page).unique())
    logins = access.owner_logins(session, tokens)
    rows = [
        token_view(token, logins.get(token.id, ""), types.get(token.tokentype)) for token in tokens
    ]
    last_page = max(1, -(-total // req.pagesize))
    return {
        "tokens": rows,
        "count": total,
        "current": req.page,
        "prev": req.page - 1 if req.page > 1 else None,
        "next": req.page + 1 if req.page < last_page else None,
    }


def token_view(
    token: Token, username: str = "", ttype: type[TokenType] | None = None
) -> dict[str, Any]:
    """The token object of privacyIDEA's list; never the key or the PIN hash.
    ``ttype`` (the token's type) says which of its tokeninfo keys are read-only,
    settable through ``/token/set`` and undeletable (privacyIDEA 3.14's lists)."""
    owner = token.owner
    info = info_dict(token)
    owned = ttype.owned_info_keys if ttype is not None else frozenset()
    readonly = sorted(key for key in info if key in owned)
    return {
        "id": token.id,
        "serial": token.serial,
        "tokentype": token.tokentype,
        "description": token.description,
        "active": token.active,
        "revoked": token.revoked,
        "locked": token.locked,
        "failcount": token.failcount,
        "maxfail": token.maxfail,
        "count": token.otp_counter,
        "count_window": token.count_window,
        "sync_window": token.sync_window,
        "otplen": token.otplen,
        "rollout_state": token.rollout_state,
        "info": info,
        "realms": sorted(tr.realm.name for tr in token.realms),
        "tokengroup": sorted(member.group.name for member in token.groups),
        "resolver": owner.resolver if owner else "",
        "user_id": owner.user_id if owner else "",
        "username": username,
        "user_realm": owner.realm.name if owner else "",
        "user_editable": False,
        "container_serial": "",
        "readonly_info_keys": readonly,
        "settable_info_keys": sorted(ttype.settable_info_keys) if ttype is not None else [],
        "undeletable_info_keys": readonly,
    }
