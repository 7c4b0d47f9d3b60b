"""Options of the LDAP user store, under privacyIDEA's ``ldapresolver`` option names.

Values arrive as the strings privacyIDEA's clients send (``"1"``/``"True"`` for
booleans, ``USERINFO`` as a JSON object or privacyIDEA's Python-dict-looking text);
each is checked here, without network access, and a bad one is named in the error.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

import yaml
from ldap3.core.exceptions import LDAPInvalidDnError, LDAPInvalidFilterError
from ldap3.operation.search import parse_filter
from ldap3.utils.dn import parse_dn
from pydantic import BeforeValidator, Field, field_serializer, field_validator

from factorflow.core.describe import UI_TYPE, Secret
from factorflow.core.params import PiBool
from factorflow.core.untrusted import UntrustedInputError, json_loads, yaml_load
from factorflow.users.base import StoreOptions

__all__ = ["UID_DN", "UID_ENTRYUUID", "UID_OBJECTGUID", "LdapOptions", "LdapServer"]

UID_DN = "DN"
UID_ENTRYUUID = "entryUUID"
UID_OBJECTGUID = "objectGUID"
_SPECIAL_UID_TYPES = {t.lower(): t for t in (UID_DN, UID_ENTRYUUID, UID_OBJECTGUID)}
#: An attribute description (RFC 4512 §2.5) without options, or a numeric OID.
_ATTRIBUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]{0,63}|[0-9]+(?:\.[0-9]+)+)$")
#: Names user attributes may have on our side (privacyIDEA's, plus custom ones).
_OUR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_DEFAULT_PORTS = {"ldap": 389, "ldaps": 636}


def checked_filter(value: str, example: str) -> str:
    """``value`` if it is a privacyIDEA search filter: a sequence of parenthesised terms
    that all must hold (``example`` is named in the refusal)."""
    try:
        parse_filter(
            f"(&{value})", None, auto_escape=False, auto_encode=False, validator=None,
            check_names=False,
        )  # fmt: skip
    except LDAPInvalidFilterError:
        raise ValueError(f"is not an LDAP filter, e.g. {example}") from None
    return value


class LdapServer:
    """One entry of ``LDAPURI``: scheme, host and port."""

    __slots__ = ("host", "port", "use_ssl")

    def __init__(self, host: str, port: int, use_ssl: bool) -> None:
        self.host, self.port, self.use_ssl = host, port, use_ssl

    def __repr__(self) -> str:
        return f"{'ldaps' if self.use_ssl else 'ldap'}://{self.host}:{self.port}"


def parse_uris(value: str) -> list[LdapServer]:
    """``ldap://a:389, ldaps://b`` → servers in the given order; ValueError if unusable."""
    servers: list[LdapServer] = []
    for item in filter(None, re.split(r"[\s,]+", value.strip())):
        try:
            parts = urlsplit(item)
            port = parts.port
        except ValueError:
            raise ValueError(f"{item[:100]!r} is not an LDAP URI") from None
        if parts.scheme.lower() not in _DEFAULT_PORTS:
            raise ValueError(f"{item[:100]!r}: the scheme must be ldap:// or ldaps://")
        if not parts.hostname:
            raise ValueError(f"{item[:100]!r} names no host")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError(f"{item[:100]!r}: give only scheme, host and port")
        scheme = parts.scheme.lower()
        servers.append(
            LdapServer(parts.hostname, port or _DEFAULT_PORTS[scheme], scheme == "ldaps")
        )
    if not servers:
        raise ValueError("give at least one ldap:// or ldaps:// URI")
    return servers


def _check_dn(value: str) -> str:
    try:
        parse_dn(value)
    except (LDAPInvalidDnError, ValueError, IndexError):
        raise ValueError(f"{value[:200]!r} is not a distinguished name") from None
    return value


def _parse_userinfo(value: object) -> object:
    if not isinstance(value, str):
        return value
    if not value.strip():
        return {}
    try:
        return json_loads(value, "USERINFO")
    except UntrustedInputError:
        pass
    # privacyIDEA's UI stores USERINFO as a Python dict literal ('single quotes');
    # a YAML flow mapping reads that without evaluating anything.
    try:
        parsed = yaml_load(value, "USERINFO")
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError("must be a JSON object of attribute → LDAP attribute")
    return parsed


def _split_names(value: object) -> object:
    if isinstance(value, str):
        # Accepts "a, b" as well as privacyIDEA's "['a', 'b']".
        return [n.strip(" '\"") for n in value.strip().strip("[]").split(",") if n.strip(" '\"")]
    return value


class LdapOptions(StoreOptions):
    uri: str = Field(
        alias="LDAPURI",
        min_length=1,
        max_length=2048,
        title="Server URI",
        description="ldap://host or ldaps://host[:port]; several, separated by commas or "
        "blanks, form a pool tried in order.",
    )
    base: str = Field(
        alias="LDAPBASE",
        min_length=1,
        max_length=1024,
        title="Search base",
        description="The DN under which users are searched, e.g. ou=people,dc=example,dc=org.",
    )
    bind_dn: str = Field(
        default="",
        alias="BINDDN",
        max_length=1024,
        title="Bind DN",
        description="The DN the server binds as to search; empty: anonymous.",
    )
    bind_password: Secret = Field(
        default="",
        alias="BINDPW",
        max_length=1024,
        title="Bind password",
    )
    login_attributes: Annotated[list[str], BeforeValidator(_split_names)] = Field(
        alias="LOGINNAMEATTRIBUTE",
        min_length=1,
        max_length=8,
        title="Login name attribute",
        description="The attribute users log in with, e.g. uid or sAMAccountName; several, "
        "comma-separated, are tried in order.",
    )
    search_filter: str = Field(
        default="(objectClass=*)",
        alias="LDAPSEARCHFILTER",
        max_length=2048,
        title="Search filter",
        description="Terms that every user entry matches, e.g. (objectClass=inetOrgPerson).",
    )
    userinfo: Annotated[dict[str, str], BeforeValidator(_parse_userinfo)] = Field(
        default_factory=dict,
        alias="USERINFO",
        title="Attribute map (JSON)",
        description='Our attribute → LDAP attribute, e.g. {"email": "mail", "givenname": '
        '"givenName", "surname": "sn", "mobile": "mobile"}.',
        json_schema_extra={UI_TYPE: "text"},
    )
    uid_type: str = Field(
        default=UID_DN,
        alias="UIDTYPE",
        max_length=64,
        title="UID type",
        description="What identifies a user for good: DN, entryUUID, objectGUID or a unique "
        "attribute.",
    )
    no_referrals: PiBool = Field(
        default=False,
        alias="NOREFERRALS",
        title="Do not follow referrals",
    )
    tls_verify: PiBool = Field(
        default=True,
        alias="TLS_VERIFY",
        title="Verify the TLS certificate",
    )
    tls_ca_file: str = Field(
        default="",
        alias="TLS_CA_FILE",
        max_length=4096,
        title="CA certificate file",
        description="PEM file of the CAs to verify the server against; empty: the system's.",
    )
    tls_version: str = Field(
        default="",
        alias="TLS_VERSION",
        max_length=16,
        title="TLS version",
        description="Accepted for privacyIDEA compatibility; Python's defaults (TLS 1.2 or "
        "newer) apply.",
    )
    start_tls: PiBool = Field(
        default=False,
        alias="START_TLS",
        title="Use STARTTLS",
        description="Upgrade an ldap:// connection to TLS.",
    )
    timeout: int = Field(
        default=5,
        alias="TIMEOUT",
        ge=1,
        le=120,
        title="Timeout (seconds)",
        description="For connecting and for each answer.",
    )
    size_limit: int = Field(
        default=500,
        alias="SIZELIMIT",
        ge=1,
        le=100_000,
        title="Size limit",
        description="The most entries one search returns.",
    )
    cache_timeout: int = Field(
        default=120,
        alias="CACHE_TIMEOUT",
        ge=0,
        le=86_400,
        title="Cache timeout (seconds)",
        description="How long looked-up users are remembered; 0: not at all.",
    )
    serverpool_rounds: int = Field(
        default=2,
        alias="SERVERPOOL_ROUNDS",
        ge=1,
        le=10,
        title="Server pool rounds",
        description="How often the pool of servers is tried before a lookup fails.",
    )
    serverpool_skip: int = Field(
        default=30,
        alias="SERVERPOOL_SKIP",
        ge=0,
        le=3600,
        title="Server pool skip (seconds)",
        description="How long a server that did not answer is left out of the pool.",
    )
    pool_size: int = Field(
        default=5,
        alias="POOLSIZE",
        ge=1,
        le=50,
        title="Connection pool size",
        description="Connections kept open to the directory for lookups (not for password binds).",
    )
    editable: PiBool = Field(
        default=False,
        alias="EDITABLE",
        title="Users can be edited",
        description="Not supported for LDAP: the store is read-only.",
    )
    object_classes: str = Field(
        default="",
        alias="OBJECT_CLASSES",
        max_length=1024,
        title="Object classes",
        description="privacyIDEA's option for new entries; kept, not used (read-only store).",
    )
    dn_template: str = Field(
        default="",
        alias="DN_TEMPLATE",
        max_length=1024,
        title="DN template",
        description="privacyIDEA's option for new entries; kept, not used (read-only store).",
    )
    multivalue_attributes: Annotated[list[str], BeforeValidator(_split_names)] = Field(
        default_factory=list,
        alias="MULTIVALUEATTRIBUTES",
        max_length=32,
        title="Multi-value attributes",
        description="Attributes read as lists, comma-separated.",
    )
    auth_type: Literal["Simple", "simple"] = Field(
        default="Simple",
        alias="AUTHTYPE",
        title="Bind method",
        description="Simple bind (the only one Factorflow does).",
    )

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, value: str) -> str:
        parse_uris(value)
        return value

    @field_validator("base")
    @classmethod
    def _check_base(cls, value: str) -> str:
        return _check_dn(value)

    @field_validator("bind_dn")
    @classmethod
    def _check_bind_dn(cls, value: str) -> str:
        return _check_dn(value) if value else value

    @field_validator("login_attributes", "multivalue_attributes")
    @classmethod
    def _check_attribute_list(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _ATTRIBUTE.match(name):
                raise ValueError(f"{name[:64]!r} is not an LDAP attribute name")
        return value

    @field_validator("search_filter")
    @classmethod
    def _check_filter(cls, value: str) -> str:
        return checked_filter(value, "(objectClass=inetOrgPerson)")

    @field_validator("userinfo")
    @classmethod
    def _check_userinfo(cls, value: dict[str, str]) -> dict[str, str]:
        for ours, theirs in value.items():
            if not _OUR_NAME.match(ours):
                raise ValueError(f"{ours[:64]!r} is not an attribute name")
            if ours in ("userid", "password"):
                raise ValueError(f"{ours!r} cannot be mapped (the user id comes from UIDTYPE)")
            if not isinstance(theirs, str) or not _ATTRIBUTE.match(theirs):
                raise ValueError(f"{str(theirs)[:64]!r} is not an LDAP attribute name")
        return value

    @field_validator("uid_type")
    @classmethod
    def _check_uid_type(cls, value: str) -> str:
        special = _SPECIAL_UID_TYPES.get(value.strip().lower())
        if special:
            return special
        if not _ATTRIBUTE.match(value):
            raise ValueError("use DN, entryUUID, objectGUID or the name of a unique attribute")
        return value

    @field_validator("editable")
    @classmethod
    def _check_editable(cls, value: bool) -> bool:
        if value:
            raise ValueError("editing LDAP users is not supported; the store is read-only")
        return value

    @field_serializer("userinfo")
    def _dump_userinfo(self, value: dict[str, str]) -> str:
        return json.dumps(value, sort_keys=True)

    @field_serializer("login_attributes", "multivalue_attributes")
    def _dump_names(self, value: list[str]) -> str:
        return ",".join(value)

    # -- derived values --------------------------------------------------------------

    def servers(self) -> list[LdapServer]:
        return parse_uris(self.uri)

    def mapping(self) -> dict[str, str]:
        """Our attribute name → LDAP attribute, always with ``username``."""
        return {"username": self.login_attributes[0], **self.userinfo}
