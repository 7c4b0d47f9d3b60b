"""Importing a token from another server with its state (``factorflow migrate``).

Unlike enrolment nothing is generated and no policy applies: the token arrives as it
was — its key, PIN hash, counters, flags, tokeninfo, owner, realms and groups — and
its key is stored through the type (:meth:`TokenType.store_secret`), sealed with
this server's key like the key of any enrolled token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.crypto import SecretBox
from factorflow.errors import ParameterError
from factorflow.registry import Registry
from factorflow.tokens.access import check_new_serial
from factorflow.tokens.base import TokenType
from factorflow.tokens.bulk import CHUNK, insert_new
from factorflow.tokens.groups import TokenGroupService
from factorflow.tokens.info import set_info
from factorflow.tokens.models import Token, TokenGroup, TokenGroupMember, TokenOwner, TokenRealm
from factorflow.users.models import Realm
from factorflow.users.realms import get_realm


@dataclass(frozen=True)
class TokenOwnerRef:
    """The owner as the token stores it: resolver, the user's id there, realm."""

    resolver: str
    user_id: str
    realm: str


@dataclass(frozen=True)
class ImportedToken:
    serial: str
    tokentype: str
    #: The key material as the type stores it (OTP key bytes, or a password/code).
    secret: bytes
    #: An argon2 PHC string over the plain PIN, or "" for no PIN.
    pin_hash: str = ""
    description: str = ""
    otplen: int = 6
    #: Type-specific counter (HOTP: the next counter to accept; TOTP: last step used).
    otp_counter: int = 0
    count_window: int = 10
    sync_window: int = 1000
    failcount: int = 0
    maxfail: int = 10
    active: bool = True
    revoked: bool = False
    locked: bool = False
    rollout_state: str = "enrolled"
    info: dict[str, str] = field(default_factory=dict)
    owner: TokenOwnerRef | None = None
    realms: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


def import_token(
    session: Session, types: Registry[TokenType], box: SecretBox, data: ImportedToken
) -> Token:
    """Create the token ``data.serial`` or bring an existing one to ``data``. The OTP
    counter of an existing token never goes back: a value this server accepted
    already stays refused whatever the source says (replay protection)."""
    import_tokens(session, types, box, [data])
    return session.scalars(select(Token).where(Token.serial == data.serial)).one()


def import_tokens(
    session: Session, types: Registry[TokenType], box: SecretBox, batch: Sequence[ImportedToken]
) -> None:
    """:func:`import_token` for each of ``batch`` (distinct serials), in a few
    statements: one query per 500 finds the tokens that exist (with their rows),
    realms and groups are looked up once, one flush updates the existing tokens and
    :func:`insert_new` writes the new ones. Raises on the first token that cannot be
    imported (the caller's savepoint undoes the others)."""
    found = _existing(session, [data.serial for data in batch])
    places = _Places(session)
    new = []
    # Nothing is written before the end: a query that flushed would write each token
    # alone, and load the relations of every token it made persistent.
    with session.no_autoflush:
        for data in batch:
            token = found.get(data.serial)
            if token is None:
                check_new_serial(data.serial)
                # Not added to the session: insert_new writes it.
                token = Token(serial=data.serial, tokentype=data.tokentype)
                new.append(token)
            _carry(types, box, token, data, places)
    session.flush()
    insert_new(session, new)


def _existing(session: Session, serials: list[str]) -> dict[str, Token]:
    found: dict[str, Token] = {}
    for start in range(0, len(serials), CHUNK):
        chunk = serials[start : start + CHUNK]
        found.update(
            (t.serial, t) for t in session.scalars(select(Token).where(Token.serial.in_(chunk)))
        )
    return found


def _carry(
    types: Registry[TokenType], box: SecretBox, token: Token, data: ImportedToken, places: _Places
) -> None:
    if data.tokentype not in types:
        raise ParameterError(f"Token type {data.tokentype!r} is not installed.")
    if data.pin_hash and not data.pin_hash.startswith("$argon2"):
        raise ParameterError("Only argon2 PIN hashes can be imported")
    if token.tokentype != data.tokentype:
        raise ParameterError("The token already exists with a different type.")
    if token.id is not None:
        data = _counter_kept(token, data)
    types[data.tokentype](token, box).store_secret(data.secret)
    token.pin_hash = data.pin_hash
    token.description = data.description
    token.otplen, token.otp_counter = data.otplen, data.otp_counter
    token.count_window, token.sync_window = data.count_window, data.sync_window
    token.failcount, token.maxfail = data.failcount, data.maxfail
    token.active, token.revoked, token.locked = data.active, data.revoked, data.locked
    token.rollout_state = data.rollout_state
    for key, value in data.info.items():
        set_info(token, key, value)
    places.place(token, data)


def _counter_kept(token: Token, data: ImportedToken) -> ImportedToken:
    if token.otp_counter <= data.otp_counter:
        return data
    return replace(data, otp_counter=token.otp_counter)


class _Places:
    """Owner, realms and groups of imported tokens, each realm and group looked up once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.realms: dict[str, Realm] = {}
        self.groups: dict[str, TokenGroup] = {}

    def realm(self, name: str) -> Realm:
        if name not in self.realms:
            self.realms[name] = get_realm(self.session, name)
        return self.realms[name]

    def group(self, name: str) -> TokenGroup:
        if name not in self.groups:
            self.groups[name] = TokenGroupService().get(self.session, name)
        return self.groups[name]

    def place(self, token: Token, data: ImportedToken) -> None:
        if data.owner is None:
            token.owner = None
        elif token.owner is None:
            token.owner = TokenOwner(
                resolver=data.owner.resolver,
                user_id=data.owner.user_id,
                realm=self.realm(data.owner.realm),
            )
        else:
            # Changed in place: replacing the row would insert before the delete and
            # trip the unique token_id.
            owner = token.owner
            owner.resolver, owner.user_id = data.owner.resolver, data.owner.user_id
            owner.realm = self.realm(data.owner.realm)
        realms = {self.realm(name).name: self.realm(name) for name in data.realms}
        for placed in list(token.realms):
            if placed.realm.name not in realms:
                token.realms.remove(placed)
        present = {placed.realm.name for placed in token.realms}
        token.realms.extend(TokenRealm(realm=r) for n, r in realms.items() if n not in present)
        groups = {self.group(name).name: self.group(name) for name in data.groups}
        for member in list(token.groups):
            if member.group.name not in groups:
                token.groups.remove(member)
        present = {member.group.name for member in token.groups}
        token.groups.extend(
            TokenGroupMember(group=g) for n, g in groups.items() if n not in present
        )
