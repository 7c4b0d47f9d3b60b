"""The system settings Factorflow has, under privacyIDEA's names.

Only settings that change what Factorflow does are here: each names the code that
reads it. ``/system/setConfig`` refuses every other key rather than store a value
that would have no effect. Read-only settings are fixed in Factorflow or come from
its settings file; setting them to the value in force is accepted (scripts written
for privacyIDEA set them), to anything else refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from factorflow.errors import ParameterError
from factorflow.settings import Settings

#: The longest challenge lifetime Factorflow accepts (``validate/challenge.py``).
MAX_VALIDITY_SECONDS = 24 * 3600
#: The largest count a COUNT setting takes.
MAX_COUNT = 1000
TIMESTAMP_KEY = "__timestamp__"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Kind(Enum):
    BOOL = "bool"
    SECONDS = "seconds"
    NAME = "name"
    COUNT = "count"
    #: Printable text, up to 255 characters (an API client id).
    TEXT = "text"
    #: An http(s) URL.
    URL = "url"
    #: A base64 key, stored encrypted and never shown (``crypto.setting_purpose``).
    SECRET = "secret"  # noqa: S105 - the name of a kind, not a password


@dataclass(frozen=True)
class SystemKey:
    name: str
    kind: Kind
    description: str
    #: The value in force while none is stored (shown by ``GET /system/``); None: none.
    default: str | None = None
    #: For a read-only key: its value from the settings (or built in), and where to set it.
    fixed: Callable[[Settings], str] | None = None
    set_by: str = ""

    def normalise(self, raw: object) -> str:
        """The value as stored, or a ParameterError naming the key."""
        text = str(raw).strip()
        if self.kind is Kind.BOOL:
            if text.lower() in _TRUE:
                return "True"
            if text.lower() in _FALSE:
                return "False"
            raise ParameterError(f"Invalid value for {self.name!r}: use True or False")
        if self.kind is Kind.SECONDS:
            if not text.isdigit() or not 1 <= int(text) <= MAX_VALIDITY_SECONDS:
                raise ParameterError(
                    f"Invalid value for {self.name!r}: seconds, 1-{MAX_VALIDITY_SECONDS}"
                )
            return str(int(text))
        if self.kind is Kind.COUNT:
            if not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
                raise ParameterError(f"Invalid value for {self.name!r}: a number, 1-{MAX_COUNT}")
            return str(int(text))
        if self.kind is Kind.TEXT:
            if not text or len(text) > 255 or not text.isprintable():
                raise ParameterError(f"Invalid value for {self.name!r}: printable text")
            return text
        if self.kind is Kind.URL:
            parts = urlsplit(text)
            if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 1024:
                raise ParameterError(f"Invalid value for {self.name!r}: an http(s) URL")
            return text
        if self.kind is Kind.SECRET:
            try:
                raw = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if not raw or len(text) > 1024:
                raise ParameterError(f"Invalid value for {self.name!r}: a base64 key")
            return text
        if not text or len(text) > 120:
            raise ParameterError(f"Invalid value for {self.name!r}: a configuration name")
        return text


def _flag(value: bool) -> str:
    return "True" if value else "False"


KEYS: dict[str, SystemKey] = {
    key.name: key
    for key in (
        SystemKey(
            "IncFailCountOnFalsePin",
            Kind.BOOL,
            "Raise the fail counter of the user's tokens when no token's PIN matched "
            "(validate/service.py).",
            default="True",
        ),
        SystemKey(
            "PrependPin",
            Kind.BOOL,
            "The PIN comes before the OTP value in 'pass'; Factorflow always does so.",
            fixed=lambda _settings: "True",
            set_by="built in",
        ),
        SystemKey(
            "splitAtSign",
            Kind.BOOL,
            "Split a login 'user@realm' into user and realm (users/service.py).",
            fixed=lambda settings: _flag(settings.split_at_sign),
            set_by="FACTORFLOW_SPLIT_AT_SIGN (or split_at_sign in factorflow.toml)",
        ),
        SystemKey(
            "DefaultChallengeValidityTime",
            Kind.SECONDS,
            "Lifetime of a challenge when its type sets none (validate/challenge.py).",
        ),
        SystemKey(
            "email.validtime",
            Kind.SECONDS,
            "Lifetime of an email challenge (tokens/types/email.py).",
        ),
        SystemKey(
            "EmailChallengeValidityTime",
            Kind.SECONDS,
            "Lifetime of an email challenge when email.validtime is unset.",
        ),
        SystemKey(
            "SMSChallengeValidityTime",
            Kind.SECONDS,
            "Lifetime of an SMS challenge (tokens/types/sms.py).",
        ),
        SystemKey(
            "question.num_answers",
            Kind.COUNT,
            "The least number of answers a questionnaire token is enrolled with "
            "(tokens/types/question.py).",
            default="5",
        ),
        SystemKey(
            "QuestionChallengeValidityTime",
            Kind.SECONDS,
            "Lifetime of a questionnaire challenge (tokens/types/question.py).",
        ),
        SystemKey(
            "OcraChallengeValidityTime",
            Kind.SECONDS,
            "Lifetime of an OCRA challenge (tokens/types/ocra.py).",
        ),
        SystemKey(
            "yubico.id",
            Kind.TEXT,
            "The API client id of yubico tokens at the validation server (tokens/types/yubico.py).",
        ),
        SystemKey(
            "yubico.secret",
            Kind.SECRET,
            "The API key (base64) that signs requests to the validation server and checks "
            "its answers; stored encrypted (tokens/types/yubico.py).",
        ),
        SystemKey(
            "yubico.url",
            Kind.URL,
            "The Yubico-compatible validation server of yubico tokens (tokens/types/yubico.py).",
            default="https://api.yubico.com/wsapi/2.0/verify",
        ),
        SystemKey(
            "email.identifier",
            Kind.NAME,
            "The SMTP server configuration of email tokens that name none (tokens/sent.py).",
        ),
        SystemKey(
            "sms.identifier",
            Kind.NAME,
            "The SMS gateway configuration of SMS tokens that name none (tokens/sent.py).",
        ),
    )
}


def supported_key(name: str) -> SystemKey:
    key = KEYS.get(name)
    if key is None:
        raise ParameterError(
            f"Unsupported system setting {name[:100]!r}: Factorflow has " + ", ".join(sorted(KEYS))
        )
    return key
