"""Yubico cloud: a YubiKey's OTP checked by a Yubico-compatible validation server.

privacyIDEA's ``yubico`` token (serial prefix ``UBCM``). Enrolment names the key's
public id (``yubico.tokenid``, its first 12 modhex characters; tokeninfo
``yubico.tokenid``); ``otplen`` is 44. A value is tried only when it is 44 modhex
characters starting with that public id; it is then sent to the validation server of
the system settings ``yubico.url`` (default YubiCloud's), ``yubico.id`` (the API
client id) and ``yubico.secret`` (the base64 API key, stored encrypted) with the
Yubico validation protocol 2.0: ``GET url?id=..&nonce=..&otp=..&h=..``, where ``h`` is
the base64 HMAC-SHA1, keyed with the API key, of the other parameters sorted by name
and joined as ``k=v&k=v``. The answer (``key=value`` lines) counts only when its
``h`` is the same HMAC over its other lines, its ``nonce`` and ``otp`` are the ones
sent and its ``status`` is ``OK``; ``REPLAYED_OTP`` is a replay. The server keeps
the key's counters, so it refuses replays; without ``yubico.id`` and
``yubico.secret`` nothing is accepted (an unsigned answer proves nothing). The
server must answer within 5 seconds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import AliasChoices, Field, field_validator
from sqlalchemy.orm import object_session

from factorflow.crypto import setting_purpose
from factorflow.tokens.base import EnrollContext, OtpCheck, TokenInitParams, TokenType
from factorflow.tokens.sent import system_setting
from factorflow.tokens.types.yubikey import MODHEX

log = logging.getLogger(__name__)

TOKENID = "yubico.tokenid"
ID_LENGTH = 12
OTP_LENGTH = 44
DEFAULT_URL = "https://api.yubico.com/wsapi/2.0/verify"
TIMEOUT_SECONDS = 5.0
_REPLAYED = {"REPLAYED_OTP", "REPLAYED_REQUEST"}


def signature(params: Mapping[str, str], key: bytes) -> str:
    """Yubico's ``h``: base64 HMAC-SHA1 of ``k=v`` pairs sorted by key, ``&``-joined."""
    message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "h")
    return base64.b64encode(hmac.new(key, message.encode(), hashlib.sha1).digest()).decode()


def parse_answer(text: str) -> dict[str, str]:
    """The ``key=value`` lines of a validation server's answer (values may hold ``=``)."""
    answer: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key:
            answer[key] = value
    return answer


class YubicoInitParams(TokenInitParams):
    tokenid: str = Field(
        validation_alias=AliasChoices("yubico.tokenid", "tokenid"),
        min_length=ID_LENGTH,
        max_length=64,
        title="Public id",
        description="The YubiKey's public id: the first 12 characters it types.",
    )

    @field_validator("tokenid")
    @classmethod
    def _tokenid(cls, value: str) -> str:
        # privacyIDEA keeps the first 12 characters of a longer value (a whole OTP).
        public_id = value.strip()[:ID_LENGTH]
        if len(public_id) != ID_LENGTH or any(c not in MODHEX for c in public_id):
            raise ValueError("yubico.tokenid must be 12 modhex characters")
        return public_id


class YubicoToken(TokenType):
    type_name = "yubico"
    serial_prefix = "UBCM"
    InitParams: ClassVar[type[TokenInitParams]] = YubicoInitParams
    self_service = True
    owned_info_keys = TokenType.owned_info_keys | {TOKENID}

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, YubicoInitParams)
        self.set_info(TOKENID, params.tokenid)
        self.set_info("tokenkind", "hardware")
        self.token.otplen = OTP_LENGTH
        return {}

    def _server(self) -> tuple[str, str, bytes] | None:
        """(url, client id, API key) from the system settings; None when unset."""
        # The settings are read in the check's own transaction, where the row lives.
        session = object_session(self.token)
        if session is None:
            return None
        client_id, sealed = (
            system_setting(session, "yubico.id"),
            system_setting(session, "yubico.secret"),
        )
        if not client_id or not sealed:
            log.warning(
                "yubico token %s: yubico.id and yubico.secret are not set", self.token.serial
            )
            return None
        try:
            key = base64.b64decode(self._box.decrypt_text(sealed, setting_purpose("yubico.secret")))
        except (binascii.Error, ValueError):
            return None
        return system_setting(session, "yubico.url") or DEFAULT_URL, client_id, key

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        if len(otp) != OTP_LENGTH or any(c not in MODHEX for c in otp):
            return OtpCheck()
        if otp[:ID_LENGTH] != self.info(TOKENID):
            return OtpCheck()  # another key's value
        server = self._server()
        if server is None:
            return OtpCheck()
        return verify_remotely(otp, *server)


def verify_remotely(otp: str, url: str, client_id: str, key: bytes) -> OtpCheck:
    """One request of the validation protocol 2.0 and the checks of its answer."""
    import httpx  # here, not at the top: only yubico checks need an HTTP client

    params = {"id": client_id, "nonce": secrets.token_hex(16), "otp": otp}
    params["h"] = signature(params, key)
    try:
        response = httpx.get(url, params=params, timeout=TIMEOUT_SECONDS, follow_redirects=False)
    except httpx.HTTPError as exc:
        log.warning("yubico validation server %s unreachable: %s", url, exc)
        return OtpCheck()
    if response.status_code != 200:
        log.warning("yubico validation server %s answered %s", url, response.status_code)
        return OtpCheck()
    answer = parse_answer(response.text)
    if not hmac.compare_digest(answer.get("h", ""), signature(answer, key)):
        log.warning("yubico validation server %s: the answer's signature is wrong", url)
        return OtpCheck()
    if answer.get("nonce") != params["nonce"] or answer.get("otp") != otp:
        log.warning("yubico validation server %s: the answer is not for this request", url)
        return OtpCheck()
    status = answer.get("status", "")
    if status == "OK":
        return OtpCheck(0)
    return OtpCheck(replay=True) if status in _REPLAYED else OtpCheck()


__all__ = ["YubicoToken", "parse_answer", "signature", "verify_remotely"]
