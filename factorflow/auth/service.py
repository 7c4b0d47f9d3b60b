"""JWT issue and verification (HS256), compatible with privacyIDEA's clients.

Clients send the token as the raw value of ``Authorization`` or
``PI-Authorization``; ``Bearer <jwt>`` is accepted as well.

Besides privacyIDEA's claims a JWT names its session (``jti``) and, for an admin,
the admin's credential version (``cv``); :mod:`factorflow.auth.sessions` checks both
against the database on every request, so that logout, a new password or the
deletion of the admin end the session before it expires.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from factorflow.core.invocation import Actor
from factorflow.db.base import utcnow
from factorflow.errors import AuthError

ALGORITHM = "HS256"
EXPIRED = "Authentication failure. Your token has expired."
UNDECODABLE = "Authentication failure. Error during decoding your token."


@dataclass(frozen=True)
class Credentials:
    """What a verified JWT says: who, which session, until when."""

    actor: Actor
    #: The JWT's ``jti``; "" for JWTs issued before sessions were bound (refused).
    session_id: str
    #: The admin's credential version at login; "" for realm users.
    credential_version: str
    expires_at: datetime


class AuthService:
    def __init__(self, secret: bytes, validity_seconds: int) -> None:
        self._secret = secret
        self._validity = timedelta(seconds=validity_seconds)

    def issue(
        self,
        actor: Actor,
        *,
        rights: list[str] | None = None,
        credential_version: str = "",
        validity_seconds: int | None = None,
    ) -> str:
        """A JWT for ``actor``, valid for ``validity_seconds`` (a webui policy's
        ``jwt_validity``) or the server's setting."""
        now = utcnow()
        validity = (
            timedelta(seconds=validity_seconds) if validity_seconds is not None else self._validity
        )
        claims: dict[str, Any] = {
            "username": actor.username,
            "realm": actor.realm,
            "role": actor.role,
            "nonce": secrets.token_hex(10),
            "authtype": "password",
            "iat": now,
            "exp": now + validity,
            "rights": rights or [],
            "jti": secrets.token_hex(16),
        }
        if credential_version:
            claims["cv"] = credential_version
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, header_value: str) -> Credentials:
        """Check the signature and expiry; the session itself is checked by
        :class:`~factorflow.auth.sessions.SessionGuard`."""
        token = header_value.strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "role"]}
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(EXPIRED, code=4305) from None
        except jwt.PyJWTError:
            raise AuthError(UNDECODABLE, code=4304) from None
        role = claims.get("role")
        username = claims.get("username")
        if role not in ("admin", "user") or not isinstance(username, str) or not username:
            raise AuthError(UNDECODABLE, code=4304)
        realm = claims.get("realm") or ""
        return Credentials(
            actor=Actor(role=role, username=username, realm=str(realm)),
            session_id=_text_claim(claims, "jti"),
            credential_version=_text_claim(claims, "cv"),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )


def _text_claim(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    return value if isinstance(value, str) else ""
