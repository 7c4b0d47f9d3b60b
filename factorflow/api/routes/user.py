"""/user: list, add, change and delete realm users; custom user attributes.

Admins may do everything; a user-role JWT may list itself and read its own custom
attributes, and its identity overrides any ``user``/``realm`` parameters. Setting
and deleting custom attributes follows privacyIDEA's ``set_custom_user_attributes``
/ ``delete_custom_user_attributes`` values (:mod:`factorflow.policies.attributes`):
for an admin once admin policies restrict, for a user always (no user policy: no
attribute); ``GET /user/editable_attributes/`` says what they allow.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.core.params import PiBool
from factorflow.errors import MissingParameterError, ParameterError, PolicyError
from factorflow.pipeline import Access
from factorflow.policies import attributes
from factorflow.policies.decide import RequestPolicies
from factorflow.policies.matching import PolicyView
from factorflow.users.base import STANDARD_ATTRIBUTES
from factorflow.users.errors import UserNotFoundError
from factorflow.users.identity import User
from factorflow.users.service import SEARCHABLE

routes = Routes("user")

MAX_ATTRIBUTE = 1024


def attribute_params(
    params: BaseModel, allowed: frozenset[str] | tuple[str, ...]
) -> dict[str, str]:
    """Free parameters that name user attributes, as strings of bounded length."""
    found: dict[str, str] = {}
    for key, value in (params.model_extra or {}).items():
        if key not in allowed or value is None:
            continue
        if not isinstance(value, str | int | float):
            raise ParameterError(f"Invalid parameter {key!r}: expected a string")
        text = str(value)
        if len(text) > MAX_ATTRIBUTE:
            raise ParameterError(f"Invalid parameter {key!r}: at most {MAX_ATTRIBUTE} characters")
        found[key] = text
    return found


class UserListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    realm: str = Field(default="", max_length=120)
    resolver: str = Field(default="", max_length=120)
    username: str = Field(default="", max_length=320)
    user: str = Field(default="", max_length=320)
    include_custom_attributes: PiBool = False


class UserAddParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    user: str = Field(min_length=1, max_length=320)
    resolver: str = Field(min_length=1, max_length=120)
    realm: str = Field(default="", max_length=120)
    password: str | None = Field(default=None, max_length=4096)


class UserUpdateParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    user: str = Field(min_length=1, max_length=320)
    realm: str = Field(default="", max_length=120)
    resolver: str = Field(default="", max_length=120)
    password: str | None = Field(default=None, max_length=4096)


class UserDeleteParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    resolver: str = Field(min_length=1, max_length=120)
    username: str = Field(min_length=1, max_length=320)


class AttributeSetParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    user: str = Field(min_length=1, max_length=320)
    realm: str = Field(default="", max_length=120)
    key: str = Field(min_length=1, max_length=255)
    value: str = Field(max_length=4096)


class AttributeGetParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    user: str = Field(default="", max_length=320)
    realm: str = Field(default="", max_length=120)
    key: str = Field(default="", max_length=255)


class AttributeDeleteParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    attrkey: str = Field(min_length=1, max_length=255)
    username: str = Field(min_length=1, max_length=320)
    realm: str = Field(min_length=1, max_length=120)


def _own_or_given(call: Call[Any], login: str, realm: str) -> User:
    """The caller itself for user-role JWTs, else the named user."""
    users = call.services.users
    if call.actor.is_user:
        user = users.resolve(call.session, call.actor.username, call.actor.realm)
    else:
        if not login:
            raise MissingParameterError("user")
        user = users.resolve(call.session, login, realm)
    call.audit.note_user(user.login, user.realm, user.resolver)
    return user


def _attribute_rules(call: Call[Any], user: User) -> PolicyView | None:
    """The policies deciding which custom attributes of ``user`` the caller may change;
    None when nothing restricts (an admin while no admin policy holds a right)."""
    services = call.services
    if call.actor.is_admin and not services.policies.defined(call.session, "admin"):
        return None
    policies = RequestPolicies(services.policies, call.session, call.inv.client_ip)
    return policies.role_view(call.actor, user)


def _listing(call: Call[UserListParams]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    p = call.params
    users = call.services.users
    if call.actor.is_user:
        me = _own_or_given(call, "", "")
        return [users.user_info(call.session, me)], {}
    filters = attribute_params(p, SEARCHABLE)
    login = p.username or p.user
    if login:
        filters["username"] = login
    # An admin whose admin policies grant userlist only in some realms lists only those
    # (the authorizer checks a named realm; a listing without one is narrowed here).
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    allowed = policies.admin_realms(call.actor, "userlist")
    realm_names = [p.realm or ""] if allowed is None or p.realm else sorted(allowed)
    # A user in two allowed realms is listed once.
    found: dict[tuple[str, str], dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for realm in realm_names:
        listing = users.list_users(
            call.session,
            realm=realm,
            resolver=p.resolver,
            filters=filters,
            include_custom=p.include_custom_attributes,
        )
        skipped.update(listing.skipped)
        for entry in listing.users:
            found.setdefault((str(entry.get("resolver")), str(entry.get("userid"))), entry)
    detail = {"skipped_resolvers": skipped} if skipped else {}
    return list(found.values()), detail


@routes.route(
    "GET", "/user/", event="user_list", params=UserListParams, access=Access.AUTHENTICATED
)
def list_users(call: Call[UserListParams]) -> Outcome:
    """List users of a realm or resolver; ``*`` is a wildcard in filters."""
    found, detail = _listing(call)
    return Outcome(value=found, detail=detail)


@routes.route(
    "GET", "/user/count", event="user_count", params=UserListParams, access=Access.AUTHENTICATED
)
def count_users(call: Call[UserListParams]) -> Outcome:
    """Count the users a listing with the same parameters would return."""
    found, detail = _listing(call)
    return Outcome(value=len(found), detail=detail)


@routes.route(
    "POST", "/user", "/user/", event="user_add", params=UserAddParams, access=Access.ADMIN
)
def add_user(call: Call[UserAddParams]) -> Outcome:
    """Add a user to an editable resolver; returns the new user id."""
    p = call.params
    call.audit.note_user(p.user, p.realm, p.resolver)
    attributes = attribute_params(p, STANDARD_ATTRIBUTES)
    uid = call.services.users.add_user(call.session, p.resolver, p.user, attributes, p.password)
    return Outcome(value=uid)


@routes.route(
    "PUT", "/user", "/user/", event="user_update", params=UserUpdateParams, access=Access.ADMIN
)
def update_user(call: Call[UserUpdateParams]) -> Outcome:
    """Change attributes or the password of a user in an editable resolver."""
    p = call.params
    users = call.services.users
    if p.resolver:
        record = users.store_for(call.session, p.resolver).find(p.user)
        if record is None:
            raise UserNotFoundError(
                f"The user {p.user[:100]!r} does not exist in resolver {p.resolver!r}."
            )
        user = users.get_user(call.session, p.realm, p.resolver, record.uid)
    else:
        user = users.resolve(call.session, p.user, p.realm)
    call.audit.note_user(user.login, user.realm, user.resolver)
    attributes = attribute_params(p, tuple(a for a in STANDARD_ATTRIBUTES if a != "username"))
    users.update_user(call.session, user, attributes, p.password)
    return Outcome(value=True)


@routes.route(
    "DELETE",
    "/user/{resolver}/{username}",
    event="user_delete",
    params=UserDeleteParams,
    access=Access.ADMIN,
)
def delete_user(call: Call[UserDeleteParams]) -> Outcome:
    """Delete a user from an editable resolver, with its custom attributes."""
    p = call.params
    call.audit.note_user(p.username, "", p.resolver)
    call.services.users.delete_user(call.session, p.resolver, p.username)
    return Outcome(value=True)


@routes.route(
    "POST",
    "/user/attribute",
    event="set_custom_user_attribute",
    params=AttributeSetParams,
    access=Access.AUTHENTICATED,
)
def set_attribute(call: Call[AttributeSetParams]) -> Outcome:
    """Set a custom attribute of a user (users: their own, as their policies allow)."""
    p = call.params
    user = _own_or_given(call, p.user, p.realm)
    rules = _attribute_rules(call, user)
    if rules is not None and not attributes.may_set(rules, p.key, p.value):
        raise PolicyError(f"You are not allowed to set the custom user attribute {p.key[:60]}!")
    call.services.users.set_custom_attribute(call.session, user, p.key, p.value)
    return Outcome(value=True)


@routes.route(
    "GET",
    "/user/attribute",
    event="get_user_attribute",
    params=AttributeGetParams,
    access=Access.AUTHENTICATED,
)
def get_attribute(call: Call[AttributeGetParams]) -> Outcome:
    """A user's custom attributes, or the value of one (``key``; null when unset)."""
    p = call.params
    user = _own_or_given(call, p.user, p.realm)
    values = call.services.users.custom_attributes(call.session, user)
    return Outcome(value=values.get(p.key) if p.key else values)


@routes.route(
    "GET", "/user/editable_attributes/", event="get_editable_attributes",
    params=AttributeGetParams, access=Access.AUTHENTICATED,
)  # fmt: skip
def editable_attributes(call: Call[AttributeGetParams]) -> Outcome:
    """The custom attributes the caller may set (``set``: key → values, ``*`` any) and
    delete (``delete``: keys) for ``user`` (users: for themselves)."""
    p = call.params
    user = _own_or_given(call, p.user, p.realm)
    return Outcome(value=attributes.editable(_attribute_rules(call, user)))


@routes.route(
    "DELETE", "/user/attribute/{attrkey}/{username}/{realm}", event="delete_custom_user_attribute",
    params=AttributeDeleteParams, access=Access.AUTHENTICATED,
)  # fmt: skip
def delete_attribute(call: Call[AttributeDeleteParams]) -> Outcome:
    """Delete a custom attribute of a user; the value says whether it existed."""
    p = call.params
    actor = call.actor
    if actor.is_user and (p.username, p.realm.lower()) != (actor.username, actor.realm.lower()):
        raise PolicyError("User is not allowed to delete attributes of other users.")
    user = _own_or_given(call, p.username, p.realm)
    rules = _attribute_rules(call, user)
    if rules is not None and not attributes.may_delete(rules, p.attrkey):
        raise PolicyError(
            f"You are not allowed to delete the custom user attribute {p.attrkey[:60]}!"
        )
    return Outcome(value=call.services.users.delete_custom_attribute(call.session, user, p.attrkey))
