"""``/validate/check``: PIN + OTP authentication with privacyIDEA's semantics.

The flow, per candidate token (the user's tokens, or the one ``serial``):

1. split ``pass`` into PIN and OTP as the token type says and check the PIN
   (argon2). No PIN matched: "wrong otp pin", and with IncFailCountOnFalsePin
   (default true) every candidate's fail counter goes up.
2. For PIN-matching tokens, refuse unusable ones *before* looking at the OTP —
   disabled, fail counter exceeded, outside the validity period, authentication
   counter exceeded — so a locked token is no oracle for OTP guesses.
3. Check the OTP and claim the matched counter with one conditional UPDATE (see
   :mod:`factorflow.tokens.base`); losing that race reads as a replay.
4. Success resets the fail counter and writes ``last_auth`` and the counters;
   failure increments the fail counter (atomically, never beyond maxfail) and
   writes ``failcounter_exceeded`` on reaching it.

Challenge-response (email, SMS) plugs in at :meth:`ValidateService._challenge`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import false, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from factorflow.core.params import is_true
from factorflow.crypto import Hasher
from factorflow.db.models import ConfigSetting
from factorflow.errors import FactorflowError, ParameterError
from factorflow.tokens.access import UserDirectory
from factorflow.tokens.base import PinMode, TokenType
from factorflow.tokens.info import bump_info, get_info, parse_validity, put_info, timestamp
from factorflow.tokens.models import Token
from factorflow.tokens.service import TokenService
from factorflow.users.identity import User
from factorflow.validate.requests import CheckRequest

log = logging.getLogger(__name__)

MSG_MATCHED = "matching 1 tokens"
MSG_WRONG_PIN = "wrong otp pin"
MSG_WRONG_OTP = "wrong otp value"
MSG_REPLAY = "wrong otp value. previous otp used again"
MSG_NO_TOKENS = "The user has no tokens assigned"
MSG_NO_SUITABLE = "No suitable token found for authentication."
MSG_NO_CHALLENGE = "Response did not match the challenge."
#: Rollout states in which a token cannot authenticate yet.
NOT_READY = frozenset({"clientwait", "verify", "pending", "broken", "failed", "denied"})


@dataclass
class CheckResult:
    """The answer of one check: ``accepted`` maps to result.value and ACCEPT/REJECT."""

    accepted: bool
    message: str
    token: Token | None = None
    token_type: str = ""
    user: User | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"message": self.message}
        if self.token is not None:
            detail.update(serial=self.token.serial, type=self.token_type, otplen=self.token.otplen)
        detail.update(self.extra)
        return detail


@dataclass
class _Candidate:
    token: Token
    ttype: TokenType
    otp: str


class ValidateService:
    def __init__(self, *, tokens: TokenService, users: UserDirectory, hasher: Hasher) -> None:
        self.tokens = tokens
        self.users = users
        self.hasher = hasher

    def check(self, session: Session, req: CheckRequest, now: float | None = None) -> CheckResult:
        """Authenticate ``req``. Raises ParameterError/UserError for bad requests (400);
        a wrong PIN or OTP is a REJECT result, not an error."""
        moment = time.time() if now is None else now
        take_write_lock(session)
        user, tokens = self._candidates(session, req)
        if user is not None and not tokens and not req.serial:
            return CheckResult(False, MSG_NO_TOKENS, user=user)
        if req.type:
            tokens = [t for t in tokens if t.tokentype == req.type.lower()]
        tokens = [t for t in tokens if t.rollout_state not in NOT_READY]
        if not tokens:
            return CheckResult(False, MSG_NO_SUITABLE, user=user)
        if req.transaction_id:
            # No challenge-response type exists yet, so no challenge can be answered.
            return CheckResult(False, MSG_NO_CHALLENGE, user=user)
        result = self._check_tokens(session, tokens, req, moment)
        result.user = user
        return result

    def _candidates(self, session: Session, req: CheckRequest) -> tuple[User | None, list[Token]]:
        if not req.serial and not req.user:
            raise ParameterError("You need to specify a serial, user or credential_id.")
        if req.serial is not None and "*" in req.serial:
            raise ParameterError("Invalid serial number.")
        if req.user is not None and "%" in req.user:
            raise ParameterError("Invalid user.")
        user = self.users.resolve(session, req.user, req.realm or "") if req.user else None
        if not req.serial:
            assert user is not None
            return user, self.tokens.access.user_tokens(session, user)
        token = self.tokens.access.find(session, req.serial)
        if token is None or (user is not None and not self.tokens.access.owned_by(token, user)):
            return user, []
        return user or self.tokens.access.owner_of(session, token), [token]

    def _check_tokens(
        self, session: Session, tokens: list[Token], req: CheckRequest, now: float
    ) -> CheckResult:
        matched: list[_Candidate] = []
        for token in tokens:
            ttype = self.tokens.type_of(token)
            skip_pin = req.otponly and bool(req.serial) and ttype.pin_mode is not PinMode.WHOLE
            pin, otp = ("", req.password) if skip_pin else ttype.split_pass(req.password)
            if skip_pin or ttype.pin_mode is PinMode.NONE or self.tokens.verify_pin(token, pin):
                matched.append(_Candidate(token, ttype, otp))
        if not matched:
            if self._inc_fail_on_false_pin(session):
                for token in tokens:
                    increment_failcount(session, token)
            return CheckResult(False, MSG_WRONG_PIN)
        return self._check_otps(session, matched, now)

    def _check_otps(self, session: Session, matched: list[_Candidate], now: float) -> CheckResult:
        reasons: list[str] = []
        failed: list[_Candidate] = []
        replay = False
        for cand in matched:
            reason = unusable_reason(cand.token, now)
            if reason:
                reasons.append(reason)
                continue
            challenge = self._challenge(session, cand)
            if challenge is not None:
                return challenge
            bump_info(session, cand.token.id, "count_auth")
            check = cand.ttype.check_otp(cand.otp, now)
            if check.counter is not None and cand.ttype.commit_otp(session, check.counter):
                return self._accept(session, cand, check.counter, now)
            # A match whose counter another request claimed first is a replay too.
            replay = replay or check.replay or check.matched
            failed.append(cand)
        for cand in failed:
            increment_failcount(session, cand.token)
        message = MSG_REPLAY if replay else MSG_WRONG_OTP if failed else reasons[0]
        if len(matched) == 1:
            only = matched[0]
            return CheckResult(False, message, only.token, only.ttype.type_name)
        return CheckResult(False, message)

    def _challenge(self, session: Session, cand: _Candidate) -> CheckResult | None:
        """Extension point: a challenge-response type that got only its PIN creates a
        challenge here (CHALLENGE answer with transaction_id). Not built yet."""
        return None

    def _accept(self, session: Session, cand: _Candidate, counter: int, now: float) -> CheckResult:
        token, ttype = cand.token, cand.ttype
        reset_failcount(session, token)
        put_info(session, token.id, "last_auth", timestamp(datetime.fromtimestamp(now, UTC)))
        bump_info(session, token.id, "count_auth_success")
        ttype.after_success(session, counter, now)
        result = CheckResult(True, MSG_MATCHED, token, ttype.type_name)
        if ttype.deletes_after_success:
            otplen = token.otplen
            session.delete(token)
            session.flush()
            result.token = None
            result.extra = {"serial": token.serial, "type": ttype.type_name, "otplen": otplen}
        return result

    @staticmethod
    def _inc_fail_on_false_pin(session: Session) -> bool:
        value = session.scalar(
            select(ConfigSetting.value).where(ConfigSetting.key == "IncFailCountOnFalsePin")
        )
        return True if value is None or value == "" else is_true(value)


def take_write_lock(session: Session) -> None:
    """On SQLite, make this unit of work a writer before it reads anything.

    Every check writes (counters, fail counter). SQLite allows one writer; a
    transaction that read first and then writes after another writer committed gets
    SQLITE_BUSY at once and must start over, and under fifty concurrent checks that
    retry loop starves. Taking the write lock first (a no-op UPDATE) makes checks
    queue on the busy timeout instead. PostgreSQL and MariaDB lock rows, not the
    database, and skip this.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Token).where(false()).values(id=Token.id))


def unusable_reason(token: Token, now: float) -> str:
    """Why a token whose PIN matched may not authenticate now ("" if it may)."""
    if not token.active:
        return "Token is disabled"
    if token.failcount >= token.maxfail:
        return "Failcounter exceeded"
    moment = datetime.fromtimestamp(now, UTC)
    start = get_info(token, "validity_period_start")
    end = get_info(token, "validity_period_end")
    try:
        if (start and moment < parse_validity(start)) or (end and moment > parse_validity(end)):
            return "Outside validity period"
    except FactorflowError:
        log.warning("token %s has an unreadable validity period", token.serial)
        return "Outside validity period"
    for used, limit in (
        ("count_auth", "count_auth_max"),
        ("count_auth_success", "count_auth_success_max"),
    ):
        maximum = _int(get_info(token, limit))
        if maximum > 0 and _int(get_info(token, used)) >= maximum:
            return "Authentication counter exceeded"
    return ""


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def increment_failcount(session: Session, token: Token) -> None:
    """failcount + 1 in the database, never beyond maxfail; reaching maxfail writes
    ``failcounter_exceeded``."""
    stmt = (
        update(Token)
        .where(Token.id == token.id, Token.failcount < Token.maxfail)
        .values(failcount=Token.failcount + 1)
    )
    result = session.execute(stmt, execution_options={"synchronize_session": False})
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return
    row = session.execute(select(Token.failcount, Token.maxfail).where(Token.id == token.id)).one()
    set_committed_value(token, "failcount", row.failcount)
    if row.failcount >= row.maxfail:
        put_info(session, token.id, "failcounter_exceeded", timestamp())


def reset_failcount(session: Session, token: Token) -> None:
    if token.failcount == 0:
        return
    stmt = update(Token).where(Token.id == token.id).values(failcount=0)
    session.execute(stmt, execution_options={"synchronize_session": False})
    set_committed_value(token, "failcount", 0)
