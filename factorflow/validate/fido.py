"""Answers to WebAuthn challenges: a signed assertion instead of an OTP (W3C WebAuthn
Level 3 §7.2), for ``webauthn`` tokens (the challenge of their PIN) and ``passkey``
tokens (the challenge of ``/validate/initialize``, usernameless: the credential
names the token and the token its user).

privacyIDEA's rules for FIDO answers: one that does not verify — wrong signature,
origin, RP id, a signature counter that did not grow — is a REJECT that leaves the
challenge open and does not move the fail counter; a right one claims the challenge
once (a conditional UPDATE), so the same assertion again is a replay.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from factorflow.tokens import challenges as store
from factorflow.tokens.base import Assertion
from factorflow.tokens.fido import find_token
from factorflow.tokens.info import bump_info
from factorflow.tokens.models import Challenge, Token
from factorflow.tokens.service import TokenService
from factorflow.users.identity import User
from factorflow.validate.accounting import accept, record_replay, unusable_reason
from factorflow.validate.results import (
    MSG_CHALLENGE_ANSWERED,
    MSG_CHALLENGE_EXPIRED,
    MSG_CHALLENGE_MATCHED,
    MSG_NO_CHALLENGE,
    CheckResult,
)


def credential_owner(
    tokens: TokenService, session: Session, credential_id: str
) -> tuple[User | None, list[Token]]:
    """The candidates of a usernameless check: the token of the credential and its
    owner (none: no candidates)."""
    token = find_token(session, credential_id)
    if token is None:
        return None, []
    return tokens.access.owner_of(session, token), [token]


def answer_assertion(
    tokens: TokenService,
    session: Session,
    candidates: Sequence[Token],
    rows: Sequence[Challenge],
    *,
    transaction_id: str,
    assertion: Assertion,
    now: float,
) -> CheckResult:
    """Check ``assertion`` against the FIDO challenges of ``transaction_id`` among
    ``rows`` (the candidates' challenge rows), or else against the initialized
    challenge of that id (passkeys)."""
    by_id = {token.id: token for token in candidates}
    fido_rows = [row for row in rows if tokens.type_of(by_id[row.token_id]).answers_with_assertion]
    reasons: list[str] = []
    tried: list[Token] = []
    for row in fido_rows:
        token = by_id[row.token_id]
        ttype = tokens.type_of(token)
        store.count_received(session, row)
        if row.otp_valid:
            record_replay(session, token, now)
            reasons.append(MSG_CHALLENGE_ANSWERED)
            continue
        expired = store.is_expired(row, now)
        reason = MSG_CHALLENGE_EXPIRED if expired else unusable_reason(token, now)
        if reason:
            reasons.append(reason)
            continue
        check = ttype.check_assertion(assertion, row.data or {}, now)
        if check.counter is None:
            continue  # not this token's credential, or it does not verify
        tried.append(token)
        bump_info(session, token.id, "count_auth")
        if store.claim_answer(session, row, now) and ttype.commit_answer(session, check.counter):
            result = accept(
                session, token, ttype, check.counter, now=now, message=MSG_CHALLENGE_MATCHED
            )
            result.answered = True
            return result
        record_replay(session, token, now)
        reasons.append(MSG_CHALLENGE_ANSWERED)
    if not fido_rows:
        for token in candidates:
            ttype = tokens.type_of(token)
            if not ttype.answers_with_assertion:
                continue
            reason = unusable_reason(token, now)
            if reason:
                reasons.append(reason)
                continue
            bump_info(session, token.id, "count_auth")
            found = ttype.answer_initialized(session, transaction_id, assertion, now)
            if found is None:
                continue
            tried.append(token)
            if found.counter is not None and ttype.commit_answer(session, found.counter):
                result = accept(
                    session, token, ttype, found.counter, now=now, message=MSG_CHALLENGE_MATCHED
                )
                result.answered = True
                return result
            if found.replay or found.counter is not None:
                record_replay(session, token, now)
                reasons.append(MSG_CHALLENGE_ANSWERED)
    message = reasons[0] if reasons else MSG_NO_CHALLENGE
    named = tried or [by_id[row.token_id] for row in fido_rows]
    if len({token.id for token in named}) == 1:
        return CheckResult(False, message, named[0], named[0].tokentype)
    return CheckResult(False, message)
