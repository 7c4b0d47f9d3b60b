"""``/validate/*``: PIN + OTP authentication and challenge-response with privacyIDEA's
semantics.

The flow of ``check``, per candidate token (the user's tokens, or the one ``serial``):

1. A token the :class:`ChallengeSelector` picks (email, SMS; HOTP/TOTP when a
   policy says so) whose PIN equals the whole ``pass`` gets a challenge: the
   answer is CHALLENGE with a transaction id, the OTP goes out as a durable job
   (see :mod:`factorflow.validate.challenge`). With ``transaction_id`` (``state``)
   the request answers such a challenge instead of steps 2-5.
2. Otherwise split ``pass`` into PIN and OTP as the token type says and check the
   PIN (argon2). No PIN matched: "wrong otp pin", and with IncFailCountOnFalsePin
   (default true) every candidate's fail counter goes up.
3. For PIN-matching tokens, refuse unusable ones *before* looking at the OTP —
   disabled, outside the validity period, authentication counter exceeded — so
   such a token is no oracle for OTP guesses.
4. Check the OTP and claim the matched counter with one conditional UPDATE (see
   :mod:`factorflow.tokens.base`); losing that race reads as a replay.
5. Success resets the fail counter and writes ``last_auth`` and the counters;
   failure increments the fail counter (atomically, never beyond maxfail) and
   writes ``failcounter_exceeded`` on reaching it. A replay is no failure: it
   is counted in ``replay_count`` (:func:`~factorflow.validate.accounting.record_replay`).

A *locked* token (fail counter at its maximum) counts no more failures, so it is
left out before any PIN is checked (no free PIN guesses); with no other token the
answer is "Failcounter exceeded" whatever was sent, naming no token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from factorflow.crypto import Hasher
from factorflow.errors import ParameterError
from factorflow.policies.authn import AuthPolicy
from factorflow.tokens.base import ChallengeError, PinMode, TokenType
from factorflow.tokens.info import bump_info
from factorflow.tokens.models import Token
from factorflow.tokens.service import TokenService
from factorflow.users.errors import UserNotFoundError
from factorflow.users.identity import User
from factorflow.validate.accounting import (
    accept,
    inc_fail_on_false_pin,
    increment_failcount,
    is_locked,
    record_replay,
    take_write_lock,
    unusable_reason,
)
from factorflow.validate.authcache import MSG_AUTH_CACHE, AuthCache
from factorflow.validate.challenge import (
    ChallengeFlow,
    ChallengeSelector,
    Issued,
    JobSink,
    type_flag,
)
from factorflow.validate.policy import (
    MSG_PASS_ON_NO_USER,
    AuthDecider,
    PinCheck,
    UserLookup,
    allowed_tokens,
    no_such_user,
    pin_check,
    rate_limited,
    reset_user_tokens,
    without_tokens,
)
from factorflow.validate.requests import CheckRequest, InitializeRequest, TriggerRequest
from factorflow.validate.results import (
    MSG_LOCKED,
    MSG_MATCHED,
    MSG_NO_SUITABLE,
    MSG_REPLAY,
    MSG_WRONG_OTP,
    MSG_WRONG_PIN,
    NOT_READY,
    CheckResult,
)

DEFAULT_CHALLENGE_VALIDITY = 120


@dataclass
class _Candidate:
    token: Token
    ttype: TokenType
    otp: str


class ValidateService:
    def __init__(
        self,
        *,
        tokens: TokenService,
        users: UserLookup,
        hasher: Hasher,
        jobs: JobSink,
        challenge_validity: int = DEFAULT_CHALLENGE_VALIDITY,
        selector: ChallengeSelector = type_flag,
    ) -> None:
        self.tokens = tokens
        self.users = users
        self.hasher = hasher
        self.selector = selector
        self.challenges = ChallengeFlow(tokens, jobs, challenge_validity)
        self.auth_cache = AuthCache(hasher)

    def check(
        self,
        session: Session,
        req: CheckRequest,
        now: float | None = None,
        request_id: str = "",
        policies: AuthDecider | None = None,
    ) -> CheckResult:
        """Authenticate ``req``. Raises ParameterError/UserError for bad requests (400);
        a wrong PIN or OTP is a REJECT result and a challenge a CHALLENGE result, not
        errors. ``request_id`` links the jobs a challenge enqueues to the audit.
        ``policies`` decides the authentication/authorization policies (see
        :mod:`factorflow.validate.policy`); without it the defaults apply.

        Around the token check: ``auth_cache`` may answer first (and remembers a
        successful token authentication, see :mod:`factorflow.validate.authcache`),
        and ``auth_max_success`` / ``auth_max_fail`` may turn the result into a REJECT
        afterwards (:func:`~factorflow.validate.policy.rate_limited`)."""
        moment = time.time() if now is None else now
        take_write_lock(session)
        try:
            user, tokens = self._candidates(session, req.user, req.realm, req.serial)
        except UserNotFoundError:
            if policies is not None and policies.authentication(None, req.realm).pass_on_no_user:
                return CheckResult(True, MSG_PASS_ON_NO_USER)
            raise no_such_user(self.users, session, req.user or "", req.realm or "") from None
        decided = policies.authentication(user, req.realm) if policies else AuthPolicy()
        if user is None:
            return self._authenticate(
                session, req, user, tokens, decided=decided, moment=moment, request_id=request_id
            )
        when = datetime.fromtimestamp(moment, UTC)
        # privacyIDEA's cache is for users, not serials, and never answers a challenge.
        rule = decided.auth_cache if not (req.serial or req.transaction_id) else None
        if (
            rule is not None
            and self._can_authenticate(tokens, moment)
            and self.auth_cache.use(session, user, req.password, rule, when)
        ):
            result = CheckResult(True, MSG_AUTH_CACHE, user=user)
            return rate_limited(session, decided, user, result, when) or result
        result = self._authenticate(
            session, req, user, tokens, decided=decided, moment=moment, request_id=request_id
        )
        result = rate_limited(session, decided, user, result, when) or result
        if rule is not None and result.accepted and result.token is not None:
            self.auth_cache.store(session, user, req.password, rule, when)
        return result

    def warm_up_pins(
        self, session: Session, req: CheckRequest, policies: AuthDecider | None = None
    ) -> None:
        """Verify the token PINs that :meth:`check` of ``req`` will verify, in a
        read-only ``session`` inside a request memo (:mod:`factorflow.core.memo`), so
        that the check itself, holding SQLite's write lock, finds the verifications
        and the user lookup in memory. Mirrors the check's choice of tokens and PINs;
        a token it misses is simply verified by the check. Decides nothing. Raises
        what :meth:`check` would for a bad request."""
        if req.transaction_id:
            return  # an answer to a challenge checks no PIN
        user, tokens = self._candidates(session, req.user, req.realm, req.serial)
        decided = policies.authentication(user, req.realm) if policies else AuthPolicy()
        if decided.otppin != "tokenpin":
            return
        tokens, refused = allowed_tokens(decided, self._ready(tokens, req.type), time.time())
        if refused is not None:
            return
        tokens = [token for token in tokens if not is_locked(token)]
        challenges = not (req.otponly and req.serial)
        for token in tokens:
            ttype = self.tokens.type_of(token)
            if (
                challenges
                and self._may_challenge(session, ttype, user)
                and self.tokens.verify_pin(token, req.password)
            ):
                continue  # the PIN alone: the check answers with a challenge
            pin, _otp = self._split(ttype, req)
            if pin is not None:
                self.tokens.verify_pin(token, pin)

    def _can_authenticate(self, tokens: list[Token], now: float) -> bool:
        """Whether one of the user's tokens could authenticate now: a disabled, locked
        or expired token ends what the cache remembers of it at once."""
        return any(not unusable_reason(token, now) for token in self._ready(tokens, None))

    def _authenticate(
        self,
        session: Session,
        req: CheckRequest,
        user: User | None,
        tokens: list[Token],
        *,
        decided: AuthPolicy,
        moment: float,
        request_id: str,
    ) -> CheckResult:
        """The check itself: passthru and friends, challenges, PIN and OTP."""
        if user is not None and not tokens and not req.serial:
            return without_tokens(decided, self.users, session, user, req.password)
        tokens = self._ready(tokens, req.type)
        if not tokens:
            return CheckResult(False, MSG_NO_SUITABLE, user=user)
        all_tokens = tokens
        tokens, refused = allowed_tokens(decided, tokens, moment)
        if refused is not None:
            refused.user = user
            return refused
        tokens = [token for token in tokens if not is_locked(token)]
        if not tokens:
            return CheckResult(False, MSG_LOCKED, user=user)
        pin_ok = pin_check(
            decided, self.tokens.verify_pin, self.users, session,
            lambda token: user or self.tokens.access.owner_of(session, token),
        )  # fmt: skip
        result: CheckResult | None
        if req.transaction_id:
            result = self.challenges.answer(
                session, tokens, req.transaction_id, req.password, moment
            )
        else:
            result = self._challenge(
                session, tokens, req, user, now=moment, request_id=request_id, pin_ok=pin_ok
            )
            if result is None:
                result = self._check_tokens(session, tokens, req, moment, pin_ok)
        if result.accepted and decided.reset_all_user_tokens:
            reset_user_tokens(session, all_tokens)
        result.user = user
        return result

    def trigger(
        self, session: Session, req: TriggerRequest, now: float | None = None, request_id: str = ""
    ) -> Issued:
        """``/validate/triggerchallenge``: a challenge for every usable token of the
        user (or the serial) that the selector picks, without a PIN. Raises
        :class:`ChallengeError` when tokens qualified but none could be sent to."""
        moment = time.time() if now is None else now
        take_write_lock(session)
        user, tokens = self._candidates(session, req.user, req.realm, req.serial)
        chosen = [
            token
            for token in self._ready(tokens, req.type)
            if self.selector(session, self.tokens.type_of(token), user)
            and not unusable_reason(token, moment)
        ]
        issued = self.challenges.issue(session, chosen, user, moment, request_id)
        if not issued.items and issued.errors:
            raise ChallengeError(issued.errors[0])
        return issued

    def initialize(
        self, session: Session, req: InitializeRequest, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``/validate/initialize`` for ``req.type``; ``params`` are all parameters
        of the request (a type may read its own). Raises ParameterError for a type
        that cannot start an authentication without a user."""
        take_write_lock(session)
        return self.challenges.initialize(session, req.type, params, time.time())

    def poll(self, session: Session, transaction_id: str, now: float | None = None) -> str:
        """``/validate/polltransaction``: accept, declined, cancelled or pending."""
        moment = time.time() if now is None else now
        return self.challenges.status(session, transaction_id, moment)

    def _candidates(
        self, session: Session, login: str | None, realm: str | None, serial: str | None
    ) -> tuple[User | None, list[Token]]:
        if not serial and not login:
            raise ParameterError("You need to specify a serial, user or credential_id.")
        if serial is not None and "*" in serial:
            raise ParameterError("Invalid serial number.")
        if login is not None and "%" in login:
            raise ParameterError("Invalid user.")
        user = self.users.resolve(session, login, realm or "") if login else None
        if not serial:
            assert user is not None
            return user, self.tokens.access.user_tokens(session, user)
        token = self.tokens.access.find(session, serial)
        if token is None or (user is not None and not self.tokens.access.owned_by(token, user)):
            return user, []
        return user or self.tokens.access.owner_of(session, token), [token]

    @staticmethod
    def _ready(tokens: list[Token], type_name: str | None) -> list[Token]:
        if type_name:
            tokens = [t for t in tokens if t.tokentype == type_name.lower()]
        return [t for t in tokens if t.rollout_state not in NOT_READY]

    def _challenge(
        self,
        session: Session,
        tokens: list[Token],
        req: CheckRequest,
        user: User | None,
        *,
        now: float,
        request_id: str,
        pin_ok: PinCheck,
    ) -> CheckResult | None:
        """Challenges for the tokens whose PIN is the whole ``pass``; None when no
        challenge-response token matched, so that the OTP path runs."""
        if req.otponly and req.serial:
            return None
        matched = []
        for token in tokens:
            ttype = self.tokens.type_of(token)
            if self._may_challenge(session, ttype, user) and pin_ok(token, req.password):
                matched.append(token)
        if not matched:
            return None
        usable = [token for token in matched if not unusable_reason(token, now)]
        if not usable:
            return self._rejected(matched, unusable_reason(matched[0], now))
        issued = self.challenges.issue(session, usable, user, now, request_id)
        if not issued.items:
            if req.exception:
                raise ChallengeError(issued.errors[0])
            return self._rejected(usable, issued.errors[0])
        detail = issued.detail()
        return CheckResult(False, detail["message"], challenge=detail)

    def _rejected(self, tokens: list[Token], message: str) -> CheckResult:
        if len(tokens) == 1:
            return CheckResult(False, message, tokens[0], tokens[0].tokentype)
        return CheckResult(False, message)

    def _may_challenge(self, session: Session, ttype: TokenType, user: User | None) -> bool:
        """Whether a PIN-alone ``pass`` makes this token answer with a challenge. The
        selector is asked first: only its tokens pay for a second argon2 check."""
        return ttype.pin_mode is PinMode.PREPEND and self.selector(session, ttype, user)

    @staticmethod
    def _split(ttype: TokenType, req: CheckRequest) -> tuple[str | None, str]:
        """(the PIN to check, or None when none is checked; the OTP) of ``req.pass``."""
        if req.otponly and req.serial and ttype.pin_mode is not PinMode.WHOLE:
            return None, req.password
        pin, otp = ttype.split_pass(req.password)
        return (None if ttype.pin_mode is PinMode.NONE else pin), otp

    def _check_tokens(
        self, session: Session, tokens: list[Token], req: CheckRequest, now: float, pin_ok: PinCheck
    ) -> CheckResult:
        matched: list[_Candidate] = []
        for token in tokens:
            ttype = self.tokens.type_of(token)
            pin, otp = self._split(ttype, req)
            if pin is None or pin_ok(token, pin):
                matched.append(_Candidate(token, ttype, otp))
        if not matched:
            if inc_fail_on_false_pin(session):
                for token in tokens:
                    increment_failcount(session, token)
            return CheckResult(False, MSG_WRONG_PIN)
        return self._check_otps(session, matched, now)

    def _check_otps(self, session: Session, matched: list[_Candidate], now: float) -> CheckResult:
        reasons: list[str] = []
        failed: list[_Candidate] = []
        replayed: list[_Candidate] = []
        for cand in matched:
            reason = unusable_reason(cand.token, now)
            if reason:
                reasons.append(reason)
                continue
            bump_info(session, cand.token.id, "count_auth")
            check = cand.ttype.check_otp(cand.otp, now)
            if check.counter is not None and cand.ttype.commit_otp(session, check.counter):
                return accept(
                    session, cand.token, cand.ttype, check.counter, now=now, message=MSG_MATCHED
                )
            # A match whose counter another request claimed first is a replay too.
            (replayed if check.replay or check.matched else failed).append(cand)
        for cand in failed:
            increment_failcount(session, cand.token)
        for cand in replayed:
            record_replay(session, cand.token, now)
        message = MSG_REPLAY if replayed else MSG_WRONG_OTP if failed else reasons[0]
        if len(matched) == 1:
            only = matched[0]
            return CheckResult(False, message, only.token, only.ttype.type_name)
        return CheckResult(False, message)


__all__ = ["CheckResult", "ValidateService"]
