"""What the push token's smartphone does at ``/ttype/push`` (privacyIDEA's protocol;
no login: the phone proves itself with the enrolment credential, then its key).

* ``POST`` with ``enrollment_credential``, ``serial``, ``pubkey``, ``fbtoken``: the
  second enrolment step (:meth:`PushPhone.register`).
* ``GET`` with ``serial``, ``timestamp`` (ISO 8601, within a minute of the server's
  clock) and ``signature`` of ``serial|timestamp``: the open challenges, each signed
  by the server (:meth:`PushPhone.poll`, poll-only mode).
* ``POST`` with ``nonce``, ``serial``, ``signature`` of ``nonce|serial`` — or of
  ``nonce|serial|decline`` with ``decline=1``: the answer to a challenge
  (:meth:`PushPhone.answer`), taken once, before the challenge expires.

Every refusal changes nothing. A poll that fails for any reason says only "Could not
verify signature!", as privacyIDEA does, so that it tells nobody which serials exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from factorflow.errors import FactorflowError, ParameterError, PolicyError, ResourceNotFoundError
from factorflow.tokens import challenges as store
from factorflow.tokens import pushkeys
from factorflow.tokens.base import constant_time_equal
from factorflow.tokens.models import Challenge, Token
from factorflow.tokens.service import TokenService
from factorflow.tokens.types.push import CLIENTWAIT, PUBLIC_KEY_SMARTPHONE, PushToken

#: privacyIDEA's window for the poll timestamp.
POLL_WINDOW = timedelta(minutes=1)
MSG_BAD_SIGNATURE = "Could not verify signature!"


class PushPhone:
    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens

    def _push(self, session: Session, serial: str) -> tuple[Token, PushToken] | None:
        token = self.tokens.access.find(session, serial)
        if token is None or token.tokentype != PushToken.type_name:
            return None
        ttype = self.tokens.type_of(token)
        assert isinstance(ttype, PushToken)
        return token, ttype

    def register(
        self, session: Session, serial: str, credential: str, pubkey: str, fbtoken: str
    ) -> dict[str, Any]:
        """The second enrolment step; the detail privacyIDEA answers (the server's
        public key). Refused: no push token of that serial in ``clientwait`` (404), a
        wrong credential or a key that is no RSA SubjectPublicKeyInfo (400)."""
        found = self._push(session, serial)
        if found is None or found[0].rollout_state != CLIENTWAIT:
            raise ResourceNotFoundError(
                "No token with this serial number in the rollout state 'clientwait'."
            )
        token, ttype = found
        expected = ttype.enrollment_credential()
        if not credential or not constant_time_equal(credential, expected):
            raise ParameterError(
                "Invalid enrollment credential. You are not authorized to finalize this token."
            )
        pushkeys.load_public(pubkey)  # refuse what cannot be used before changing anything
        phone_key = "".join(pubkey.split()).replace("-", "+").replace("_", "/")
        server_key = ttype.register(phone_key, fbtoken)
        token.active = True
        session.flush()
        return {"serial": serial, "rollout_state": token.rollout_state, "public_key": server_key}

    def poll(
        self,
        session: Session,
        serial: str,
        *,
        timestamp: str,
        signature: str,
        polling_policy: Callable[[Token], str],
        now: float,
    ) -> list[dict[str, str]]:
        """The open challenges of the token, as signed messages for the phone.
        ``polling_policy`` gives ``push_allow_polling`` for a token's owner."""
        when = _parse_time(timestamp)
        at = datetime.fromtimestamp(now, UTC)
        if not at - POLL_WINDOW <= when <= at + POLL_WINDOW:
            raise FactorflowError(f"Timestamp {timestamp} not in valid range.")
        found = self._push(session, serial)
        if found is None or found[0].rollout_state == CLIENTWAIT:
            raise FactorflowError(MSG_BAD_SIGNATURE)
        token, ttype = found
        if not ttype.polling_allowed(polling_policy(token)):
            raise PolicyError("Polling not allowed!")
        if not _signed_by_phone(ttype, signature, f"{serial}|{timestamp}"):
            raise FactorflowError(MSG_BAD_SIGNATURE)
        return [ttype.phone_message(row.data or {}) for row in _open(session, token, now)]

    def answer(
        self,
        session: Session,
        serial: str,
        *,
        nonce: str,
        signature: str,
        decline: bool,
        now: float,
    ) -> bool:
        """The phone's answer to the challenge ``nonce``: True when it was taken. A
        wrong signature, an unknown, answered or expired challenge: False."""
        raw = pushkeys.decode_signature(signature)
        found = self._push(session, serial)
        if found is None or found[0].rollout_state == CLIENTWAIT:
            return False  # re-enrolled: the previous phone answers nothing
        token, ttype = found
        text = f"{nonce}|{serial}|decline" if decline else f"{nonce}|{serial}"
        public = ttype.info(PUBLIC_KEY_SMARTPHONE)
        for row in _open(session, token, now):
            if not constant_time_equal(str((row.data or {}).get("nonce", "")), nonce):
                continue
            if not public or not pushkeys.verifies(public, raw, text):
                return False
            take = store.decline_on_device if decline else store.confirm_on_device
            return take(session, row, now)
        return False


def _parse_time(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ParameterError(f"Could not parse timestamp {value}. ISO-Format required.") from None
    # A timestamp without a zone is UTC (privacyIDEA's assumption).
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _signed_by_phone(ttype: PushToken, signature: str, text: str) -> bool:
    public = ttype.info(PUBLIC_KEY_SMARTPHONE)
    try:
        raw = pushkeys.decode_signature(signature)
    except ParameterError:
        return False
    return bool(public) and pushkeys.verifies(public, raw, text)


def _open(session: Session, token: Token, now: float) -> list[Challenge]:
    """The token's challenges the phone may still answer."""
    return [
        row
        for row in store.for_token(session, token.id)
        if not row.otp_valid and not row.session and not store.is_expired(row, now)
    ]
