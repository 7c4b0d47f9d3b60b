"""One RADIUS Access-Request (RFC 2865) with ``pyrad``, and what it answered.

The password travels as RFC 2865 section 5.2 hides it (``User-Password`` XORed with
MD5 of the shared secret); requests carry a Message-Authenticator (RFC 3579 section
3.2, pyrad's default, against forged replies). ``pyrad`` sends the request up to
``retries`` times, waiting ``timeout`` seconds each time, and ignores replies that
fail the Response Authenticator check: a wrong shared secret therefore looks like a
server that never answers, and is reported as such.

Attribute names come from a dictionary: the configuration's file when it exists
(privacyIDEA names ``/etc/privacyidea/dictionary``), otherwise the few RFC 2865 /
RFC 2869 attributes built in here, which are all a check needs.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from enum import Enum
from typing import Any

from factorflow.radius.errors import RadiusRequestError

log = logging.getLogger(__name__)

#: privacyIDEA's default NAS-Identifier (its ``radius.nas_identifier`` setting).
NAS_IDENTIFIER = "privacyIDEA"

#: The attributes Factorflow sends and reads (RFC 2865 section 5, RFC 2869 section 5.14).
BUILTIN_DICTIONARY = """\
ATTRIBUTE User-Name 1 string
ATTRIBUTE User-Password 2 string encrypt=1
ATTRIBUTE NAS-IP-Address 4 ipaddr
ATTRIBUTE Reply-Message 18 string
ATTRIBUTE State 24 octets
ATTRIBUTE Class 25 octets
ATTRIBUTE Session-Timeout 27 integer
ATTRIBUTE NAS-Identifier 32 string
ATTRIBUTE Message-Authenticator 80 octets
"""


class RadiusReply(Enum):
    ACCEPT = "Access-Accept"
    REJECT = "Access-Reject"
    CHALLENGE = "Access-Challenge"


@dataclass(frozen=True)
class RadiusSettings:
    """What a request to one RADIUS server needs (the secret in plaintext)."""

    identifier: str
    server: str
    port: int
    secret: str
    dictionary: str = ""
    timeout: int = 5
    retries: int = 3


@dataclass(frozen=True)
class RadiusAnswer:
    """The reply's code, its Reply-Message (joined) and its State (for an
    Access-Challenge: to be sent back with the answer, RFC 2865 section 5.24)."""

    reply: RadiusReply
    message: str = ""
    state: bytes | None = None


def _dictionary(path: str) -> Any:
    from pyrad.dictionary import Dictionary  # here: only a RADIUS check loads pyrad

    if path and os.path.isfile(path):
        return Dictionary(path)
    return Dictionary(io.StringIO(BUILTIN_DICTIONARY))


def _where(settings: RadiusSettings) -> str:
    return f"The RADIUS server {settings.identifier!r} ({settings.server}:{settings.port})"


def access_request(
    settings: RadiusSettings, user: str, password: str, state: bytes | None = None
) -> RadiusAnswer:
    """Send an Access-Request for ``user`` with ``password`` (and the ``state`` of an
    Access-Challenge being answered). Raises :class:`RadiusRequestError` when no
    valid reply arrives; any other reply than Accept or Challenge is a reject."""
    from pyrad import packet
    from pyrad.client import Client, Timeout

    try:
        client = Client(
            server=settings.server,
            authport=settings.port,
            secret=settings.secret.encode(),
            dict=_dictionary(settings.dictionary),
            retries=max(settings.retries, 1),
            timeout=settings.timeout,
        )
        request = client.CreateAuthPacket(
            code=packet.AccessRequest, User_Name=user, NAS_Identifier=NAS_IDENTIFIER
        )
        request["User-Password"] = request.PwCrypt(password)
        if state is not None:
            request["State"] = state
        reply = client.SendPacket(request)
    except Timeout:
        raise RadiusRequestError(
            f"{_where(settings)} sent no valid answer within {settings.timeout} seconds "
            f"({max(settings.retries, 1)} attempts; a wrong shared secret looks the same)."
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc)[:200] or type(exc).__name__
        raise RadiusRequestError(f"{_where(settings)} cannot be asked: {reason}") from None
    return _answer(reply, packet.AccessAccept, packet.AccessChallenge)


def _answer(reply: Any, accept: int, challenge: int) -> RadiusAnswer:
    message = " ".join(str(part) for part in reply.get("Reply-Message", []))
    if reply.code == accept:
        return RadiusAnswer(RadiusReply.ACCEPT, message)
    if reply.code == challenge:
        states = reply.get("State", [])
        return RadiusAnswer(RadiusReply.CHALLENGE, message, bytes(states[0]) if states else None)
    return RadiusAnswer(RadiusReply.REJECT, message)
