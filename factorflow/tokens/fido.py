"""What the ``webauthn`` and ``passkey`` token types share: the WebAuthn ceremonies
through the ``webauthn`` library (py_webauthn; W3C Web Authentication Level 3 §7.1
registration, §7.2 authentication — no attestation or signature is checked here by
hand), the credential index and the challenges of ``/validate/initialize``.

Storage, as the OTP types keep their keys: the credential id is the token's
encrypted secret; the COSE public key, the relying party and the AAGUID are
tokeninfo (owned by the type: ``/token/info`` cannot change them); the
authenticator's signature counter is the token's ``otp_counter``, moved forward by
one conditional ``UPDATE`` (:func:`claim_sign_count`). ``fido_credential`` holds a
SHA-256 of each credential id so that an assertion finds its token without a user
(:func:`find_token`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from webauthn import verify_authentication_response, verify_registration_response
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_attestation_object
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.registration.verify_registration_response import VerifiedRegistration

from factorflow.crypto import SecretBox
from factorflow.errors import ParameterError
from factorflow.tokens.base import Assertion, OtpCheck, TokenType
from factorflow.tokens.challenges import moment
from factorflow.tokens.info import delete_info
from factorflow.tokens.models import FidoChallenge, FidoCredential, Token

#: What the library and the decoding of client input raise for a bad answer.
BAD_ANSWER = (WebAuthnException, ValueError, TypeError, KeyError, IndexError)
RP_ID = "webauthn_relying_party_id"
RP_NAME = "webauthn_relying_party_name"
#: Tokeninfo keys of the relying party the credential was registered for.
INFO_RP_ID = "relying_party_id"
INFO_RP_NAME = "relying_party_name"
#: Seconds between the registration request and the client's answer.
REGISTRATION_VALIDITY = 300
TIMEOUT_MS = 60000
#: privacyIDEA's default algorithms: ES256, PS256, RS256 (COSE ids, RFC 9053).
ALGORITHMS = (-7, -37, -257)


def b64url(data: bytes) -> str:
    return bytes_to_base64url(data)


def unb64url(text: str) -> bytes:
    """Bytes of base64url ``text`` (padding optional); ValueError when it is none."""
    try:
        return base64url_to_bytes(text.strip())
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url") from exc


def known_credentials(
    tokens: list[Token], types: Mapping[str, type[TokenType]], box: SecretBox, new: Token
) -> tuple[str, ...]:
    """The credential ids of ``tokens`` (a user's) that hold a registered WebAuthn
    credential, other than ``new``: enrolled (not ``clientwait``) and not revoked —
    a disabled token still holds its credential, as privacyIDEA counts it."""
    found = []
    for token in tokens:
        type_cls = types.get(token.tokentype)
        if (
            token.id == new.id
            or token.revoked
            or token.rollout_state == "clientwait"
            or not token.secret_enc
            or type_cls is None
            or not type_cls.answers_with_assertion
        ):
            continue
        found.append(b64url(type_cls(token, box).load_secret()))
    return tuple(found)


def credential_hash(raw_id: bytes) -> str:
    return hashlib.sha256(raw_id).hexdigest()


def find_token(session: Session, credential_id: str) -> Token | None:
    """The token of the credential ``credential_id`` (base64url), or None."""
    try:
        digest = credential_hash(unb64url(credential_id))
    except ValueError:
        return None
    stmt = select(Token).join(FidoCredential, FidoCredential.token_id == Token.id)
    return session.scalars(stmt.where(FidoCredential.credential_hash == digest)).first()


def index_credential(session: Session, token: Token, raw_id: bytes) -> None:
    """Record the credential of ``token``; a credential another token holds already is
    refused (one authenticator credential is one token)."""
    digest = credential_hash(raw_id)
    other = session.scalars(
        select(FidoCredential).where(FidoCredential.credential_hash == digest)
    ).first()
    if other is not None and other.token_id != token.id:
        raise ParameterError("This credential is already registered with another token.")
    mine = session.scalars(
        select(FidoCredential).where(FidoCredential.token_id == token.id)
    ).first()
    if mine is None:
        session.add(FidoCredential(credential_hash=digest, token_id=token.id))
    else:
        mine.credential_hash = digest
    session.flush()


def claim_sign_count(session: Session, token: Token, count: int) -> bool:
    """Store the authenticator's new signature counter ``count`` unless another
    request stored one as high first (§6.1.1: the counter must grow; authenticators
    without a counter always send 0, which is kept while the stored one is 0)."""
    stmt = (
        update(Token)
        .where(
            Token.id == token.id,
            or_(Token.otp_counter < count, (Token.otp_counter == 0) & (count == 0)),
        )
        .values(otp_counter=count)
    )
    result = session.execute(stmt, execution_options={"synchronize_session": False})
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return False
    set_committed_value(token, "otp_counter", count)
    return True


def new_initialized_challenge(
    session: Session, transaction_id: str, now: float, validity: int
) -> str:
    """A challenge for ``/validate/initialize``: text (privacyIDEA's passkeys sign
    the UTF-8 bytes of the challenge string)."""
    text = secrets.token_urlsafe(32)
    at = moment(now)
    session.add(
        FidoChallenge(
            transaction_id=transaction_id,
            challenge=text,
            expiration=at + timedelta(seconds=validity),
            used=False,
            created_at=at,
        )
    )
    session.flush()
    return text


def open_initialized_challenge(
    session: Session, transaction_id: str, now: float
) -> FidoChallenge | None:
    """The unused, unexpired ``/validate/initialize`` challenge of ``transaction_id``."""
    row = session.scalars(
        select(FidoChallenge).where(FidoChallenge.transaction_id == transaction_id)
    ).first()
    if row is None or row.used or row.expiration <= moment(now):
        return None
    return row


def claim_initialized_challenge(session: Session, row: FidoChallenge, now: float) -> bool:
    """Use ``row`` once: ``SET used = true WHERE used = false AND not expired``."""
    result = session.execute(
        update(FidoChallenge)
        .where(
            FidoChallenge.id == row.id,
            FidoChallenge.used.is_(False),
            FidoChallenge.expiration > moment(now),
        )
        .values(used=True),
        execution_options={"synchronize_session": False},
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def verify_registration(
    *,
    credential_id: str,
    attestation: str,
    client_data: str,
    challenge: bytes,
    rp_id: str,
    origin: str,
) -> VerifiedRegistration:
    """The library's registration check (§7.1); ParameterError (400) for any answer
    that does not decode or verify, with the reason."""
    if not origin:
        raise ParameterError("The request has no Origin header.")
    try:
        if not credential_id:
            # The credential id is in the attested credential data (§6.5.1).
            parsed = parse_attestation_object(unb64url(attestation))
            attested = parsed.auth_data.attested_credential_data
            if attested is None:
                raise ValueError("no attested credential data")
            credential_id = b64url(attested.credential_id)
        raw_id = b64url(unb64url(credential_id))
        return verify_registration_response(
            credential={
                "id": raw_id,
                "rawId": raw_id,
                "response": {"attestationObject": attestation, "clientDataJSON": client_data},
                "type": "public-key",
            },
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except BAD_ANSWER as exc:
        raise ParameterError(f"Invalid registration response: {exc}") from None


class FidoToken(TokenType):
    """The common part of ``webauthn`` and ``passkey``: the assertion check against
    the stored credential and the signature counter."""

    answers_with_assertion = True
    client_enrollment = True
    one_time_values = True
    challenge_validity_keys = ("WebauthnChallengeValidityTime",)
    #: Tokeninfo key of the COSE public key (base64url).
    public_key_info: ClassVar[str] = "public_key"
    owned_info_keys = TokenType.owned_info_keys | {
        "public_key", "pubKey", INFO_RP_ID, INFO_RP_NAME, "aaguid", "origin",
        "attestation_format", "attestation_level", "user_id", "registration_challenge",
        "registration_transaction_id", "registration_expires", "credential_device_type",
        "credential_backed_up",
    }  # fmt: skip

    def expected_challenge(self, data: Mapping[str, Any]) -> bytes:
        """The bytes the client signed for the challenge that stored ``data``."""
        raise NotImplementedError

    def credential_id(self) -> str:
        return b64url(self.load_secret())

    def check_assertion(
        self, assertion: Assertion, data: Mapping[str, Any], now: float
    ) -> OtpCheck:
        """§7.2 through the library: the credential is this token's, the client data's
        challenge, type and origin (the Origin header) and the authenticator data's
        RP id hash and flags are right, the signature verifies with the stored key
        and the signature counter grew. Any failure is no match."""
        if not assertion.origin or not self.token.secret_enc:
            return OtpCheck()
        try:
            if unb64url(assertion.credential_id) != self.load_secret():
                return OtpCheck()
            cid = self.credential_id()
            verified = verify_authentication_response(
                credential={
                    "id": cid,
                    "rawId": cid,
                    "response": {
                        "authenticatorData": assertion.authenticator_data,
                        "clientDataJSON": assertion.client_data,
                        "signature": assertion.signature,
                        "userHandle": assertion.user_handle or None,
                    },
                    "type": "public-key",
                },
                expected_challenge=self.expected_challenge(data),
                expected_rp_id=self.info(INFO_RP_ID),
                expected_origin=assertion.origin,
                credential_public_key=unb64url(self.info(self.public_key_info)),
                credential_current_sign_count=self.token.otp_counter,
            )
        except BAD_ANSWER:
            return OtpCheck()
        return OtpCheck(counter=verified.new_sign_count)

    def commit_answer(self, session: Session, counter: int) -> bool:
        return claim_sign_count(session, self.token, counter)

    def commit_otp(self, session: Session, counter: int) -> bool:
        return claim_sign_count(session, self.token, counter)

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        # A FIDO token has no OTP: a pass is never one of its values.
        return OtpCheck()

    def store_credential(self, session: Session, verified: VerifiedRegistration) -> None:
        """Keep what the registration proved: the credential id (encrypted), the
        public key, the AAGUID and the first signature counter."""
        self.store_secret(verified.credential_id)
        index_credential(session, self.token, verified.credential_id)
        self.set_info(self.public_key_info, b64url(verified.credential_public_key))
        self.set_info("aaguid", str(verified.aaguid))
        self.set_info("attestation_format", str(getattr(verified.fmt, "value", verified.fmt)))
        self.token.otp_counter = verified.sign_count


def registration_request(token: TokenType, params: Mapping[str, Any], now: float) -> str:
    """The challenge of the registration request ``token`` answered with, checked:
    its transaction (when the client names one) and its lifetime. ParameterError
    when there is none."""
    stored = token.info("registration_challenge")
    expires = token.info_int("registration_expires", 0)
    if not stored or token.token.rollout_state != "clientwait":
        raise ParameterError("The token is not waiting for a registration.")
    if expires <= now:
        raise ParameterError("The registration request has expired; enrol the token again.")
    transaction_id = str(params.get("transaction_id") or "")
    if transaction_id and transaction_id != token.info("registration_transaction_id"):
        raise ParameterError("The transaction id does not belong to this registration.")
    return stored


def remember_registration(
    token: TokenType, challenge: str, transaction_id: str, now: float
) -> None:
    token.set_info("registration_challenge", challenge)
    token.set_info("registration_transaction_id", transaction_id)
    token.set_info("registration_expires", str(int(now) + REGISTRATION_VALIDITY))
    token.token.rollout_state = "clientwait"


def finish_registration(session: Session, token: TokenType) -> None:
    """Leave ``clientwait`` once: ``SET rollout_state = 'enrolled' WHERE rollout_state
    = 'clientwait'``; a concurrent second answer to the same request is refused."""
    result = session.execute(
        update(Token)
        .where(Token.id == token.token.id, Token.rollout_state == "clientwait")
        .values(rollout_state="enrolled"),
        execution_options={"synchronize_session": False},
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise ParameterError("The token is not waiting for a registration.")
    set_committed_value(token.token, "rollout_state", "enrolled")
    for key in ("registration_challenge", "registration_transaction_id", "registration_expires"):
        delete_info(token.token, key)
