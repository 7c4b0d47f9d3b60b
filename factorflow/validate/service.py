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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from factorflow.crypto import Hasher
from factorflow.errors import ParameterError
from factorflow.policies.authn import AuthPolicy
from factorflow.tokens.base import (
    ChallengeError,
    CheckContext,
    IssuedChallenge,
    OtpCheck,
    PinMode,
    TokenType,
)
from factorflow.tokens.info import bump_info
from factorflow.tokens.models import Token
from factorflow.tokens.service import TokenService
from factorflow.users.errors import UserNotFoundError
from factorflow.users.identity import User
from factorflow.users.service import NOT_FOUND
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
from factorflow.validate.fido import credential_owner
from factorflow.validate.plan import CheckPlan
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
from factorflow.validate.realmpass import realm_tokens
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
    #: The PIN that matched (None: the type checks no PIN here).
    pin: str | None = None


@dataclass
class _Choice:
    """What :meth:`ValidateService._choose` found: an answer already (``decided``),
    or the usable ``tokens`` and among them the ones whose PIN is the whole ``pass``
    (``challenged``) or whose PIN matched, with their OTPs (``matched``)."""

    decided: CheckResult | None
    tokens: list[Token] = field(default_factory=list)
    #: The ready tokens before the policies and locks left some out
    #: (``reset_all_user_tokens`` resets them all).
    all_tokens: list[Token] = field(default_factory=list)
    challenged: list[Token] = field(default_factory=list)
    matched: list[_Candidate] = field(default_factory=list)


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

    def prepare(
        self,
        session: Session,
        req: CheckRequest,
        policies: AuthDecider | None = None,
        now: float | None = None,
    ) -> CheckPlan:
        """The choosing half of :meth:`check` on any (read-only) ``session``: the user
        lookup and the verifications the choice needs, kept in the returned plan
        (:mod:`factorflow.validate.plan`). Changes nothing and decides nothing that
        :meth:`check` does not decide again under the write lock. Raises what
        :meth:`check` would for a bad request."""
        plan = CheckPlan(req)
        moment = time.time() if now is None else now
        try:
            user, tokens = self._candidates(session, req, plan)
        except UserNotFoundError:
            plan.unknown_user = True  # the check answers it; nothing to verify first
            return plan
        plan.user = user if req.user else None
        decided = policies.authentication(user, req.realm) if policies else AuthPolicy()
        self._choose(session, plan, user, tokens, decided=decided, moment=moment)
        return plan

    def check(
        self,
        session: Session,
        req: CheckRequest,
        now: float | None = None,
        request_id: str = "",
        policies: AuthDecider | None = None,
        *,
        plan: CheckPlan | None = None,
    ) -> CheckResult:
        """Authenticate ``req``. Raises ParameterError/UserError for bad requests (400);
        a wrong PIN or OTP is a REJECT result and a challenge a CHALLENGE result, not
        errors. ``request_id`` links the jobs a challenge enqueues to the audit.
        ``policies`` decides the authentication/authorization policies (see
        :mod:`factorflow.validate.policy`); without it the defaults apply. ``plan``,
        from :meth:`prepare` of the same request, saves the verifications it made.

        Around the token check: ``auth_cache`` may answer first (and remembers a
        successful token authentication, see :mod:`factorflow.validate.authcache`),
        and ``auth_max_success`` / ``auth_max_fail`` may turn the result into a REJECT
        afterwards (:func:`~factorflow.validate.policy.rate_limited`)."""
        moment = time.time() if now is None else now
        take_write_lock(session)
        if plan is None or not plan.serves(req):
            plan = CheckPlan(req)
        try:
            user, tokens = self._candidates(session, req, plan)
        except UserNotFoundError:
            if policies is not None and policies.authentication(None, req.realm).pass_on_no_user:
                return CheckResult(True, MSG_PASS_ON_NO_USER)
            raise no_such_user(self.users, session, req.user or "", req.realm or "") from None
        decided = policies.authentication(user, req.realm) if policies else AuthPolicy()
        if user is None:
            return self._authenticate(
                session, plan, user, tokens, decided=decided, moment=moment, request_id=request_id
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
            session, plan, user, tokens, decided=decided, moment=moment, request_id=request_id
        )
        result = rate_limited(session, decided, user, result, when) or result
        if rule is not None and result.accepted and result.token is not None:
            self.auth_cache.store(session, user, req.password, rule, when)
        return result

    def _can_authenticate(self, tokens: list[Token], now: float) -> bool:
        """Whether one of the user's tokens could authenticate now: a disabled, locked
        or expired token ends what the cache remembers of it at once."""
        return any(not unusable_reason(token, now) for token in self._ready(tokens, None))

    def _choose(
        self,
        session: Session,
        plan: CheckPlan,
        user: User | None,
        tokens: list[Token],
        *,
        decided: AuthPolicy,
        moment: float,
    ) -> _Choice:
        """Passthru and friends, the tokens that may be used, and whose PIN matches:
        everything of the check that only reads. Its slow verifications go through
        the plan, so choosing again (under the write lock) costs no second argon2."""
        req = plan.request
        passwords = plan.verifications.passwords(self.users)
        if user is not None and not tokens and not req.serial:
            return _Choice(without_tokens(decided, passwords, session, user, req.password))
        ready = self._ready(tokens, req.type)
        tokens = self._used_for(ready, req)
        if not tokens:
            return _Choice(CheckResult(False, MSG_NO_SUITABLE, user=user))
        all_tokens = ready  # reset_all_user_tokens resets those left out here too
        tokens, refused = allowed_tokens(decided, tokens, moment)
        if refused is not None:
            refused.user = user
            return _Choice(refused)
        tokens = [token for token in tokens if not is_locked(token)]
        if not tokens:
            return _Choice(CheckResult(False, MSG_LOCKED, user=user))
        if req.transaction_id:
            return _Choice(None, tokens, all_tokens)
        if req.assertion() is not None:
            raise ParameterError("Missing parameter: 'transaction_id'")
        pin_ok = pin_check(
            decided, plan.verifications.token_pins(self.tokens.verify_pin), passwords, session,
            lambda token: user or self.tokens.access.owner_of(session, token),
        )  # fmt: skip
        challenged = self._challenged(session, tokens, req, user, pin_ok)
        if challenged:
            return _Choice(None, tokens, all_tokens, challenged=challenged)
        matched = []
        for token in tokens:
            ttype = self.tokens.type_of(token)
            pin, otp = self._split(ttype, req)
            if pin is None or pin_ok(token, pin):
                matched.append(_Candidate(token, ttype, otp, pin))
        return _Choice(None, tokens, all_tokens, matched=matched)

    def _authenticate(
        self,
        session: Session,
        plan: CheckPlan,
        user: User | None,
        tokens: list[Token],
        *,
        decided: AuthPolicy,
        moment: float,
        request_id: str,
    ) -> CheckResult:
        """The check itself: the choice (:meth:`_choose`), then what it leads to —
        a challenge sent, a challenge answered, the OTP claimed or the counters."""
        choice = self._choose(session, plan, user, tokens, decided=decided, moment=moment)
        if choice.decided is not None:
            return choice.decided
        req = plan.request
        if req.transaction_id:
            result = self.challenges.answer(
                session, choice.tokens, req.transaction_id, req.password, moment,
                options=decided.type_options, assertion=req.assertion(),
            )  # fmt: skip
        elif choice.challenged:
            result = self._challenge(
                session, choice.challenged, req, user, now=moment, request_id=request_id,
                options=decided.type_options,
            )  # fmt: skip
        elif not choice.matched:
            if inc_fail_on_false_pin(session):
                for token in choice.tokens:
                    increment_failcount(session, token)
            result = CheckResult(False, MSG_WRONG_PIN)
        else:
            result = self._check_otps(session, choice.matched, moment)
        if result.accepted and decided.reset_all_user_tokens:
            reset_user_tokens(session, choice.all_tokens)
        if result.accepted and user is not None and not req.user and not req.serial:
            # A usernameless (passkey) login: the client learns who logged in.
            result.extra.update(username=user.login, realm=user.realm)
        result.user = user
        return result

    def trigger(
        self,
        session: Session,
        req: TriggerRequest,
        now: float | None = None,
        request_id: str = "",
        policies: AuthDecider | None = None,
    ) -> Issued:
        """``/validate/triggerchallenge``: a challenge for every usable token of the
        user (or the serial) that the selector picks, without a PIN; ``policies``
        give the challenges their type policy values. Raises
        :class:`ChallengeError` when tokens qualified but none could be sent to."""
        moment = time.time() if now is None else now
        take_write_lock(session)
        user, tokens = self._candidates(session, req)
        chosen = [
            token
            for token in self._ready(tokens, req.type)
            if self.selector(session, self.tokens.type_of(token), user)
            and not unusable_reason(token, moment)
        ]
        decided = policies.authentication(user, req.realm) if policies else AuthPolicy()
        issued = self.challenges.issue(
            session, chosen, user, moment, request_id, options=decided.type_options,
            request=req.challenge_request(),
        )  # fmt: skip
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
        self, session: Session, req: CheckRequest | TriggerRequest, plan: CheckPlan | None = None
    ) -> tuple[User | None, list[Token]]:
        """The user the request names (from ``plan`` when it looked them up) and the
        tokens to try: the user's, or the one serial (of that user)."""
        login, realm, serial = req.user, req.realm, req.serial
        credential = req.credential_id if isinstance(req, CheckRequest) else None
        if not serial and not login and credential:
            return credential_owner(self.tokens, session, credential)
        if not serial and not login:
            raise ParameterError("You need to specify a serial, user or credential_id.")
        if serial is not None and "*" in serial:
            raise ParameterError("Invalid serial number.")
        if login is not None and "%" in login:
            raise ParameterError("Invalid user.")
        user = plan.user if plan is not None else None
        if login and plan is not None and plan.unknown_user:
            raise UserNotFoundError(NOT_FOUND)
        if login and user is None:
            user = self.users.resolve(session, login, realm or "")
        elif login and user is not None:
            self.users.remember(session, login, realm or "", user)
        if not serial:
            assert user is not None
            return user, self.tokens.access.user_tokens(session, user)
        token = self.tokens.access.find(session, serial)
        if token is None or (user is not None and not self.tokens.access.owned_by(token, user)):
            return user, []
        return user or self.tokens.access.owner_of(session, token), [token]

    def _used_for(self, tokens: list[Token], req: CheckRequest) -> list[Token]:
        """The tokens whose type takes part in this request (``TokenType.used_for``)."""
        ctx = CheckContext(service_id=req.service_id or "", assertion=req.assertion() is not None)
        return [token for token in tokens if self.tokens.type_of(token).used_for(ctx)]

    def _ready(self, tokens: list[Token], type_name: str | None) -> list[Token]:
        if type_name:
            tokens = [t for t in tokens if t.tokentype == type_name.lower()]
        return [
            t
            for t in tokens
            if t.rollout_state not in NOT_READY and self._authenticates(t.tokentype)
        ]

    def _authenticates(self, type_name: str) -> bool:
        type_cls = self.tokens.types.get(type_name)
        return type_cls is None or type_cls.authenticates

    def _challenged(
        self,
        session: Session,
        tokens: list[Token],
        req: CheckRequest,
        user: User | None,
        pin_ok: PinCheck,
    ) -> list[Token]:
        """The challenge-response tokens whose PIN is the whole ``pass``."""
        if req.otponly and req.serial:
            return []
        return [
            token
            for token in tokens
            if self._may_challenge(session, self.tokens.type_of(token), user)
            and pin_ok(token, req.password)
        ]

    def _challenge(
        self,
        session: Session,
        matched: list[Token],
        req: CheckRequest,
        user: User | None,
        *,
        now: float,
        request_id: str,
        options: Mapping[str, str],
    ) -> CheckResult:
        """Challenges for the tokens whose PIN is the whole ``pass``."""
        usable = [token for token in matched if not unusable_reason(token, now)]
        if not usable:
            return self._rejected(matched, unusable_reason(matched[0], now))
        issued = self.challenges.issue(
            session, usable, user, now, request_id, options=options,
            request=req.challenge_request(),
        )  # fmt: skip
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

    def _check_otps(self, session: Session, matched: list[_Candidate], now: float) -> CheckResult:
        reasons: list[str] = []
        failed: list[_Candidate] = []
        replayed: list[_Candidate] = []
        asked: list[tuple[Token, IssuedChallenge]] = []
        for cand in matched:
            reason = unusable_reason(cand.token, now)
            if reason:
                reasons.append(reason)
                continue
            bump_info(session, cand.token.id, "count_auth")
            check = self._check_one(session, cand, now)
            if check.challenge is not None:  # the other server asked back (RADIUS)
                asked.append((cand.token, check.challenge))
                continue
            if check.counter is not None and cand.ttype.commit_otp(session, check.counter):
                if cand.pin:
                    self.tokens.strengthen_pin(cand.token, cand.pin)
                return accept(
                    session, cand.token, cand.ttype, check.counter, now=now, message=MSG_MATCHED
                )
            # A match whose counter another request claimed first is a replay too.
            (replayed if check.replay or check.matched else failed).append(cand)
        for cand in failed:
            increment_failcount(session, cand.token)
        for cand in replayed:
            record_replay(session, cand.token, now)
        if asked:
            detail = self.challenges.issue_asked(session, asked, now).detail()
            return CheckResult(False, detail["message"], challenge=detail)
        message = MSG_REPLAY if replayed else MSG_WRONG_OTP if failed else reasons[0]
        if len(matched) == 1:
            only = matched[0]
            return CheckResult(False, message, only.token, only.ttype.type_name)
        return CheckResult(False, message)

    def _check_one(self, session: Session, cand: _Candidate, now: float) -> OtpCheck:
        """The candidate's OTP check; a type that checks other tokens (4eyes) gets
        them through :meth:`_realm_pass`. Their claims stand only together: a pass
        that does not satisfy the type is rolled back, leaving every member token as
        it was (its failure counts on the type's own token)."""
        if not cand.ttype.checks_realms:
            return cand.ttype.check_otp(cand.otp, now)
        with session.begin_nested() as members:
            check = cand.ttype.check_realms(
                cand.otp, now, lambda realm, passw: self._realm_pass(session, realm, passw, now)
            )
            if not check.matched:
                members.rollback()
        return check

    def _realm_pass(self, session: Session, realm: str, passw: str, now: float) -> str | None:
        """``passw`` checked against the usable tokens of ``realm`` as ``/validate/check``
        checks a user's (PIN, then OTP and its claim); the accepting token's serial."""
        matched = []
        for token in self._ready(realm_tokens(session, realm), None):
            ttype = self.tokens.type_of(token)
            if ttype.checks_realms or is_locked(token):
                continue
            pin, otp = ttype.split_pass(passw)
            if ttype.pin_mode is PinMode.NONE or self.tokens.verify_pin(token, pin):
                matched.append(_Candidate(token, ttype, otp, pin))
        if not matched:
            return None
        result = self._check_otps(session, matched, now)
        return result.token.serial if result.accepted and result.token is not None else None


__all__ = ["CheckResult", "ValidateService"]
