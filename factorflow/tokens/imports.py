"""Importing a token from another server with its state (``factorflow migrate``).

Unlike enrolment nothing is generated and no policy applies: the token arrives as it
was — its key, PIN hash, counters, flags, tokeninfo, owner, realms and groups — and
its key is stored through the type (:meth:`TokenType.store_secret`), sealed with
this server's key like the key of any enrolled token.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from factorflow.crypto import SecretBox
from factorflow.errors import ParameterError
from factorflow.registry import Registry
from factorflow.tokens.access import TokenAccess, check_new_serial
from factorflow.tokens.base import TokenType
from factorflow.tokens.enroll import add_realms
from factorflow.tokens.groups import TokenGroupService
from factorflow.tokens.info import set_info
from factorflow.tokens.models import Token, TokenOwner
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
    if data.tokentype not in types:
        raise ParameterError(f"Token type {data.tokentype!r} is not installed.")
    if data.pin_hash and not data.pin_hash.startswith("$argon2"):
        raise ParameterError("Only argon2 PIN hashes can be imported")
    token = TokenAccess.find(session, data.serial)
    if token is None:
        check_new_serial(data.serial)
        token = Token(serial=data.serial, tokentype=data.tokentype)
        session.add(token)
    elif token.tokentype != data.tokentype:
        raise ParameterError("The token already exists with a different type.")
    else:
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
    _place(session, token, data)
    session.flush()
    return token


def _counter_kept(token: Token, data: ImportedToken) -> ImportedToken:
    if token.otp_counter <= data.otp_counter:
        return data
    return replace(data, otp_counter=token.otp_counter)


def _place(session: Session, token: Token, data: ImportedToken) -> None:
    if data.owner is None:
        token.owner = None
    else:
        realm = get_realm(session, data.owner.realm)
        if token.owner is None:
            token.owner = TokenOwner(
                resolver=data.owner.resolver, user_id=data.owner.user_id, realm=realm
            )
        else:
            owner = token.owner
            owner.resolver, owner.user_id, owner.realm = (
                data.owner.resolver,
                data.owner.user_id,
                realm,
            )
    wanted = set(data.realms)
    for placed in list(token.realms):
        if placed.realm.name not in wanted:
            token.realms.remove(placed)
    add_realms(session, token, list(data.realms))
    groups = TokenGroupService()
    for member in list(token.groups):
        if member.group.name not in data.groups:
            token.groups.remove(member)
    if data.groups:
        groups.assign(session, token, list(data.groups))
