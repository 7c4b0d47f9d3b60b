"""What the help desk does with tokens beyond enrol / enable / reset.

privacyIDEA's endpoints with the same semantics:

* **revoke**: the token is disabled for good (``revoked`` and ``locked``); it can
  no longer be enabled, only deleted.
* **lost**: the user lost the token. A temporary ``pw`` token ``lost<serial>`` gets
  the owner, the realms and the PIN of the lost token and a random password valid
  for a few days; the lost token is disabled. ``pass`` is then the user's usual PIN
  followed by the password the help desk reads out.
* **getserial**: which unassigned token shows this OTP? For the admin with a
  hardware token in hand; the counters are not moved.
* **copypin** / **copyuser**: copy the PIN hash (never the PIN) or the owner from
  one token to another.
* **setrandompin**: a new random PIN, returned once in ``detail.pin``.

All of these are administrator actions; admin policies decide per realm like for
every other token right.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.dates import timestamp
from factorflow.core.invocation import Actor
from factorflow.errors import ParameterError, TokenAdminError
from factorflow.tokens.access import check_new_serial
from factorflow.tokens.base import PinMode, TokenType
from factorflow.tokens.errors import TokenPolicyError
from factorflow.tokens.info import set_info
from factorflow.tokens.listing import manageable_in
from factorflow.tokens.models import Token, TokenOwner
from factorflow.tokens.ownership import add_realms, assign_owner
from factorflow.tokens.requests import Request, Serial
from factorflow.tokens.service import TokenService
from factorflow.tokens.types.pw import PwToken
from factorflow.users.identity import User

_SPECIALS = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
#: Characters of random PINs by the classes of privacyIDEA's ``otp_pin_contents``.
PIN_ALPHABETS = {"c": string.ascii_letters, "n": string.digits, "s": _SPECIALS}
#: Characters of a lost token's password by privacyIDEA's ``losttoken_PW_contents``.
PASSWORD_ALPHABETS = {
    "c": string.ascii_lowercase,
    "C": string.ascii_uppercase,
    "n": string.digits,
    "s": _SPECIALS,
    "8": "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",  # Base58
}
#: Most OTPs getserial compares per token at most (the look-ahead window).
MAX_GETSERIAL_WINDOW = 1000
#: Most tokens getserial looks at: beyond that the admin must narrow by type or serial.
MAX_GETSERIAL_TOKENS = 10_000


class SerialRequest(Request):
    serial: Serial


class CopyRequest(Request):
    from_: Serial = Field(alias="from")
    to: Serial

    @model_validator(mode="after")
    def _two_tokens(self) -> CopyRequest:
        if self.from_ == self.to:
            raise ValueError("'from' and 'to' are the same token")
        return self


class GetSerialRequest(Request):
    otp: Annotated[str, Field(min_length=1, max_length=64)]
    type: Annotated[str, Field(max_length=30)] | None = None
    #: Substring of the serials to look at (privacyIDEA's ``serial``).
    serial: Serial | None = None
    assigned: bool | None = None
    unassigned: bool | None = None
    window: Annotated[int, Field(ge=1, le=MAX_GETSERIAL_WINDOW)] = 10
    count: bool = False


@dataclass(frozen=True)
class LostTokenRules:
    """How a lost token's replacement looks (privacyIDEA's ``losttoken_PW_length``,
    ``losttoken_PW_contents``, ``losttoken_valid`` enrollment policies)."""

    password_length: int = 10
    password_contents: str = "Ccn"  # noqa: S105 - character classes, not a password
    valid_days: int = 10


def random_secret(length: int, required: list[str], pool: str) -> str:
    """``length`` random characters of ``pool`` with at least one of every ``required``
    alphabet."""
    if not pool:
        raise ParameterError("The content rule leaves no characters to choose from.")
    if length < len(required):
        raise ParameterError(f"A length of {length} cannot hold {len(required)} classes.")
    chars = [secrets.choice(alphabet) for alphabet in required]
    chars += [secrets.choice(pool) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def password_alphabets(contents: str) -> tuple[list[str], str]:
    """The alphabets a lost token's password needs (one of each class) and may use."""
    classes = [PASSWORD_ALPHABETS[c] for c in dict.fromkeys(contents) if c in PASSWORD_ALPHABETS]
    classes = classes or [PASSWORD_ALPHABETS[c] for c in "Ccn"]
    return classes, "".join(dict.fromkeys("".join(classes)))


def pin_alphabets(rule: str) -> tuple[list[str], str]:
    """The alphabets a random PIN needs and may use to meet an ``otp_pin_contents`` rule:
    ``cn`` one of each, ``+cn`` any of them, ``-s`` none of them, ``[1234]`` only these."""
    if rule.startswith("["):
        return [], "".join(dict.fromkeys(rule[1:-1]))
    names = [c for c in dict.fromkeys(rule.lstrip("+-")) if c in PIN_ALPHABETS]
    if rule.startswith("-"):
        names = [c for c in PIN_ALPHABETS if c not in names]
        return [], "".join(PIN_ALPHABETS[c] for c in names)
    names = names or ["c", "n"]
    pool = "".join(PIN_ALPHABETS[c] for c in names)
    return ([] if rule.startswith("+") else [PIN_ALPHABETS[c] for c in names]), pool


class TokenHelpdesk:
    def __init__(self, tokens: TokenService) -> None:
        self.access = tokens.access
        self.types = tokens.types
        self.box = tokens.box
        self.hasher = tokens.hasher
        #: ``change_pin_on_first_use`` bookkeeping after a PIN set by the help desk.
        self.pin_changed = tokens.pin_changed

    @staticmethod
    def _admin(actor: Actor, what: str) -> None:
        if actor.is_user:
            raise TokenPolicyError(f"You are not allowed to {what}.")

    def _type(self, token: Token) -> TokenType:
        return self.types[token.tokentype](token, self.box)

    def revoke(self, session: Session, actor: Actor, serial: str) -> Token:
        self._admin(actor, "revoke tokens")
        token = self.access.get(session, actor, serial)
        token.revoked = True
        token.locked = True
        token.active = False
        set_info(token, "revoked_at", timestamp())
        self._type(token).revoked(session)
        return token

    def lost(
        self,
        session: Session,
        actor: Actor,
        token: Token,
        owner: User | None,
        rules: LostTokenRules,
    ) -> tuple[Token, dict[str, Any]]:
        """Disable ``token`` (owned by ``owner``) and create its temporary replacement;
        returns the replacement and privacyIDEA's ``result.value`` with the password
        in it, once."""
        self._admin(actor, "mark tokens as lost")
        if token.owner is None:
            raise TokenAdminError("The token is not assigned to a user.")
        if token.revoked:
            raise TokenAdminError("The token is revoked.")
        new_serial = check_new_serial(f"lost{token.serial}"[:64])
        if self.access.find(session, new_serial) is not None:
            raise TokenAdminError(f"The token {new_serial} already exists.")
        if owner is None:
            raise TokenAdminError("The owner of the token no longer exists.")
        alphabets = password_alphabets(rules.password_contents)
        password = random_secret(rules.password_length, *alphabets)
        replacement = Token(serial=new_serial, tokentype=PwToken.type_name)
        session.add(replacement)
        PwToken(replacement, self.box).set_password(password)
        replacement.description = f"temporary replacement for {token.serial}"
        replacement.pin_hash = token.pin_hash
        end = datetime.now(UTC) + timedelta(days=rules.valid_days)
        end_text = end.strftime("%Y-%m-%dT%H:%M%z")
        set_info(replacement, "validity_period_end", end_text)
        set_info(replacement, "creation_date", timestamp())
        set_info(replacement, "lost_serial", token.serial)
        session.flush()
        assign_owner(session, replacement, owner)
        add_realms(session, replacement, sorted({m.realm.name for m in token.realms}))
        token.active = False
        set_info(token, "lost_at", timestamp())
        session.flush()
        value = {
            "serial": new_serial,
            "init": True,
            "user": True,
            "pin": bool(token.pin_hash),
            "password": password,
            "end_date": end_text,
            "valid_to": end_text,
            "disable": 1,
        }
        return replacement, value

    def getserial(
        self,
        session: Session,
        actor: Actor,
        req: GetSerialRequest,
        realms: frozenset[str] | None = None,
    ) -> dict[str, Any]:
        """privacyIDEA's ``GET /token/getserial/<otp>``: by default only unassigned
        tokens are searched (the admin holds a token and wants to know which it is).
        ``realms`` (lower case) limits the search to the tokens an administrator of
        those realms may act on (:func:`~factorflow.tokens.listing.manageable_in`)."""
        self._admin(actor, "search tokens by OTP")
        stmt = select(Token).where(Token.active.is_(True)).order_by(Token.id)
        if realms is not None:
            stmt = stmt.where(manageable_in(realms))
        if req.type:
            stmt = stmt.where(Token.tokentype == req.type.strip().lower())
        if req.serial:
            stmt = stmt.where(Token.serial.contains(req.serial, autoescape=True))
        owned = select(TokenOwner.token_id)
        if req.assigned and not req.unassigned:
            stmt = stmt.where(Token.id.in_(owned))
        elif not req.assigned:
            stmt = stmt.where(Token.id.not_in(owned))
        tokens = list(session.scalars(stmt.limit(MAX_GETSERIAL_TOKENS + 1)))
        if len(tokens) > MAX_GETSERIAL_TOKENS:
            raise ParameterError(
                f"More than {MAX_GETSERIAL_TOKENS} tokens match; narrow by type or serial."
            )
        if req.count:
            return {"count": len(tokens), "serial": None}
        now = time.time()
        for token in tokens:
            ttype = self._type(token)
            if ttype.pin_mode is PinMode.WHOLE or not token.secret_enc:
                continue  # static passwords are not OTPs
            window = token.count_window
            token.count_window = req.window
            try:
                matched = ttype.check_otp(req.otp, now).matched
            finally:
                token.count_window = window
            if matched:
                return {"count": len(tokens), "serial": token.serial}
        return {"count": len(tokens), "serial": None}

    def copypin(self, session: Session, actor: Actor, source: Token, target: Token) -> None:
        self._admin(actor, "copy token PINs")
        if self._type(target).pin_mode is PinMode.NONE:
            raise TokenAdminError(f"Tokens of type {target.tokentype!r} have no PIN.")
        target.pin_hash = source.pin_hash

    def copyuser(self, session: Session, actor: Actor, source: Token, target: Token) -> None:
        self._admin(actor, "copy token owners")
        owner = self.access.owner_of(session, source) if source.owner else None
        if owner is None:
            raise TokenAdminError(f"The token {source.serial} has no owner.")
        if target.owner is not None:
            session.delete(target.owner)
            session.flush()
            session.expire(target, ["owner"])
        assign_owner(session, target, owner)
        add_realms(session, target, [owner.realm])

    def setrandompin(
        self, session: Session, actor: Actor, token: Token, length: int, contents: str
    ) -> str:
        """A random PIN of ``length`` characters meeting the ``otp_pin_contents`` rule
        ``contents``."""
        self._admin(actor, "set random PINs")
        pin = random_secret(length, *pin_alphabets(contents))
        self.set_generated_pin(session, actor, token, pin)
        return pin

    def set_generated_pin(self, session: Session, actor: Actor, token: Token, pin: str) -> None:
        """Give ``token`` a PIN the server generated (the help desk's random PIN, the
        Token handler's ``set random pin``): refused for PIN-less types, and it fulfils
        ``next_pin_change`` like any other new PIN. The caller checked the actor."""
        if self._type(token).pin_mode is PinMode.NONE:
            raise TokenAdminError(f"Tokens of type {token.tokentype!r} have no PIN.")
        token.pin_hash = self.hasher.hash(pin)
        self.pin_changed(session, actor, token)
