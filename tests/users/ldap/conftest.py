"""Fixtures of the LDAP user-store tests; the session's slapd is the ``slapd`` fixture
of ``tests/users/conftest.py`` (the store contract runs against it too)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ldap3 import Connection, Server

from factorflow.crypto import Hasher
from factorflow.users.stores.ldap import LdapOptions, LdapUserStore
from tests.users.ldap.slapd import (
    PEOPLE_BASE,
    READER_DN,
    READER_PW,
    ROOT_DN,
    ROOT_PW,
    Slapd,
)

HASHER = Hasher(time_cost=1, memory_kib=1024, parallelism=1)
USERINFO = {
    "username": "uid",
    "givenname": "givenName",
    "surname": "sn",
    "email": "mail",
    "mobile": "mobile",
    "phone": "telephoneNumber",
    "description": "description",
}


def ldap_options(slapd: Slapd, **overrides: Any) -> dict[str, Any]:
    """privacyIDEA-style options for the people subtree, bound as the reader."""
    options: dict[str, Any] = {
        "LDAPURI": slapd.ldap_uri,
        "LDAPBASE": PEOPLE_BASE,
        "BINDDN": READER_DN,
        "BINDPW": READER_PW,
        "LOGINNAMEATTRIBUTE": "uid",
        "LDAPSEARCHFILTER": "(uid=*)(objectClass=inetOrgPerson)",
        "USERINFO": dict(USERINFO),
        "UIDTYPE": "entryUUID",
        "TIMEOUT": "3",
        "CACHE_TIMEOUT": "0",
    }
    options.update(overrides)
    return options


StoreFactory = Callable[..., LdapUserStore]


@pytest.fixture
def make_store(slapd: Slapd) -> Iterator[StoreFactory]:
    built: list[LdapUserStore] = []

    def make(**overrides: Any) -> LdapUserStore:
        options = LdapOptions.model_validate(ldap_options(slapd, **overrides))
        store = LdapUserStore("ldap", options, hasher=HASHER)
        built.append(store)
        return store

    yield make
    for store in built:
        store.close()


@pytest.fixture
def ldap_admin(slapd: Slapd) -> Iterator[Connection]:
    """A connection bound as the directory's root, to change entries under test."""
    conn = Connection(Server(slapd.ldap_uri), ROOT_DN, ROOT_PW, auto_bind=True)
    yield conn
    conn.unbind()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]
