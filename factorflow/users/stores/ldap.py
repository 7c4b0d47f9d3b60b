"""LDAP user store (privacyIDEA's ``ldapresolver``): users in OpenLDAP, Active
Directory or any LDAPv3 directory, read with ldap3.

Users are the entries under ``LDAPBASE`` that match ``LDAPSEARCHFILTER`` (a sequence
of parenthesised terms that all must hold, as privacyIDEA writes it). A login is
looked up in ``LOGINNAMEATTRIBUTE`` (several attributes separated by commas: any may
match) with the directory's own matching rules, so ``ALICE`` finds ``alice`` where
the attribute compares case-insensitively, as on Active Directory; the record's
login is the directory's spelling. ``USERINFO`` maps privacyIDEA's attribute names to
LDAP attributes. The user id is chosen by ``UIDTYPE``:

* ``DN`` — the entry's distinguished name (changes when the entry is renamed);
* ``entryUUID`` — RFC 4530, OpenLDAP's stable id;
* ``objectGUID`` — Active Directory's binary GUID, given in the usual string form
  (the 16 bytes are the little-endian ``GUID`` structure, see :func:`guid_to_string`);
* any other attribute name whose value is unique (``uidNumber``, ...).

Every value put into a filter is escaped (RFC 4515 §3) with
:func:`ldap3.utils.conv.escape_filter_chars`; in searches ``*`` stays a wildcard and
only there. A password is checked by binding as the user's DN on a connection of its
own; an empty password never verifies (it would be an unauthenticated bind).
Found users are cached for ``CACHE_TIMEOUT`` seconds (0: no cache); misses are not
cached, so a new user is seen at once. Read-only.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ldap3 import BASE, SUBTREE, Connection
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_bytes, escape_filter_chars
from ldap3.utils.dn import parse_dn

from factorflow.crypto import Hasher
from factorflow.errors import ParameterError
from factorflow.users.base import StoreOptions, StoreTestResult, UserRecord, UserStore
from factorflow.users.errors import StoreUnavailableError
from factorflow.users.stores.flatfile import wildcard_matcher
from factorflow.users.stores.ldap_connect import (
    RESULT_NO_SUCH_OBJECT,
    RESULT_SIZE_LIMIT_EXCEEDED,
    LdapConnector,
    describe_failure,
    is_timeout,
)
from factorflow.users.stores.ldap_options import (
    UID_DN,
    UID_ENTRYUUID,
    UID_OBJECTGUID,
    LdapOptions,
)

__all__ = ["LdapOptions", "LdapUserStore", "guid_to_string", "string_to_guid", "substring_filter"]

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Entries kept by the lookup cache; beyond it, the cache starts over.
CACHE_ENTRIES = 4096
#: Entries per page of a paged search (RFC 2696); AD answers at most 1000 per page.
PAGE_SIZE = 500


def guid_to_string(raw: bytes) -> str:
    """Active Directory's 16-byte ``objectGUID`` as ``xxxxxxxx-xxxx-...`` text.

    AD stores the Windows ``GUID`` structure: the first three fields little-endian,
    the last eight bytes as they are (MS-DTYP §2.3.4) — Python's ``bytes_le``."""
    return str(uuid.UUID(bytes_le=raw))


def string_to_guid(text: str) -> bytes | None:
    """The inverse of :func:`guid_to_string` (braces allowed); None if not a GUID."""
    try:
        return uuid.UUID(text.strip()).bytes_le
    except ValueError:
        return None


def substring_filter(pattern: str) -> str:
    """An assertion value with ``*`` as the only wildcard; everything else escaped."""
    parts = re.sub(r"\*+", "*", pattern).split("*")
    return "*".join(escape_filter_chars(part) for part in parts)


def _text(values: Iterable[bytes]) -> list[str]:
    return [v.decode("utf-8", errors="replace") for v in values]


@dataclass(frozen=True)
class _Found:
    record: UserRecord
    dn: str


class _LookupCache:
    """Found users by ``(kind, key)`` for ``ttl`` seconds; thread-safe."""

    def __init__(self, ttl: int, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, _Found]] = {}

    def get(self, kind: str, key: str) -> _Found | None:
        if self.ttl <= 0:
            return None
        with self._lock:
            hit = self._entries.get((kind, key))
            if hit is None:
                return None
            if hit[0] <= self.clock():
                del self._entries[(kind, key)]
                return None
            return hit[1]

    def put(self, found: _Found, *keys: tuple[str, str]) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= CACHE_ENTRIES:
                self._entries.clear()
            expires = self.clock() + self.ttl
            for key in keys:
                self._entries[key] = (expires, found)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class LdapUserStore(UserStore):
    type_name = "ldapresolver"
    Options = LdapOptions
    description = "An LDAP directory (OpenLDAP, Active Directory, ...); read-only"

    def __init__(self, name: str, options: StoreOptions, *, hasher: Hasher | None = None) -> None:
        super().__init__(name, options, hasher=hasher)
        assert isinstance(options, LdapOptions)
        self.opts: LdapOptions = options
        self.mapping = options.mapping()
        self.cache = _LookupCache(options.cache_timeout, time.monotonic)
        self._lock = threading.Lock()
        self._connector: LdapConnector | None = None

    def verify_config(self) -> None:
        ca_file = self.opts.tls_ca_file
        if ca_file and not (Path(ca_file).is_absolute() and Path(ca_file).is_file()):
            raise ParameterError(
                f"Invalid option 'TLS_CA_FILE': {ca_file[:300]!r} is not an absolute path "
                "of a readable file"
            )

    # -- plumbing ---------------------------------------------------------------------

    @property
    def connector(self) -> LdapConnector:
        """The connections of this configuration (opened on first use)."""
        return self._connection_source()

    def _connection_source(self) -> LdapConnector:
        with self._lock:
            if self._connector is None:
                self._connector = LdapConnector(self.name, self.opts)
            return self._connector

    def _run(self, operation: Callable[[Connection], T]) -> T:
        """``operation`` on a service connection. A pooled connection may have been
        closed by the server meanwhile; then the operation is tried once more on a
        new one. All failures become StoreUnavailableError."""
        connector = self._connection_source()
        for fresh in (False, True):
            reused = False
            try:
                with connector.service(fresh=fresh) as (conn, reused):
                    return operation(conn)
            except (ldap_errors.LDAPException, OSError) as exc:
                # A pooled connection the server has closed meanwhile; a timeout is
                # not retried, so that a hanging server costs one TIMEOUT only.
                if reused and not is_timeout(exc):
                    continue
                raise connector.fail(describe_failure(exc)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _attributes(self) -> list[str]:
        wanted = {*self.mapping.values(), *self.opts.login_attributes}
        if self.opts.uid_type != UID_DN:
            wanted.add(self.opts.uid_type)
        return sorted(wanted)

    def _search(self, term: str, limit: int, base: str | None = None) -> list[_Found]:
        query = f"(&{self.opts.search_filter}{term})"
        size = max(1, min(limit, self.opts.size_limit))

        def operation(conn: Connection) -> tuple[list[dict[str, Any]], dict[str, Any]]:
            entries: list[dict[str, Any]] = []
            for entry in conn.extend.standard.paged_search(
                base or self.opts.base,
                query,
                search_scope=BASE if base else SUBTREE,
                attributes=self._attributes(),
                size_limit=size,
                time_limit=max(1, int(self.opts.timeout)),
                paged_size=min(size, PAGE_SIZE),
                generator=True,
            ):
                if entry.get("type") == "searchResEntry":
                    entries.append(entry)
                    if len(entries) >= size:
                        return entries, {}
            return entries, dict(conn.result or {})

        entries, result = self._run(operation)
        self._check_result(result, base)
        found = [self._found(entry) for entry in entries]
        return sorted((f for f in found if f is not None), key=lambda f: f.record.login)

    def _check_result(self, result: dict[str, Any], base: str | None) -> None:
        code = result.get("result", 0)
        if code in (0, RESULT_SIZE_LIMIT_EXCEEDED):
            return
        if code == RESULT_NO_SUCH_OBJECT:
            if base:
                return  # a DN as user id that names no entry: simply not found
            raise StoreUnavailableError(
                f"User store {self.name!r}: LDAPBASE {self.opts.base[:200]!r} does not exist "
                "on the LDAP server"
            )
        raise StoreUnavailableError(
            f"User store {self.name!r}: LDAP search failed ({result.get('description', code)})"
        )

    def _uid(self, entry: dict[str, Any]) -> str | None:
        uid_type = self.opts.uid_type
        if uid_type == UID_DN:
            return str(entry["dn"])
        # Servers answer with their own spelling of the attribute name.
        wanted = uid_type.lower()
        raw: dict[str, list[bytes]] = entry["raw_attributes"]
        values = next((v for k, v in raw.items() if k.lower() == wanted), [])
        if not values:
            return None
        if uid_type == UID_OBJECTGUID and len(values[0]) == 16:
            return guid_to_string(values[0])
        return _text(values[:1])[0]

    def _found(self, entry: dict[str, Any]) -> _Found | None:
        raw: dict[str, list[bytes]] = entry["raw_attributes"]
        lowered = {key.lower(): values for key, values in raw.items()}
        uid = self._uid(entry)
        attributes: dict[str, str] = {}
        for ours, theirs in self.mapping.items():
            values = _text(lowered.get(theirs.lower()) or [])
            many = (
                ours in self.opts.multivalue_attributes or theirs in self.opts.multivalue_attributes
            )
            attributes[ours] = ", ".join(values) if many else (values[0] if values else "")
        login = attributes["username"]
        if not login:
            login = next(
                (
                    _text(lowered[a.lower()])[0]
                    for a in self.opts.login_attributes
                    if lowered.get(a.lower())
                ),
                "",
            )
        if uid is None or not login:
            return None  # an entry without id or login cannot be a user
        attributes.update(username=login, userid=uid)
        return _Found(UserRecord(uid=uid, login=login, attributes=attributes), str(entry["dn"]))

    def _uid_term(self, uid: str) -> tuple[str, str | None] | None:
        """(filter term, base DN for a base-scope search) addressing ``uid``."""
        uid_type = self.opts.uid_type
        if uid_type == UID_DN:
            try:
                parse_dn(uid)
            except (ldap_errors.LDAPInvalidDnError, ValueError, IndexError):
                return None
            # Only entries below LDAPBASE are users of this store.
            if not f",{uid}".lower().endswith(f",{self.opts.base}".lower()):
                return None
            return "", uid
        if uid_type == UID_OBJECTGUID:
            raw = string_to_guid(uid)
            return None if raw is None else (f"(objectGUID={escape_bytes(raw)})", None)
        return f"({uid_type}={escape_filter_chars(uid)})", None

    def _by_uid(self, uid: str) -> _Found | None:
        if self.opts.uid_type in (UID_OBJECTGUID, UID_ENTRYUUID):
            # GUIDs are written with or without braces, in either case.
            try:
                uid = str(uuid.UUID(uid.strip()))
            except ValueError:
                return None
        cached = self.cache.get("uid", uid)
        if cached is not None:
            return cached
        term = self._uid_term(uid)
        if term is None:
            return None
        found = [f for f in self._search(term[0], 2, base=term[1]) if f.record.uid == uid]
        if len(found) != 1:
            return None
        self.cache.put(found[0], ("uid", uid))
        return found[0]

    # -- the UserStore contract -------------------------------------------------------

    def user_id(self, login: str) -> str | None:
        record = self.find(login)
        return record.uid if record else None

    def find(self, login: str) -> UserRecord | None:
        if not login:
            return None
        cached = self.cache.get("login", login)
        if cached is not None:
            return cached.record
        value = escape_filter_chars(login)
        terms = [f"({attribute}={value})" for attribute in self.opts.login_attributes]
        found = self._search(terms[0] if len(terms) == 1 else f"(|{''.join(terms)})", 2)
        if len(found) > 1:
            log.warning("User store %r: the login %r matches several entries", self.name, login)
        if len(found) != 1:
            return None
        self.cache.put(found[0], ("login", login), ("uid", found[0].record.uid))
        return found[0].record

    def get(self, uid: str) -> UserRecord | None:
        found = self._by_uid(uid)
        return found.record if found else None

    def search(self, filters: dict[str, str], limit: int) -> list[UserRecord]:
        terms: list[str] = []
        matchers = {}
        for attribute, pattern in filters.items():
            if pattern == "*":
                continue
            if attribute != "userid" and attribute not in self.mapping:
                return []
            # The directory compares by its matching rules (often case-insensitive);
            # the contract wants exact matches for patterns without "*".
            matchers[attribute] = wildcard_matcher(pattern)
            if attribute != "userid":
                terms.append(f"({self.mapping[attribute]}={substring_filter(pattern)})")
        uid = filters.get("userid", "*")
        if "*" not in uid:
            found = self._by_uid(uid)
            candidates = [found] if found else []
        else:
            candidates = self._search("".join(terms), self.opts.size_limit)
        records = [
            f.record
            for f in candidates
            if all(m.fullmatch(f.record.attributes.get(a, "")) for a, m in matchers.items())
        ]
        return records[:limit]

    def check_password(self, uid: str, password: str) -> bool:
        if not password:
            return False
        found = self._by_uid(uid)
        if found is None:
            return False
        return self._connection_source().bind_as(found.dn, password)

    def test(self) -> StoreTestResult:
        """Binds as BINDDN and counts the users (up to SIZELIMIT)."""
        try:
            self.verify_config()
            present = "".join(f"({a}=*)" for a in self.opts.login_attributes[:1])
            count = len(self._search(present, self.opts.size_limit))
        except (StoreUnavailableError, ParameterError) as exc:
            return StoreTestResult(False, exc.message)
        return StoreTestResult(
            True, f"Your LDAP config seems to be OK, {count} user objects found.", count
        )

    def close(self) -> None:
        with self._lock:
            connector, self._connector = self._connector, None
        if connector is not None:
            connector.close()
        self.cache.clear()
