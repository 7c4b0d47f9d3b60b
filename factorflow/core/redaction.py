"""What answers show instead of a secret, and of an address.

``CENSORED`` is privacyIDEA's placeholder for a secret value in an answer (resolver,
SMTP server and SMS gateway passwords); sending it back on an update means "keep the
stored secret". :func:`mask` shortens an email address or a phone number to what may
be shown and stored next to a job or a challenge.
"""

from __future__ import annotations

CENSORED = "__CENSORED__"


def mask(value: str, keep: int = 2) -> str:
    """An address as it may be shown and stored: ``al***@example.com``, ``+49***22``."""
    local, at, domain = value.partition("@")
    if at:
        return f"{local[:keep]}***@{domain}"
    return f"{value[: keep + 1]}***{value[-keep:]}" if len(value) > 2 * keep + 1 else "***"


__all__ = ["CENSORED", "mask"]
