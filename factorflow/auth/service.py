"""JWT issue and verification (HS256), compatible with privacyIDEA's clients.

Clients send the token as the raw value of ``Authorization`` or
``PI-Authorization``; ``Bearer <jwt>`` is accepted as well.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import jwt

from factorflow.core.invocation import Actor
from factorflow.db.base import utcnow
from factorflow.errors import AuthError

ALGORITHM = "HS256"


class AuthService:
    def __init__(self, secret: bytes, validity_seconds: int) -> None:
        self._secret = secret
        self._validity = timedelta(seconds=validity_seconds)

    def issue(self, actor: Actor, *, rights: list[str] | None = None) -> str:
        now = utcnow()
        claims: dict[str, Any] = {
            "username": actor.username,
            "realm": actor.realm,
            "role": actor.role,
            "nonce": secrets.token_hex(10),
            "authtype": "password",
            "iat": now,
            "exp": now + self._validity,
            "rights": rights or [],
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, header_value: str) -> Actor:
        token = header_value.strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "role"]}
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("Authentication failure. Your token has expired.", code=4305) from None
        except jwt.PyJWTError:
            raise AuthError(
                "Authentication failure. Error during decoding your token.", code=4304
            ) from None
        role = claims.get("role")
        username = claims.get("username")
        if role not in ("admin", "user") or not isinstance(username, str) or not username:
            raise AuthError("Authentication failure. Error during decoding your token.", code=4304)
        realm = claims.get("realm") or ""
        return Actor(role=role, username=username, realm=str(realm))
