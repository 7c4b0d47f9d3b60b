"""Authentication items: what a machine fetches for its applications
(``GET /machine/authitem``), the offline values added to a successful
``/validate/check`` and the refill (``POST /validate/offlinerefill``).

privacyIDEA's shapes: ``{"ssh": [{"sshkey": "<key line>", "username": "<account>"}]}``
and ``{"offline": [{"serial", "user", "username", "refilltoken",
"response": {"<counter>": "<pbkdf2 hash>"}}]}``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from factorflow.errors import ParameterError, ValidateError
from factorflow.machines.applications import APPLICATIONS, DEFAULT_SSH_USER, parsed
from factorflow.machines.links import options_of
from factorflow.machines.models import MachineToken
from factorflow.machines.offline import hashed_values, new_refilltoken
from factorflow.tokens.info import get_info, set_info
from factorflow.tokens.models import Token
from factorflow.tokens.service import TokenService
from factorflow.tokens.types.hotp import HotpToken
from factorflow.tokens.types.sshkey import SshKeyToken

#: Tokeninfo of an offline token: the refill token its machine holds.
REFILLTOKEN = "refilltoken"
REFILL_REFUSED = "Token is not an offline token or the refill token is incorrect."


def usable(token: Token) -> bool:
    """Disabled, revoked and unfinished tokens hand out nothing."""
    return token.active and not token.revoked and token.rollout_state in ("", "enrolled")


def ssh_items(tokens: TokenService, links: list[MachineToken], user: str) -> list[dict[str, Any]]:
    """The keys of the usable sshkey tokens of ``links``, for the account ``user``
    (every account when empty)."""
    items: list[dict[str, Any]] = []
    for link in links:
        ttype = tokens.type_of(link.token)
        if not usable(link.token) or not isinstance(ttype, SshKeyToken):
            continue
        account = options_of(link).get("user") or DEFAULT_SSH_USER
        if user and account != user:
            continue
        items.append({"sshkey": ttype.public_key(), "username": account})
    return items


#: The challenge a LUKS client gets when it sends none (bytes).
LUKS_CHALLENGE_BYTES = 32


def luks_items(
    tokens: TokenService, links: list[MachineToken], challenge: str
) -> list[dict[str, Any]]:
    """Challenge-response material to unlock a LUKS slot with a HMAC-SHA1 token (a
    YubiKey in challenge-response mode): ``response`` = HMAC-SHA1(key, challenge), both
    hex (RFC 2104). ``challenge`` (hex) is the client's, or random."""
    if challenge:
        try:
            data = bytes.fromhex(challenge)
        except ValueError:
            raise ParameterError("The challenge must be hexadecimal.") from None
    else:
        data = secrets.token_bytes(LUKS_CHALLENGE_BYTES)
    items: list[dict[str, Any]] = []
    for link in links:
        if not usable(link.token) or link.token.tokentype not in APPLICATIONS["luks"].token_types:
            continue
        options = parsed(APPLICATIONS["luks"], options_of(link))
        key = tokens.type_of(link.token).load_secret()
        items.append({
            "serial": link.token.serial,
            "slot": str(options.slot),
            "partition": options.partition,
            "challenge": data.hex(),
            "response": hmac.new(key, data, hashlib.sha1).hexdigest(),
        })  # fmt: skip
    return items


def _claim_counters(session: Session, token: Token, start: int, end: int) -> None:
    """Move the counter from ``start`` to ``end`` in one conditional UPDATE: a
    concurrent check or fetch that moved it first makes this one fail, so no value is
    handed out twice nor accepted online after it was handed out."""
    stmt = (
        update(Token)
        .where(Token.id == token.id, Token.otp_counter == start)
        .values(otp_counter=end)
    )
    result = session.execute(stmt, execution_options={"synchronize_session": False})
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise ValidateError("The token was used concurrently; fetch the offline values again.")
    set_committed_value(token, "otp_counter", end)


def _hotp(tokens: TokenService, token: Token) -> HotpToken:
    ttype = tokens.type_of(token)
    if not isinstance(ttype, HotpToken):
        raise ParameterError(f"The token {token.serial!r} is not a HOTP token.")
    return ttype


def offline_item(
    session: Session, tokens: TokenService, link: MachineToken, *, end: int | None = None
) -> dict[str, Any]:
    """Hand out the values of ``link``'s token from its counter on: ``count`` of them,
    or up to counter ``end``; the counter moves past them and a new refill token is
    stored."""
    token = link.token
    options = parsed(APPLICATIONS["offline"], options_of(link))
    ttype = _hotp(tokens, token)
    start = token.otp_counter
    stop = start + options.count if end is None else end
    response = hashed_values(
        ttype.load_secret(), range(start, stop), digits=token.otplen,
        hash_name=ttype.hash_name, rounds=options.rounds,
    )  # fmt: skip
    _claim_counters(session, token, start, stop)
    refilltoken = new_refilltoken()
    set_info(token, REFILLTOKEN, refilltoken)
    owner = tokens.access.owner_of(session, token)
    login = owner.login if owner is not None else ""
    return {
        "serial": token.serial,
        "user": login,
        "username": login,
        "refilltoken": refilltoken,
        "response": response,
    }


def refill(
    session: Session, tokens: TokenService, link: MachineToken, password: str, refilltoken: str
) -> dict[str, Any]:
    """``/validate/offlinerefill``: ``password`` is PIN + the value the user typed last
    on the machine, one of the ``count`` values handed out last; the answer tops the
    machine up to ``count`` values after it. Refused (nothing changes) for a wrong
    refill token, PIN or value."""
    token = link.token
    stored = get_info(token, REFILLTOKEN)
    if not stored or not refilltoken or not hmac.compare_digest(stored, refilltoken):
        raise ParameterError(REFILL_REFUSED)
    if not usable(token):
        raise ParameterError(f"The token {token.serial!r} is disabled or revoked.")
    options = parsed(APPLICATIONS["offline"], options_of(link))
    ttype = _hotp(tokens, token)
    pin, otp = ttype.split_pass(password)
    if not tokens.verify_pin(token, pin):
        raise ParameterError("The refill was refused: wrong PIN or OTP value.")
    held = range(max(0, token.otp_counter - options.count), token.otp_counter)
    matched = next((c for c in held if otp and hmac.compare_digest(ttype.otp_at(c), otp)), None)
    if matched is None:
        raise ParameterError("The refill was refused: wrong PIN or OTP value.")
    item = offline_item(session, tokens, link, end=matched + 1 + options.count)
    return {"refilltoken": item["refilltoken"], "response": item["response"]}
