"""The token-type plug-in API.

A token type is a subclass of :class:`TokenType` registered under the
``factorflow.token_types`` entry-point group (the built-in types register the same
way). It declares:

* ``type_name`` (privacyIDEA's type, e.g. ``hotp``) and ``serial_prefix``
  (``OATH``, ``TOTP``, ``PISP``, ``REG``, ``PPR``...);
* ``InitParams``, a pydantic model of its enrolment parameters — the same model
  validates ``POST /token/init`` input;
* how ``pass`` splits into PIN and OTP (:attr:`pin_mode`);
* whether each value it accepts is accepted once (:attr:`one_time_values`);
* :meth:`enroll`, :meth:`check_otp`, :meth:`commit_otp` and optionally
  :meth:`after_success`, :meth:`resync`.

One instance wraps one token row for the duration of a unit of work. OTP
verification never trusts a counter it read earlier: :meth:`commit_otp` claims the
matched counter with a single conditional ``UPDATE`` and only a row count of 1 means
the OTP was accepted (:func:`advance_counter` for event-based OTPs, RFC 4226;
:func:`claim_time_step` for time-based OTPs, RFC 6238). Fifty concurrent requests
carrying one valid OTP therefore yield exactly one acceptance on every database.

Challenge-response: a type that answers its PIN alone with a challenge (email, SMS)
sets :attr:`challenge_response` and implements :meth:`create_challenge`, which
returns an :class:`IssuedChallenge` (the message for the user and, when the OTP is
sent out, a :class:`Delivery` that the validate service turns into a durable job).
The answer is checked with :meth:`check_answer` and claimed with
:meth:`commit_answer`. The defaults make any OTP type usable for challenge-response
(the user reads the OTP from the token), so a policy may switch HOTP or TOTP to it
without touching the types.
"""

from __future__ import annotations

import hmac
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from factorflow.core.describe import describe_options
from factorflow.crypto import SecretBox
from factorflow.errors import ValidateError
from factorflow.tokens.info import get_info, set_info
from factorflow.tokens.models import Token
from factorflow.tokens.ports import TypePorts
from factorflow.users.identity import User


class TokenInitParams(BaseModel):
    """Base of every type's enrolment parameters. Unknown keys are ignored (the
    request carries the common parameters too); numbers sent as JSON numbers are
    accepted where a string is expected, as privacyIDEA's clients send both."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True)

    def given_key_length(self) -> int | None:
        """The length in bytes of a key the request supplies (``otpkey``), so that an
        enrollment policy can require a minimum; None when the server generates the
        key or the type has none."""
        return None


class PinMode(Enum):
    """How ``pass`` is split into PIN and OTP."""

    #: PIN first, the OTP is the last ``otplen`` characters (privacyIDEA's PrependPin).
    PREPEND = "prepend"
    #: The whole pass is the PIN; there is no OTP part (static password, spass).
    WHOLE = "whole"
    #: There is no PIN; the whole pass is the OTP (registration code).
    NONE = "none"


@dataclass(frozen=True)
class OtpCheck:
    """The result of comparing an OTP with the token's window.

    ``counter`` is the matched HOTP counter or TOTP time step (None: no match);
    ``replay`` says the value matched an OTP that was already used. ``challenge``:
    no answer yet — the server a type forwards to asked back (a RADIUS
    Access-Challenge); the validate service creates this challenge and the answer
    comes to :meth:`TokenType.check_challenge_answer` with its ``data``.
    """

    counter: int | None = None
    replay: bool = False
    challenge: IssuedChallenge | None = None

    @property
    def matched(self) -> bool:
        return self.counter is not None


@dataclass(frozen=True)
class EnrollContext:
    """What an enrolment may show to the user besides its own parameters."""

    serial: str
    #: The account label in otpauth URIs (``user@realm`` or the serial).
    label: str
    issuer: str = "Factorflow"
    #: The token's user (None: no owner), as the user store reports it.
    user: User | None = None
    #: The login name of the token's user ("" for a token without user).
    login: str = ""
    #: For client-enrolled types: the credential ids (base64url) of the user's other
    #: enrolled WebAuthn/passkey tokens, not revoked (WebAuthn ``excludeCredentials``).
    known_credentials: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckContext:
    """What :meth:`TokenType.used_for` may know of an authentication request: the
    parameters that decide which tokens take part (privacyIDEA's ``service_id`` of
    application-specific passwords)."""

    service_id: str = ""
    #: The request answers a challenge with a WebAuthn assertion (:class:`Assertion`).
    assertion: bool = False


@dataclass(frozen=True)
class Assertion:
    """A WebAuthn assertion answering a challenge (W3C WebAuthn Level 3 §7.2): the
    browser's ``navigator.credentials.get()`` fields, base64url as the client sent
    them, and the request's ``Origin`` header, which must equal the client data's."""

    credential_id: str
    client_data: str
    authenticator_data: str
    signature: str
    user_handle: str
    origin: str


@dataclass(frozen=True)
class ChallengeContext:
    """What :meth:`TokenType.create_challenge` may use.

    ``owner`` is the token owner as the user store reports it *now* (dynamic email
    addresses and phone numbers are read from it), None for unassigned tokens;
    ``validity`` is the challenge lifetime in seconds. ``options`` holds the values
    of the authentication policies for token types that apply to the request
    (``indexedsecret_count``, ... — see ``policies.actions``); a type reads its own.
    """

    transaction_id: str
    owner: User | None
    now: float
    validity: int
    options: Mapping[str, str] = field(default_factory=dict)
    #: What the request itself asks of the challenge (privacyIDEA's ``challenge``,
    #: ``hashchallenge``, ``addrandomchallenge`` of OCRA tokens); empty when unset.
    request: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """A message to send: a durable job of ``kind`` (``email``, ``sms``) with this
    ``payload``; the validate service enqueues it in the request's transaction."""

    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class IssuedChallenge:
    """What a type created. ``otp_counter`` is the HOTP counter of an OTP that was
    sent (stored with the challenge instead of the OTP); None when the user reads the
    OTP from the token. ``data`` is stored with the challenge (no secrets).
    ``image`` (a data URI, e.g. a QR code to scan) and ``attributes`` appear in the
    challenge's ``multi_challenge`` entry only when set, as in privacyIDEA."""

    message: str
    otp_counter: int | None = None
    delivery: Delivery | None = None
    client_mode: str = "interactive"
    image: str | None = None
    attributes: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InitializeContext:
    """What :meth:`TokenType.initialize` may use: the transaction id of the new
    challenge, the time, and the request's parameters (type-specific ones too)."""

    transaction_id: str
    now: float
    params: Mapping[str, Any]


@dataclass(frozen=True)
class InitializedChallenge:
    """A type's answer to ``/validate/initialize``: the ``detail`` the client reads
    (privacyIDEA's passkeys put their WebAuthn request under ``passkey``); the
    validate service adds the ``transaction_id``."""

    detail: dict[str, Any]


class RealmPass(Protocol):
    """How a type that authenticates other tokens (4eyes) checks a part of ``pass``:
    ``passw`` (PIN + OTP) against the usable tokens of ``realm``, except those of
    types that check realms themselves, as a check of that realm would (PIN, OTP,
    claims, counters); the serial of the token that accepted it, or None."""

    def __call__(self, realm: str, passw: str) -> str | None: ...


class ChallengeError(ValidateError):
    """The PIN was right but no challenge could be created (no address, no gateway).
    A configuration problem of this token, not an authentication failure: the
    validate service reports it and does not count a failure."""


class TokenType:
    """One token row seen through its type. Subclasses override the class attributes
    and the enrolment/verification methods."""

    type_name: ClassVar[str] = ""
    serial_prefix: ClassVar[str] = "PITK"
    InitParams: ClassVar[type[TokenInitParams]] = TokenInitParams
    pin_mode: ClassVar[PinMode] = PinMode.PREPEND
    #: Users may enrol this type for themselves.
    self_service: ClassVar[bool] = False
    #: Registration codes delete their token after the first successful authentication.
    deletes_after_success: ClassVar[bool] = False
    #: Every value the type accepts is accepted once: the same ``pass`` again is a
    #: replay and refused (OTPs claimed with :func:`advance_counter` or
    #: :func:`claim_time_step`, answers to a challenge, codes that delete their token).
    #: False for static passwords (spass, pw), valid until they are changed. The
    #: contract suite holds each type to what it declares here.
    one_time_values: ClassVar[bool] = True
    #: The type logs users in through ``/validate/check``. False for key material
    #: handed to other systems (sshkey): such tokens are never candidates of a check,
    #: so no ``pass`` is accepted for them nor counted against them.
    authenticates: ClassVar[bool] = True
    #: Tokeninfo keys the type manages; generic info writes (/token/info) refuse them.
    owned_info_keys: ClassVar[frozenset[str]] = frozenset(
        {
            "tokenkind",
            "creation_date",
            "assignment_date",
            "last_auth",
            "count_auth",
            "count_auth_success",
            "failcounter_exceeded",
            "replay_count",
            "last_replay",
            "hashlib",
            # The offline application's refill token (factorflow.machines): whoever
            # sets it may top up a laptop's offline values.
            "refilltoken",
        }
    )
    #: Tokeninfo keys ``POST /token/set`` may change although the type owns them.
    settable_info_keys: ClassVar[frozenset[str]] = frozenset()
    #: The type answers its PIN alone with a challenge unless a policy says
    #: otherwise (email, SMS). Types without it can still run challenge-response when
    #: the validate service's selector says so (see :meth:`create_challenge`).
    challenge_response: ClassVar[bool] = False
    #: System settings (``config_setting`` keys) holding this type's challenge
    #: lifetime in seconds, most specific first; ``DefaultChallengeValidityTime`` and
    #: then ``Settings.challenge_validity_seconds`` apply when none is set.
    challenge_validity_keys: ClassVar[tuple[str, ...]] = ()
    #: The type's challenges are answered with a signed :class:`Assertion` (WebAuthn),
    #: not with an OTP: :meth:`check_assertion` checks it. A failed assertion is a
    #: REJECT that leaves the challenge open and counts no failure (privacyIDEA's rule
    #: for FIDO answers).
    answers_with_assertion: ClassVar[bool] = False
    #: The enrolment is finished by the user's client (a WebAuthn ceremony in the
    #: browser): the first ``/token/init`` leaves the token in ``clientwait`` and a
    #: second one with its serial and the client's answer calls
    #: :meth:`complete_enrollment`. Who cannot talk to the user's authenticator
    #: (the Token event handler) cannot enrol such a type.
    client_enrollment: ClassVar[bool] = False
    #: Enrolment parameters only an enrollment policy sets (forced values): the
    #: request's own values of these names are dropped (the WebAuthn relying party).
    policy_params: ClassVar[frozenset[str]] = frozenset()
    #: The type's check authenticates other tokens (4eyes): the validate service
    #: calls :meth:`check_realms` instead of :meth:`check_otp`.
    checks_realms: ClassVar[bool] = False
    #: The user answers the challenge on a device that talks to the server itself
    #: (the push token's phone marks it accepted or declined); ``/validate/check``
    #: with the transaction id then only collects that answer, once, and its
    #: ``pass`` is not looked at (privacyIDEA's out-of-band mode).
    answered_on_device: ClassVar[bool] = False

    def __init__(self, token: Token, box: SecretBox, ports: TypePorts | None = None) -> None:
        self.token = token
        self._box = box
        #: Services of outer layers for types that forward checks (tokens.ports).
        self.ports = ports or TypePorts()

    # -- description -------------------------------------------------------------
    @classmethod
    def summary(cls) -> str:
        """One line about the type: the first line of its module's docstring."""
        doc = (sys.modules[cls.__module__].__doc__ or "").strip().splitlines()
        return doc[0].rstrip(".") if doc else cls.type_name.upper()

    @classmethod
    def describe(cls, configured: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
        """``GET /token/types/``: the summary and the descriptors of the enrolment
        parameters (:attr:`InitParams`); ``configured`` holds the live lists that
        parameters naming stored configuration offer as choices."""
        return {
            "description": cls.summary(),
            "options": describe_options(cls.InitParams, configured),
        }

    # -- secrets ---------------------------------------------------------------
    @property
    def _purpose(self) -> str:
        # Binds the ciphertext to this serial: a key copied into another row fails to decrypt.
        return f"token.secret:{self.token.serial}"

    def store_secret(self, secret: bytes) -> None:
        self.token.secret_enc = self._box.encrypt(secret, self._purpose)

    def load_secret(self) -> bytes:
        return self._box.decrypt(self.token.secret_enc, self._purpose)

    # -- tokeninfo -------------------------------------------------------------
    def info(self, key: str, default: str = "") -> str:
        return get_info(self.token, key, default)

    def set_info(self, key: str, value: str, value_type: str = "") -> None:
        set_info(self.token, key, value, value_type)

    def info_int(self, key: str, default: int) -> int:
        try:
            return int(self.info(key, str(default)))
        except ValueError:
            return default

    # -- enrolment ---------------------------------------------------------------
    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        """Generate or accept the key material, write type tokeninfo, and return the
        type part of ``detail`` for ``POST /token/init``. Called for new tokens and for
        re-enrolment of an existing serial."""
        raise NotImplementedError

    # -- authentication ----------------------------------------------------------
    def used_for(self, ctx: CheckContext) -> bool:
        """Whether this token takes part in an authentication request like ``ctx``
        (privacyIDEA's ``use_for_authentication``). A token left out is not tried at
        all: its PIN is not checked and nothing is counted. Default: always."""
        return True

    def split_pass(self, passw: str) -> tuple[str, str]:
        """Split ``pass`` into (PIN, OTP) according to :attr:`pin_mode`."""
        if self.pin_mode is PinMode.WHOLE:
            return passw, ""
        if self.pin_mode is PinMode.NONE:
            return "", passw
        otplen = self.token.otplen
        if otplen <= 0 or len(passw) < otplen:
            return passw, ""
        return passw[:-otplen], passw[-otplen:]

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        """Compare ``otp`` with the values the token accepts at ``now`` (unix time).
        Pure: changes nothing. :meth:`commit_otp` claims a match."""
        raise NotImplementedError

    def check_realms(self, otp: str, now: float, realm_pass: RealmPass) -> OtpCheck:
        """:meth:`check_otp` of a type that sets :attr:`checks_realms`, with the
        other tokens at hand through ``realm_pass``. Default: :meth:`check_otp`."""
        return self.check_otp(otp, now)

    def commit_otp(self, session: Session, counter: int) -> bool:
        """Atomically mark ``counter`` as used. False: a concurrent request used it first."""
        return True

    def after_success(self, session: Session, counter: int, now: float) -> None:
        """Type bookkeeping after an accepted OTP (e.g. TOTP drift)."""

    def resync(self, otp1: str, otp2: str, now: float) -> int | None:
        """Find two consecutive OTPs within ``sync_window``; return the counter of
        ``otp2`` or None. Types without counters answer None."""
        return None

    def revoked(self, session: Session) -> None:
        """After ``POST /token/revoke`` marked the token revoked: what the type revokes
        elsewhere (a certificate at its CA). Raise to refuse the revocation."""

    def enrolled(self, session: Session) -> None:
        """Checks after :meth:`enroll` that need the database (a configuration the
        token names must exist). Raise ParameterError to refuse the enrolment."""

    # -- challenge-response -------------------------------------------------------
    def create_challenge(self, session: Session, ctx: ChallengeContext) -> IssuedChallenge:
        """Create a challenge for this token (its PIN was verified, or an admin
        triggered it). Types that send the OTP allocate a counter and return a
        :class:`Delivery`; the default asks for the OTP the token shows. Raise
        :class:`ChallengeError` when the challenge cannot be delivered, and raise it
        before changing anything: the request goes on and commits."""
        return IssuedChallenge(message="please enter otp: ")

    def check_answer(self, otp: str, sent_counter: int | None, now: float) -> OtpCheck:
        """Compare the answer to one of this token's challenges; ``sent_counter`` is
        what :meth:`create_challenge` recorded. Pure. Default: the normal OTP check."""
        return self.check_otp(otp, now)

    def check_challenge_answer(
        self, otp: str, sent_counter: int | None, data: Mapping[str, Any], now: float
    ) -> OtpCheck:
        """Compare the answer to one of this token's challenges, given what
        :meth:`create_challenge` stored with it (``IssuedChallenge.data``: the
        positions or the question asked). Pure. Default: :meth:`check_answer`."""
        return self.check_answer(otp, sent_counter, now)

    def next_challenge(
        self, session: Session, data: Mapping[str, Any], ctx: ChallengeContext
    ) -> IssuedChallenge | None:
        """After a right answer to the challenge that stored ``data``: a further
        challenge in the same transaction (privacyIDEA's ``has_further_challenge``,
        e.g. the next question of a questionnaire), or None — the authentication
        succeeds. Default: None."""
        return None

    def commit_answer(self, session: Session, counter: int) -> bool:
        """Claim a matched answer (the challenge row itself is claimed separately by
        the validate service). Default: :meth:`commit_otp`."""
        return self.commit_otp(session, counter)

    def check_assertion(
        self, assertion: Assertion, data: Mapping[str, Any], now: float
    ) -> OtpCheck:
        """Verify ``assertion`` against the challenge that stored ``data``. Pure; the
        matched ``counter`` is the authenticator's new signature counter, claimed by
        :meth:`commit_answer`. Default: no match."""
        return OtpCheck()

    def answer_initialized(
        self, session: Session, transaction_id: str, assertion: Assertion, now: float
    ) -> OtpCheck | None:
        """Answer a challenge of :meth:`initialize` (no challenge row of this token):
        None when ``transaction_id`` is not such a challenge, else the check, which
        on a match has already claimed the challenge once. Default: None."""
        return None

    @classmethod
    def is_client_answer(cls, params: Mapping[str, Any]) -> bool:
        """Whether ``/token/init`` ``params`` carry the client's answer that
        :meth:`complete_enrollment` takes (for a :attr:`client_enrollment` type)."""
        return False

    def complete_enrollment(
        self, session: Session, params: Mapping[str, Any], now: float
    ) -> dict[str, Any]:
        """The second ``/token/init`` of a :attr:`client_enrollment` type: verify the
        client's answer (``params``, with ``origin`` from the Origin header), store
        the credential and return the type part of ``detail``. Raise ParameterError
        for an answer that does not verify: nothing is stored."""
        raise NotImplementedError

    @classmethod
    def initialize(cls, session: Session, ctx: InitializeContext) -> InitializedChallenge | None:
        """``/validate/initialize``: start an authentication with this type before
        any user or token is known (privacyIDEA's usernameless passkey login). A type
        that can creates and keeps its challenge here and returns what the client
        needs; None (the default) means it cannot, and the request is refused."""
        return None


def constant_time_equal(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def advance_counter(session: Session, token: Token, counter: int) -> bool:
    """Claim HOTP ``counter`` (RFC 4226): ``SET otp_counter = counter + 1 WHERE
    otp_counter <= counter``. The database serialises concurrent updates of the row,
    so at most one request claims any counter; the row count says which."""
    stmt = (
        update(Token)
        .where(Token.id == token.id, Token.otp_counter <= counter)
        .values(otp_counter=counter + 1)
    )
    if _rowcount(session.execute(stmt, execution_options={"synchronize_session": False})) != 1:
        return False
    set_committed_value(token, "otp_counter", counter + 1)
    return True


def claim_time_step(session: Session, token: Token, step: int) -> bool:
    """Claim TOTP time step ``step`` (RFC 6238): ``SET otp_counter = step WHERE
    otp_counter < step``; the counter holds the last step used, so a code is never
    accepted twice, nor an older one after a newer."""
    stmt = (
        update(Token).where(Token.id == token.id, Token.otp_counter < step).values(otp_counter=step)
    )
    if _rowcount(session.execute(stmt, execution_options={"synchronize_session": False})) != 1:
        return False
    set_committed_value(token, "otp_counter", step)
    return True


__all__ = [
    "Assertion",
    "ChallengeContext",
    "ChallengeError",
    "CheckContext",
    "Delivery",
    "EnrollContext",
    "InitializeContext",
    "InitializedChallenge",
    "IssuedChallenge",
    "OtpCheck",
    "PinMode",
    "RealmPass",
    "TokenInitParams",
    "TokenType",
    "advance_counter",
    "claim_time_step",
    "constant_time_equal",
]
