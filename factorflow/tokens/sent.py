"""Shared machinery of the tokens whose OTP is sent to the user (email, SMS).

Such a token is an RFC 4226 HOTP token whose key never leaves the server. Each
challenge allocates the next counter with one atomic ``UPDATE`` (so concurrent
challenges never send the same value), sends HOTP(counter) and records only the
counter with the challenge. An OTP is valid solely as the answer to its own,
unexpired, unanswered challenge; PIN + OTP without a transaction is refused.

Where the message goes is tokeninfo: a static address (``email`` / ``phone``) or,
with ``dynamic_email`` / ``dynamic_phone``, the owner's attribute read from the user
store at each challenge. Through which configuration: the token's
``<type>.identifier`` tokeninfo, else the system setting of the same name, else the
first configuration created.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from factorflow.core.params import is_true
from factorflow.core.redaction import mask
from factorflow.db.models import ConfigSetting
from factorflow.errors import ParameterError
from factorflow.notify.models import SmsGateway, SmtpServer
from factorflow.tokens.base import (
    ChallengeContext,
    ChallengeError,
    Delivery,
    EnrollContext,
    IssuedChallenge,
    OtpCheck,
    TokenInitParams,
    constant_time_equal,
)
from factorflow.tokens.models import Token
from factorflow.tokens.oath import OathInitParams
from factorflow.tokens.types.hotp import HotpToken


class SentOtpInitParams(OathInitParams):
    """Common enrolment parameters; the key is generated unless ``otpkey`` is given."""

    def recipient(self) -> tuple[str | None, bool, str | None]:
        """(static address, dynamic flag, configuration identifier)."""
        raise NotImplementedError


def allocate_counter(session: Session, token: Token) -> int:
    """Reserve the token's next HOTP counter and return it.

    ``otp_counter + 1`` in one UPDATE: the row stays locked by this transaction until
    it ends (PostgreSQL, MariaDB; SQLite has one writer), so the value read back is
    this request's own and no two challenges get the same counter."""
    stmt = update(Token).where(Token.id == token.id).values(otp_counter=Token.otp_counter + 1)
    session.execute(stmt, execution_options={"synchronize_session": False})
    value = session.scalar(select(Token.otp_counter).where(Token.id == token.id))
    assert value is not None
    set_committed_value(token, "otp_counter", value)
    return int(value) - 1


#: Stands for the OTP in a queued message until the deliverer computes it.
OTP_MARKER = "[[factorflow:otp]]"
#: Payload key naming the token and counter whose OTP replaces the marker.
OTP_SOURCE = "otp_source"


def fill_otp(payload: dict[str, Any], otp_at: Callable[[str, int], str]) -> dict[str, Any]:
    """The payload with the marker replaced by the OTP of its ``otp_source``.

    ``otp_at(serial, counter)`` computes the OTP (and raises if the token is gone).
    Payloads without a source are returned unchanged.
    """
    source = payload.get(OTP_SOURCE)
    if not isinstance(source, dict):
        return payload
    otp = otp_at(str(source.get("serial", "")), int(source.get("counter", -1)))
    filled = {k: v for k, v in payload.items() if k != OTP_SOURCE}
    for key, value in filled.items():
        if isinstance(value, str):
            filled[key] = value.replace(OTP_MARKER, otp)
    return filled


def system_setting(session: Session, key: str) -> str:
    return session.scalar(select(ConfigSetting.value).where(ConfigSetting.key == key)) or ""


class SentOtpToken(HotpToken):
    """Base of :class:`EmailToken` and :class:`SmsToken`; subclasses name their
    tokeninfo keys, configuration table, address check and message."""

    challenge_response = True
    self_service = False
    #: Tokeninfo key of the static address and of the dynamic flag.
    address_key: ClassVar[str] = ""
    dynamic_key: ClassVar[str] = ""
    #: The owner attribute holding the dynamic address.
    user_attribute: ClassVar[str] = ""
    #: Tokeninfo key and system setting naming the configuration.
    identifier_key: ClassVar[str] = ""
    config_model: ClassVar[type[SmtpServer] | type[SmsGateway]] = SmtpServer
    #: "email" / "SMS", for messages.
    medium: ClassVar[str] = ""

    # -- to implement --------------------------------------------------------------
    @staticmethod
    def valid_address(value: str) -> bool:
        raise NotImplementedError

    def delivery(self, identifier: str, address: str, otp: str, validity: int) -> Delivery:
        raise NotImplementedError

    # -- enrolment -----------------------------------------------------------------
    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, SentOtpInitParams)
        address, dynamic, identifier = params.recipient()
        address = (address or "").strip()
        if not dynamic and not address:
            raise ParameterError(f"Missing parameter: {self.address_key!r}")
        if address and not self.valid_address(address):
            raise ParameterError(f"Invalid parameter {self.address_key!r}: not a valid address")
        self._store_key(params.key_bytes(), params)
        self.set_info(self.address_key, "" if dynamic else address)
        self.set_info(self.dynamic_key, "True" if dynamic else "False")
        self.set_info(self.identifier_key, identifier or "")
        self.set_info("tokenkind", "virtual")
        # The key stays on the server: no QR code, no seed in the reply.
        return {}

    def enrolled(self, session: Session) -> None:
        identifier = self.info(self.identifier_key)
        if identifier and self._config_exists(session, identifier) is None:
            raise ParameterError(
                f"Invalid parameter {self.identifier_key!r}: "
                f"there is no {self.medium} configuration {identifier!r}"
            )

    # -- challenge-response ----------------------------------------------------------
    def check_otp(self, otp: str, now: float) -> OtpCheck:
        # Only the answer to a challenge counts; a counter window would accept OTPs
        # of expired challenges.
        return OtpCheck()

    def resync(self, otp1: str, otp2: str, now: float) -> int | None:
        return None

    def check_answer(self, otp: str, sent_counter: int | None, now: float) -> OtpCheck:
        if sent_counter is None or not self._well_formed(otp):
            return OtpCheck()
        return (
            OtpCheck(sent_counter)
            if constant_time_equal(otp, self.otp_at(sent_counter))
            else OtpCheck()
        )

    def commit_answer(self, session: Session, counter: int) -> bool:
        # The counter was consumed when the challenge was created; the conditional
        # update of the challenge row makes the answer one-time.
        return True

    def create_challenge(self, session: Session, ctx: ChallengeContext) -> IssuedChallenge:
        address = self.address(ctx)
        identifier = self.identifier(session)
        counter = allocate_counter(session, self.token)
        # The job carries a marker and the counter, never the OTP: the deliverer
        # computes it at delivery time (see fill_otp), so /jobs/ and the job table
        # hold nothing that logs a user in.
        message = self.delivery(identifier, address, OTP_MARKER, ctx.validity)
        delivery = Delivery(
            message.kind,
            {**message.payload, OTP_SOURCE: {"serial": self.token.serial, "counter": counter}},
        )
        return IssuedChallenge(
            message=f"Enter the OTP from the {self.medium}",
            otp_counter=counter,
            delivery=delivery,
            data={"to": mask(address), "config": identifier},
        )

    def address(self, ctx: ChallengeContext) -> str:
        """The recipient now; raises :class:`ChallengeError` if there is none."""
        what = f"The PIN was correct, but the {self.medium} could not be sent"
        if is_true(self.info(self.dynamic_key)):
            if ctx.owner is None:
                raise ChallengeError(f"{what}: the token has no owner to read the address from.")
            address = ctx.owner.attribute(self.user_attribute).strip()
            source = f"the user's {self.user_attribute!r} attribute"
        else:
            address = self.info(self.address_key).strip()
            source = f"the token's {self.address_key!r}"
        if not address:
            raise ChallengeError(f"{what}: {source} is empty.")
        if not self.valid_address(address):
            raise ChallengeError(f"{what}: {source} is not a valid address.")
        return address

    def identifier(self, session: Session) -> str:
        """The configuration to send through; raises :class:`ChallengeError`."""
        what = f"The PIN was correct, but the {self.medium} could not be sent"
        wanted = self.info(self.identifier_key) or system_setting(session, self.identifier_key)
        if wanted:
            if self._config_exists(session, wanted) is None:
                raise ChallengeError(f"{what}: there is no {self.medium} configuration {wanted!r}.")
            return wanted
        model = self.config_model
        first = session.scalar(select(model.identifier).order_by(model.id).limit(1))
        if first is None:
            raise ChallengeError(f"{what}: no {self.medium} configuration exists.")
        return first

    def _config_exists(self, session: Session, identifier: str) -> int | None:
        model = self.config_model
        return session.scalar(select(model.id).where(model.identifier == identifier))
