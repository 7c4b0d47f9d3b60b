"""What the user-store contract (``test_store_contract.py``) needs to know about each
store type registered under ``factorflow.user_stores``: the backends it runs against
here (its variants) and, per variant, the options of privacyIDEA's names that hold
the contract's three users (:data:`tests.users.conftest.PEOPLE`), the ids it gives
them, and what the backend decides for itself (whether logins compare by a
directory's matching rules, whether a check of an unknown login can cost what a real one
costs). A store type registered without an adapter fails the contract, naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.users.conftest import PEOPLE, SqlUserDb
from tests.users.ldap.conftest import ldap_options
from tests.users.ldap.slapd import PEOPLE_BASE, Slapd

#: The fixture a variant needs and its value → the store's options.
Options = Callable[[Any], dict[str, Any]]


def _by_people(login: str) -> str:
    return PEOPLE[login][0]


@dataclass(frozen=True)
class Variant:
    """One backend of a store type. ``fixture`` (a pytest fixture name) gives what
    ``options`` turns into the store's options; ``unreachable`` makes options whose
    backend cannot be reached from a working set."""

    name: str
    fixture: str
    options: Options
    unreachable: Callable[[dict[str, Any], int], dict[str, Any]]
    uid_of: Callable[[str], str] = _by_people
    #: The backend compares logins by a directory's matching rules (caseIgnoreMatch:
    #: case and insignificant spaces do not count) instead of exactly.
    logins_by_directory_rules: bool = False
    #: ``check_unknown_password`` spends what ``check_password`` does (a local hash);
    #: a bind to a directory cannot be imitated (see UserStore.check_unknown_password).
    imitates_password_cost: bool = True
    #: Options that make the store editable, where it can be.
    editable: Callable[[Any], dict[str, Any]] | None = None


def _flatfile(path: Path) -> dict[str, Any]:
    return {"fileName": str(path)}


def _sql(db: SqlUserDb, editable: bool = False) -> dict[str, Any]:
    return db.options(Where="active == 1", Editable="1" if editable else "0")


def _sql_editable(db: SqlUserDb) -> dict[str, Any]:
    return _sql(db, editable=True)


def _sql_down(options: dict[str, Any], port: int) -> dict[str, Any]:
    return {**options, "URL": f"postgresql+psycopg://nobody@127.0.0.1:{port}/none"}


def _ldap(slapd: Slapd) -> dict[str, Any]:
    # Only the contract's three people: the directory's odd-login user stays out.
    search = "(uid=*)(objectClass=inetOrgPerson)(!(cn=Odd User))"
    return ldap_options(slapd, UIDTYPE="DN", LDAPSEARCHFILTER=search)


def _ldap_down(options: dict[str, Any], port: int) -> dict[str, Any]:
    return {**options, "LDAPURI": f"ldap://127.0.0.1:{port}", "TIMEOUT": "1"}


def _ldap_dn(login: str) -> str:
    return f"uid={login},{PEOPLE_BASE}"


def _sql_variant(name: str, fixture: str) -> Variant:
    return Variant(name, fixture, _sql, _sql_down, editable=_sql_editable)


ADAPTERS: dict[str, tuple[Variant, ...]] = {
    "passwdresolver": (
        Variant(
            "flatfile",
            "passwd_file",
            _flatfile,
            lambda options, port: {"fileName": f"{options['fileName']}.gone"},
        ),
    ),
    "sqlresolver": (
        _sql_variant("sql-sqlite", "sqlite_userdb"),
        _sql_variant("sql-postgresql", "pg_people"),
        _sql_variant("sql-mariadb", "mariadb_people"),
    ),
    "ldapresolver": (
        Variant(
            "ldap",
            "slapd",
            _ldap,
            _ldap_down,
            uid_of=_ldap_dn,
            logins_by_directory_rules=True,
            imitates_password_cost=False,
        ),
    ),
}


def variants_of(type_name: str) -> tuple[Variant, ...]:
    """A registered type's variants; fails the test, naming the type, without any."""
    found = ADAPTERS.get(type_name)
    if not found:
        pytest.fail(
            f"user store type {type_name!r} is registered but has no adapter in "
            "tests/users/store_adapters.py: add its backends so that the contract suite "
            "runs against it",
            pytrace=False,
        )
    return found
