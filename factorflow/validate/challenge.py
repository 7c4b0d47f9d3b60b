"""Challenge-response: issuing challenges and checking their answers.

Issuing (a PIN alone for a challenge-response token, or ``/validate/triggerchallenge``):
one new transaction id for the request, one challenge per token. A type that sends
its OTP returns a :class:`~factorflow.tokens.base.Delivery`, enqueued here as a
durable job in the request's own transaction with the idempotency key
``challenge:<transaction_id>:<serial>``: the message exists exactly when the
challenge does, and a worker retries it while the mail server is away.

Answering (``transaction_id`` or ``state`` plus the OTP): only the challenges of that
transaction that belong to the request's candidate tokens count, so a transaction id
presented for another user matches nothing. A challenge is accepted once — a
conditional UPDATE claims it — and only before it expires.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from factorflow.errors import ParameterError
from factorflow.tokens import challenges as store
from factorflow.tokens.base import (
    Assertion,
    ChallengeContext,
    ChallengeError,
    InitializeContext,
    IssuedChallenge,
    TokenType,
)
from factorflow.tokens.info import bump_info
from factorflow.tokens.models import Challenge, Token
from factorflow.tokens.sent import system_setting
from factorflow.tokens.service import TokenService
from factorflow.users.identity import User
from factorflow.validate.accounting import (
    accept,
    increment_failcount,
    record_replay,
    unusable_reason,
)
from factorflow.validate.fido import answer_assertion
from factorflow.validate.results import (
    MSG_CHALLENGE_ANSWERED,
    MSG_CHALLENGE_DECLINED,
    MSG_CHALLENGE_EXPIRED,
    MSG_CHALLENGE_MATCHED,
    MSG_NO_CHALLENGE,
    CheckResult,
)

log = logging.getLogger(__name__)

#: Client modes in the order privacyIDEA's clients prefer them.
CLIENT_MODE_PREFERENCE = ("webauthn", "poll", "u2f", "interactive")
MAX_VALIDITY = 24 * 3600


class JobSink(Protocol):
    """What issuing needs from the durable job queue (``JobService``)."""

    def enqueue(
        self,
        session: Session,
        *,
        kind: str,
        payload: dict[str, Any],
        idempotency_key: str | None = None,
        request_id: str = "",
    ) -> int: ...


class ChallengeSelector(Protocol):
    """Decides whether ``ttype`` answers a PIN alone with a challenge for ``user``.

    The default is the type's own :attr:`~factorflow.tokens.base.TokenType.challenge_response`;
    a policy engine (privacyIDEA's ``challenge_response`` policy) may widen it to
    HOTP or TOTP per realm or user."""

    def __call__(self, session: Session, ttype: TokenType, user: User | None) -> bool: ...


def type_flag(session: Session, ttype: TokenType, user: User | None) -> bool:
    return ttype.challenge_response


@dataclass
class Issued:
    """The challenges one request created, and why other tokens got none."""

    transaction_id: str
    items: list[tuple[Token, IssuedChallenge]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def detail(self) -> dict[str, Any]:
        """privacyIDEA's challenge ``detail``: one ``multi_challenge`` entry per
        challenge (``image`` and ``attributes`` only where the type sets them), the
        messages and transaction ids of all of them (repeats kept, as privacyIDEA
        lists them) and, when there is one, ``serial``/``type`` of the last
        challenge, the transaction id and the client modes. Without challenges
        only the empty lists."""
        multi = [self._entry(token, issued) for token, issued in self.items]
        detail: dict[str, Any] = {
            "multi_challenge": multi,
            "transaction_ids": [self.transaction_id for _ in multi],
            "messages": [item["message"] for item in multi],
        }
        if not multi:
            return detail
        modes = [item["client_mode"] for item in multi]
        detail.update(
            message=", ".join(detail["messages"]),
            transaction_id=self.transaction_id,
            serial=multi[-1]["serial"],
            type=multi[-1]["type"],
            client_mode=modes[0],
            preferred_client_mode=next(
                (mode for mode in CLIENT_MODE_PREFERENCE if mode in modes), modes[0]
            ),
        )
        return detail

    def _entry(self, token: Token, issued: IssuedChallenge) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "serial": token.serial,
            "transaction_id": self.transaction_id,
            "message": issued.message,
            "type": token.tokentype,
            "client_mode": issued.client_mode,
        }
        if issued.image is not None:
            entry["image"] = issued.image
        if issued.attributes is not None:
            entry["attributes"] = issued.attributes
        return entry


class ChallengeFlow:
    def __init__(self, tokens: TokenService, jobs: JobSink, default_validity: int) -> None:
        self.tokens = tokens
        self.jobs = jobs
        self.default_validity = default_validity

    def validity(self, session: Session, ttype: TokenType) -> int:
        """Seconds a challenge of ``ttype`` lives: the type's system settings, then
        ``DefaultChallengeValidityTime``, then the configured default."""
        for key in (*ttype.challenge_validity_keys, "DefaultChallengeValidityTime"):
            value = system_setting(session, key).strip()
            if value.isdigit() and int(value) > 0:
                return min(int(value), MAX_VALIDITY)
        return self.default_validity

    def issue(
        self,
        session: Session,
        tokens: Sequence[Token],
        user: User | None,
        now: float,
        request_id: str = "",
        *,
        options: Mapping[str, str] | None = None,
        request: Mapping[str, str] | None = None,
    ) -> Issued:
        """Create a challenge for each of ``tokens`` (already checked: PIN, usable)
        under one new transaction id and enqueue their messages. ``options``: the
        token-type authentication policy values (``ChallengeContext.options``)."""
        issued = Issued(store.new_transaction_id())
        for token in tokens:
            ttype = self.tokens.type_of(token)
            owner = user if user is not None else self.tokens.access.owner_of(session, token)
            validity = self.validity(session, ttype)
            ctx = ChallengeContext(
                issued.transaction_id, owner, now, validity, options or {}, request or {}
            )
            try:
                challenge = ttype.create_challenge(session, ctx)
            except ChallengeError as exc:
                log.info("no challenge for token %s: %s", token.serial, exc.message)
                issued.errors.append(exc.message)
                continue
            store.add_challenge(
                session, token, issued.transaction_id, challenge, now=now, validity=validity
            )
            if challenge.delivery is not None:
                self.jobs.enqueue(
                    session,
                    kind=challenge.delivery.kind,
                    payload=challenge.delivery.payload,
                    idempotency_key=f"challenge:{issued.transaction_id}:{token.serial}",
                    request_id=request_id,
                )
            issued.items.append((token, challenge))
        return issued

    def issue_asked(
        self, session: Session, asked: Sequence[tuple[Token, IssuedChallenge]], now: float
    ) -> Issued:
        """Store the challenges that tokens' own checks asked for (a RADIUS server's
        Access-Challenge, :attr:`OtpCheck.challenge`) under one new transaction id."""
        issued = Issued(store.new_transaction_id())
        for token, challenge in asked:
            validity = self.validity(session, self.tokens.type_of(token))
            store.add_challenge(
                session, token, issued.transaction_id, challenge, now=now, validity=validity
            )
            issued.items.append((token, challenge))
        return issued

    def answer(
        self,
        session: Session,
        tokens: Sequence[Token],
        transaction_id: str,
        otp: str,
        now: float,
        *,
        options: Mapping[str, str] | None = None,
        assertion: Assertion | None = None,
    ) -> CheckResult:
        """Check ``otp`` (or a WebAuthn ``assertion``: :mod:`factorflow.validate.fido`)
        against the challenges of ``transaction_id`` that belong to ``tokens``. A
        wrong answer counts as a failure of its token; expired or answered challenges
        are refused without looking at the OTP. A right answer whose type asks a
        further question (:meth:`TokenType.next_challenge`, given ``options`` as when
        issuing) is a new challenge in the same transaction instead of an acceptance."""
        by_id = {token.id: token for token in tokens}
        rows = [
            row for row in store.for_transaction(session, transaction_id) if row.token_id in by_id
        ]
        if assertion is not None:
            return answer_assertion(
                self.tokens, session, tokens, rows, transaction_id=transaction_id,
                assertion=assertion, now=now,
            )  # fmt: skip
        if not rows:
            return CheckResult(False, MSG_NO_CHALLENGE)
        reasons: list[str] = []
        failed: list[Token] = []
        for row in rows:
            token = by_id[row.token_id]
            ttype = self.tokens.type_of(token)
            store.count_received(session, row)
            if ttype.answered_on_device:
                collected = self._collect(session, row, token, ttype, now)
                if isinstance(collected, CheckResult):
                    return collected
                if collected:
                    reasons.append(collected)
                else:
                    failed.append(token)
                continue
            if ttype.answers_with_assertion:
                reasons.append(MSG_NO_CHALLENGE)  # an OTP is no answer; nothing counted
                continue
            if row.otp_valid:
                record_replay(session, token, now)
                reasons.append(MSG_CHALLENGE_ANSWERED)
                continue
            expired = store.is_expired(row, now)
            reason = MSG_CHALLENGE_EXPIRED if expired else unusable_reason(token, now)
            if reason:
                reasons.append(reason)
                continue
            bump_info(session, token.id, "count_auth")
            check = ttype.check_challenge_answer(otp, row.otp_counter, row.data or {}, now)
            if check.counter is None:
                failed.append(token)
            elif store.claim_answer(session, row, now) and ttype.commit_answer(
                session, check.counter
            ):
                further = self._further(session, token, ttype, row, now=now, options=options or {})
                if further is not None:
                    return further
                result = accept(
                    session, token, ttype, check.counter, now=now, message=MSG_CHALLENGE_MATCHED
                )
                result.answered = True
                return result
            else:
                # A concurrent request with the same answer claimed it first.
                record_replay(session, token, now)
                reasons.append(MSG_CHALLENGE_ANSWERED)
        for token in dict.fromkeys(failed):
            increment_failcount(session, token)
        message = MSG_NO_CHALLENGE if failed else reasons[0]
        serials = {row.token_id for row in rows}
        if len(serials) == 1:
            only = by_id[rows[0].token_id]
            return CheckResult(False, message, only, only.tokentype)
        return CheckResult(False, message)

    @staticmethod
    def _collect(
        session: Session, row: Challenge, token: Token, ttype: TokenType, now: float
    ) -> CheckResult | str:
        """The answer a device gave to ``row`` (``TokenType.answered_on_device``): the
        result when accepted (collected once) or declined; else why not — "" when the
        device has not answered, which counts as a wrong answer (privacyIDEA's
        "Response did not match the challenge.")."""
        if store.is_expired(row, now):
            return MSG_CHALLENGE_EXPIRED
        reason = unusable_reason(token, now)
        if reason:
            return reason
        if row.session == store.DECLINED:
            return CheckResult(
                False, MSG_CHALLENGE_DECLINED, token, token.tokentype, declined=True,
                extra={"challenge_status": "declined"},
            )  # fmt: skip
        if row.session == store.COLLECTED:
            record_replay(session, token, now)
            return MSG_CHALLENGE_ANSWERED
        bump_info(session, token.id, "count_auth")  # before the claim, as the OTP path does
        if not row.otp_valid:
            return ""
        if not store.collect_confirmed(session, row, now):
            record_replay(session, token, now)  # a concurrent check collected it first
            return MSG_CHALLENGE_ANSWERED
        result = accept(session, token, ttype, 0, now=now, message=MSG_CHALLENGE_MATCHED)
        result.answered = True
        return result

    def _further(
        self,
        session: Session,
        token: Token,
        ttype: TokenType,
        row: Challenge,
        *,
        now: float,
        options: Mapping[str, str],
    ) -> CheckResult | None:
        """The CHALLENGE answer of a further challenge after a right answer, or None."""
        validity = self.validity(session, ttype)
        owner = self.tokens.access.owner_of(session, token)
        ctx = ChallengeContext(row.transaction_id, owner, now, validity, options)
        follow = ttype.next_challenge(session, row.data or {}, ctx)
        if follow is None:
            return None
        # The answered step is done with: gone, it reads neither as a replay of the
        # next answer nor as the transaction's outcome when polled.
        session.delete(row)
        store.add_challenge(session, token, row.transaction_id, follow, now=now, validity=validity)
        issued = Issued(row.transaction_id, [(token, follow)])
        detail = issued.detail()
        return CheckResult(False, detail["message"], challenge=detail)

    def initialize(
        self, session: Session, type_name: str, params: Mapping[str, Any], now: float
    ) -> dict[str, Any]:
        """``/validate/initialize``: the detail of a challenge that ``type_name``
        starts before the user is known (:meth:`TokenType.initialize`). A type that
        is not installed or cannot start one is refused as privacyIDEA refuses it."""
        ctx = InitializeContext(store.new_transaction_id(), now, params)
        type_cls = self.tokens.types.get(type_name.lower())
        started = type_cls.initialize(session, ctx) if type_cls is not None else None
        if started is None:
            raise ParameterError(
                f"Unsupported token type {type_name!r} for authentication initialization!"
            )
        return {**started.detail, "transaction_id": ctx.transaction_id}

    @staticmethod
    def status(session: Session, transaction_id: str, now: float) -> str:
        return store.status(store.for_transaction(session, transaction_id), now)
