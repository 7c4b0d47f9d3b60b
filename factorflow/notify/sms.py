"""Sending one SMS through an HTTP gateway with httpx.

The gateway configuration maps request parameters to templates in which ``{phone}``
and ``{otp}`` / ``{message}`` (privacyIDEA names the text ``{otp}``) are replaced;
other text is sent as is. Every request carries ``Idempotency-Key: <job key>``.
Success means an HTTP status in the configured range and, if configured, the
success pattern found in the body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from factorflow.jobs.base import DeliveryError, PermanentDeliveryError

PLACEHOLDERS = frozenset({"phone", "otp", "message"})
_PLACEHOLDER = re.compile(r"\{(\w*)\}")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,30}$")
#: 4xx answers that say "later", not "never".
_RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True)
class SmsSettings:
    url: str
    method: str = "POST"
    json_body: bool = False
    parameters: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    success_status_min: int = 200
    success_status_max: int = 299
    success_regex: str = ""
    tls_verify: bool = True
    timeout: float = 10.0
    #: (user, password) of HTTP basic authentication, privacyIDEA's USERNAME/PASSWORD.
    basic_auth: tuple[str, str] | None = None


def is_phone(value: str) -> bool:
    return bool(_PHONE.match(value))


def unknown_placeholders(template: str) -> list[str]:
    return [name for name in _PLACEHOLDER.findall(template) if name not in PLACEHOLDERS]


def render(template: str, phone: str, message: str) -> str:
    values = {"phone": phone, "otp": message, "message": message}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def send(config: SmsSettings, phone: str, message: str, idempotency_key: str) -> str:
    """Send ``message`` to ``phone``; return the gateway's status. Raises
    :class:`DeliveryError` (retry) or :class:`PermanentDeliveryError` (do not)."""
    if not is_phone(phone):
        raise PermanentDeliveryError(f"Invalid phone number: {phone!r}")
    params = {name: render(value, phone, message) for name, value in config.parameters.items()}
    headers = {**config.headers, "Idempotency-Key": idempotency_key}
    import httpx  # here, not at the top: a worker that never sends carries no HTTP client (memory)

    try:
        with httpx.Client(
            timeout=config.timeout, verify=config.tls_verify, auth=config.basic_auth
        ) as client:
            if config.method == "GET":
                response = client.get(config.url, params=params, headers=headers)
            elif config.json_body:
                response = client.post(config.url, json=params, headers=headers)
            else:
                response = client.post(config.url, data=params, headers=headers)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise DeliveryError(f"SMS gateway {config.url} unreachable: {reason}") from None
    status = response.status_code
    if not config.success_status_min <= status <= config.success_status_max:
        body = response.text[:200]
        error_type = (
            PermanentDeliveryError
            if 400 <= status < 500 and status not in _RETRYABLE_4XX
            else DeliveryError
        )
        raise error_type(f"SMS gateway answered HTTP {status}: {body}")
    if config.success_regex and not re.search(config.success_regex, response.text):
        raise DeliveryError(
            f"SMS gateway answer (HTTP {status}) does not match the success pattern: "
            f"{response.text[:200]}"
        )
    return f"SMS gateway answered HTTP {status}"
