"""UserService: resolvers, realms, user resolution and user administration.

Contracts other features rely on (tokens, validate, auth):

``resolve(session, login, realm="") -> User``
    Finds a realm user. An empty realm means the default realm; ``user@realm`` is
    split when the split-at-sign setting is on and ``realm`` names an existing realm
    (an explicit ``realm`` still wins). The realm's resolvers are asked in ascending
    priority; the first that knows the login wins. Raises :class:`UserError` (904)
    "The user can not be found in any resolver in this realm!" when nobody matches,
    and :class:`StoreUnavailableError` (907) when a store cannot be asked.
``get_user(session, realm, resolver, uid) -> User``
    The user with that id in that resolver, reported in ``realm``. Raises
    :class:`UserNotFoundError` (904) if the resolver or the user no longer exist.
``check_password(session, user, password) -> bool``
    Asks the user's store; False for stores without passwords.
``check_unknown_password(session, login, realm, password) -> None``
    For a login nobody has: costs what ``check_password`` costs in the realm's first
    store, where the store can imitate its check (``POST /auth``).

All methods take the caller's unit-of-work session and never commit. The service is
shared by the threads of the API process; its only mutable state is the store cache,
which is guarded by a lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from factorflow.crypto import Hasher, SecretBox
from factorflow.errors import FactorflowError
from factorflow.registry import Registry
from factorflow.settings import Settings
from factorflow.users import attributes as custom
from factorflow.users import realms
from factorflow.users.base import STANDARD_ATTRIBUTES, StoreTestResult, UserRecord, UserStore
from factorflow.users.errors import (
    RealmNotFoundError,
    ResolverNotFoundError,
    StoreNotEditableError,
    StoreUnavailableError,
    UserNotFoundError,
)
from factorflow.users.identity import User
from factorflow.users.models import ResolverConfig
from factorflow.users.realm_cache import RealmCache, RealmView, Snapshot, StoredResolver
from factorflow.users.resolvers import CENSORED, ResolverCatalog, missing_resolver

NOT_FOUND = "The user can not be found in any resolver in this realm!"
#: Users returned per resolver by a listing (a store may lower it further).
LIST_LIMIT = 1000
SEARCHABLE = frozenset({*STANDARD_ATTRIBUTES, "userid"})


#: ``session.info`` key of a unit of work's user lookups: (login, realm) → the
#: store's answer, found (a User) or not (None).
LOOKUPS = "factorflow.users.lookups"


def _lookups(session: Session) -> dict[tuple[str, str], User | None]:
    lookups: dict[tuple[str, str], User | None] = session.info.setdefault(LOOKUPS, {})
    return lookups


def _changed(session: Session) -> None:
    """The unit of work changed users, realms or resolvers: later lookups in it ask
    the stores again."""
    session.info.pop(LOOKUPS, None)


@dataclass
class UserListing:
    users: list[dict[str, Any]] = field(default_factory=list)
    #: Resolvers that could not be asked, with the reason.
    skipped: dict[str, str] = field(default_factory=dict)


class UserService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        box: SecretBox,
        stores: Registry[UserStore],
        settings: Settings,
        hasher: Hasher | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.realm_cache = RealmCache(settings.config_reload_seconds, clock)
        self.resolvers = ResolverCatalog(
            box,
            stores,
            hasher
            or Hasher(
                settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
            ),
        )

    def close(self) -> None:
        self.resolvers.close()

    # -- resolvers -----------------------------------------------------------------

    def save_resolver(
        self, session: Session, name: str, type_name: str, fields: Mapping[str, Any]
    ) -> int:
        """Create or update a resolver from privacyIDEA option names; returns its id."""
        row, changed = self.resolvers.save(session, name, type_name, fields)
        if changed:
            self._configured(session)
        else:
            _changed(session)
        return row.id

    def list_resolvers(
        self, session: Session, *, name: str = "", type_name: str = "", editable: bool | None = None
    ) -> dict[str, dict[str, Any]]:
        rows = [self.resolvers.get(session, name)] if name else self.resolvers.all(session)
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            if type_name and row.type != type_name:
                continue
            described = self.resolvers.describe(row)
            if editable is not None:
                store = self.resolvers.store(row)
                if store.editable != editable:
                    continue
            found[row.name] = described
        return found

    def delete_resolver(self, session: Session, name: str) -> None:
        self.resolvers.delete(session, name)
        self._configured(session)

    def _configured(self, session: Session) -> None:
        """``session`` changed realms or resolvers: its later lookups ask the stores
        again and see its own configuration; other units of work see it once it
        commits (other processes within ``config_reload_seconds``)."""
        _changed(session)
        self.realm_cache.changed(session)

    def _snapshot(self, session: Session) -> Snapshot:
        return self.realm_cache.snapshot(session)

    def test_resolver(
        self, session: Session, type_name: str, fields: Mapping[str, Any], name: str = ""
    ) -> StoreTestResult:
        """Build a store from the given options and check it against its backend.
        With ``name`` of an existing resolver of that type, censored secrets are
        taken from its stored configuration."""
        stored: dict[str, Any] = {}
        row = self.resolvers.find(session, name) if name else None
        if row is not None and row.type == type_name:
            stored = {k: v for k, v in self.resolvers.plaintext(row).items() if k in fields}
        merged = self.resolvers.merged_fields(name or "test", type_name, fields, stored)
        store = self.resolvers.build(name or "test", type_name, merged)
        try:
            store.verify_config()
            return store.test()
        except (StoreUnavailableError, StoreNotEditableError) as exc:
            return StoreTestResult(False, exc.message)
        finally:
            store.close()

    # -- realms ----------------------------------------------------------------------

    def save_realm(
        self,
        session: Session,
        name: str,
        resolvers: Sequence[str],
        priorities: Mapping[str, int | None] | None = None,
    ) -> tuple[list[str], list[str]]:
        """Create a realm or replace its resolvers; returns (added, failed) resolver names.
        Unknown resolvers are reported as failed; with none known, nothing changes."""
        rows: list[ResolverConfig] = []
        failed: list[str] = []
        for resolver in dict.fromkeys(resolvers):
            row = self.resolvers.find(session, resolver)
            if row is None:
                failed.append(resolver)
            else:
                rows.append(row)
        if resolvers and not rows:
            raise ResolverNotFoundError(f"None of the resolvers exist: {', '.join(failed)[:300]}")
        realms.save_realm(session, name, rows, priorities or {})
        self._configured(session)
        return [row.name for row in rows], failed

    def list_realms(self, session: Session) -> dict[str, dict[str, Any]]:
        return {realm.name: realms.describe_realm(realm) for realm in realms.all_realms(session)}

    def delete_realm(
        self, session: Session, name: str, *, delete_custom_attributes: bool = False
    ) -> None:
        realms.delete_realm(session, name, delete_custom_attributes=delete_custom_attributes)
        self._configured(session)

    def default_realm(self, session: Session) -> str:
        realm = self._snapshot(session).default
        return realm.name if realm else ""

    def get_default_realm(self, session: Session) -> dict[str, dict[str, Any]]:
        realm = realms.default_realm(session)
        return {realm.name: realms.describe_realm(realm)} if realm else {}

    def set_default_realm(self, session: Session, name: str) -> None:
        realms.set_default_realm(session, name)
        self._configured(session)

    def clear_default_realm(self, session: Session) -> None:
        realms.clear_default_realm(session)
        self._configured(session)

    def realm_exists(self, session: Session, name: str) -> bool:
        return self._snapshot(session).realm(name) is not None

    def realm_resolvers(self, session: Session, name: str) -> frozenset[str]:
        """The names of the resolvers of realm ``name``; empty if it does not exist."""
        found = self._snapshot(session).realm(name)
        return frozenset(m.resolver.name for m in found.members) if found else frozenset()

    # -- resolution ------------------------------------------------------------------

    def split_login(self, session: Session, login: str, realm: str = "") -> tuple[str, str]:
        """``user@realm`` → (user, realm) when splitting is on and the realm exists."""
        if self.settings.split_at_sign and "@" in login:
            head, _, tail = login.rpartition("@")
            if head and self.realm_exists(session, tail):
                return head, realm or tail
        return login, realm

    def _realm(self, session: Session, realm: str) -> RealmView | None:
        snapshot = self._snapshot(session)
        return snapshot.realm(realm) if realm else snapshot.default

    def _resolver(self, session: Session, name: str) -> StoredResolver | None:
        return self._snapshot(session).resolvers.get(name)

    def store_for(self, session: Session, resolver: str) -> UserStore:
        row = self._resolver(session, resolver)
        if row is None:
            raise missing_resolver(resolver)
        return self.resolvers.store(row)

    def resolve(self, session: Session, login: str, realm: str = "") -> User:
        """The user ``login`` of ``realm`` (the default realm if empty). The store's
        answer, found or not, is asked once per unit of work (``session``) until it
        changes users, realms or resolvers: /validate/check and the conditions of its
        event definitions share one lookup."""
        lookups = _lookups(session)
        key = (login, realm)
        if key not in lookups:
            lookups[key] = self._lookup(session, login, realm)
        user = lookups[key]
        if user is None:
            raise UserNotFoundError(NOT_FOUND)
        return user

    def remember(self, session: Session, login: str, realm: str, user: User) -> None:
        """Take ``user`` as the answer of ``resolve(session, login, realm)`` in this unit
        of work: it was looked up for the same request moments ago (the plan of a
        /validate/check, made before the write lock)."""
        _lookups(session)[(login, realm)] = user

    def _lookup(self, session: Session, login: str, realm: str) -> User | None:
        login, realm = self.split_login(session, login, realm)
        found = self._realm(session, realm)
        if found is None or not login:
            return None
        for member in found.members:
            record = self.resolvers.store(member.resolver).find(login)
            if record is not None:
                return self._user(session, record, found.name, member.resolver.name)
        return None

    def get_user(self, session: Session, realm: str, resolver: str, uid: str) -> User:
        row = self._resolver(session, resolver)
        record = self.resolvers.store(row).get(uid) if row is not None else None
        if record is None:
            raise UserNotFoundError(
                f"The user with id {uid[:100]!r} does not exist in resolver {resolver!r}."
            )
        return self._user(session, record, realms.normalize(realm), resolver)

    def logins(
        self, session: Session, owners: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """The login names of (resolver, user id) pairs, as a token list shows its
        owners: the resolvers read in one statement, no custom attributes (a login is
        never one). "" for an owner its store does not know or cannot answer for: a
        store that is down must not hide the tokens from administrators."""
        wanted = set(owners)
        rows = self._snapshot(session).resolvers if wanted else {}
        found: dict[tuple[str, str], str] = {}
        for resolver, uid in wanted:
            row = rows.get(resolver)
            try:
                record = self.resolvers.store(row).get(uid) if row is not None else None
            except FactorflowError:
                record = None
            found[(resolver, uid)] = record.login if record is not None else ""
        return found

    def _user(self, session: Session, record: UserRecord, realm: str, resolver: str) -> User:
        merged = dict(record.attributes)
        if realm in self._snapshot(session).with_attributes:
            merged.update(custom.get_attributes(session, resolver, record.uid, realm))
        return User(
            login=record.login, realm=realm, resolver=resolver, uid=record.uid, attributes=merged
        )

    def check_password(self, session: Session, user: User, password: str) -> bool:
        if not password:
            return False
        return self.store_for(session, user.resolver).check_password(user.uid, password)

    def check_unknown_password(
        self, session: Session, login: str, realm: str, password: str
    ) -> None:
        """For a login nobody in the realm has: spend what checking the password of
        a user of the realm's first store would (that store's decoy, if it has one)."""
        login, realm = self.split_login(session, login, realm)
        found = self._realm(session, realm)
        members = found.members if found is not None else ()
        if not members or not password:
            return
        try:
            self.resolvers.store(members[0].resolver).check_unknown_password(password)
        except StoreUnavailableError:
            return  # the lookup met it already, or will: nothing to imitate

    def user_info(self, session: Session, user: User) -> dict[str, Any]:
        """privacyIDEA's user dictionary for a resolved user."""
        editable = self.store_for(session, user.resolver).editable
        return _info(
            user.attributes, User(user.login, user.realm, user.resolver, user.uid), editable
        )

    # -- listing -------------------------------------------------------------------

    def list_users(
        self,
        session: Session,
        *,
        realm: str = "",
        resolver: str = "",
        filters: Mapping[str, str] | None = None,
        include_custom: bool = False,
    ) -> UserListing:
        """Users of a realm (optionally one of its resolvers), of one resolver, or of
        all resolvers. ``filters`` use attribute names; ``*`` is a wildcard."""
        wanted = {
            k: v for k, v in (filters or {}).items() if k in SEARCHABLE and v not in ("", "*")
        }
        snapshot = self._snapshot(session)
        rows: list[StoredResolver]
        if realm:
            found = snapshot.realm(realm)
            if found is None:
                raise RealmNotFoundError(f"The realm {realm[:130]!r} does not exist.")
            rows = [m.resolver for m in found.members if resolver in ("", m.resolver.name)]
            realm_name = found.name
        elif resolver:
            if resolver not in snapshot.resolvers:
                raise missing_resolver(resolver)
            rows = [snapshot.resolvers[resolver]]
            realm_name = ""
        else:
            rows = sorted(snapshot.resolvers.values(), key=lambda row: row.name)
            realm_name = ""
        # Without a realm, users of the default realm's resolvers are shown in it (as
        # privacyIDEA lists them); users of other resolvers in none.
        in_default = _resolvers_of(snapshot.default) if not realm else {}
        extra = (
            custom.realm_attributes(session, realm_name, [r.name for r in rows])
            if include_custom
            else {}
        )
        listing = UserListing()
        for row in rows:
            try:
                store = self.resolvers.store(row)
                records = store.search(dict(wanted), LIST_LIMIT)
            except StoreUnavailableError as exc:
                listing.skipped[row.name] = exc.message
                continue
            shown_in = in_default.get(row.name, realm_name)
            for record in records:
                attrs = {**record.attributes, **extra.get((row.name, record.uid), {})}
                user = User(record.login, shown_in, row.name, record.uid)
                listing.users.append(_info(attrs, user, store.editable))
        return listing

    # -- administration in editable stores ------------------------------------------

    def add_user(
        self,
        session: Session,
        resolver: str,
        login: str,
        attributes: Mapping[str, str],
        password: str | None,
    ) -> str:
        """Add a user to an editable store; returns the new user id."""
        _changed(session)
        store = self.store_for(session, resolver)
        values = {
            k: v for k, v in attributes.items() if k in STANDARD_ATTRIBUTES and k != "username"
        }
        return store.add({**values, "username": login}, password)

    def update_user(
        self, session: Session, user: User, attributes: Mapping[str, str], password: str | None
    ) -> None:
        _changed(session)
        store = self.store_for(session, user.resolver)
        values = {k: v for k, v in attributes.items() if k in STANDARD_ATTRIBUTES}
        store.update(user.uid, values, password)

    def delete_user(self, session: Session, resolver: str, login: str) -> User:
        _changed(session)
        store = self.store_for(session, resolver)
        record = store.find(login)
        if record is None:
            raise UserNotFoundError(
                f"The user {login[:100]!r} does not exist in resolver {resolver!r}."
            )
        store.delete(record.uid)
        custom.delete_user_attributes(session, resolver, record.uid)
        return User(login=record.login, realm="", resolver=resolver, uid=record.uid)

    # -- custom attributes -------------------------------------------------------------

    def custom_attributes(self, session: Session, user: User) -> dict[str, str]:
        return custom.get_attributes(session, user.resolver, user.uid, user.realm)

    def set_custom_attribute(self, session: Session, user: User, key: str, value: str) -> None:
        # Asked before the write, which the snapshot would otherwise read back.
        marked = user.realm in self._snapshot(session).with_attributes
        custom.set_attribute(session, user, key, value)
        _changed(session)  # later lookups in this unit of work see the new attribute
        if not marked:
            # The realm's first: its lookups start reading the attribute table. (The
            # last one deleted leaves the realm marked: one statement too many, never
            # an attribute missed.)
            self.realm_cache.changed(session)

    def delete_custom_attribute(self, session: Session, user: User, key: str) -> bool:
        deleted = custom.delete_attribute(session, user, key)
        _changed(session)
        return deleted


def _resolvers_of(realm: RealmView | None) -> dict[str, str]:
    """resolver name → the realm's name, for the realm's resolvers."""
    return {m.resolver.name: realm.name for m in realm.members} if realm else {}


def _info(attributes: Mapping[str, str], who: User, editable: bool) -> dict[str, Any]:
    info: dict[str, Any] = {name: attributes.get(name, "") for name in STANDARD_ATTRIBUTES}
    info.update({k: v for k, v in attributes.items() if k not in info})
    info.update(
        username=who.login,
        userid=who.uid,
        realm=who.realm,
        resolver=who.resolver,
        editable=editable,
    )
    return info


__all__ = ["CENSORED", "NOT_FOUND", "UserListing", "UserService"]
