"""privacyIDEA's ``auth_cache`` policy: the same ``pass`` accepted again for a while.

After a user authenticated with a token (PIN + OTP) and an ``auth_cache`` policy
applies, :meth:`AuthCache.store` writes an :class:`AuthCacheEntry` holding an argon2
hash of the whole ``pass``. A later ``/validate/check`` of that user (not of a serial,
not the answer to a challenge) whose ``pass`` verifies against a live entry succeeds
with "Authenticated by AuthCache." without using a new OTP.

An entry is live while (see :class:`~factorflow.policies.authn.AuthCacheRule`):

* its first authentication is younger than the rule's lifetime (``4h``),
* with ``4h/5m``, its last use is younger than 5 minutes,
* with ``4h/3``, it was used from the cache fewer than 3 times.

Only the exact value verifies; anything else falls through to the normal check.
Using an entry is one conditional UPDATE (``auth_count`` below the maximum), so two
concurrent requests cannot use the last allowed use twice. Each lookup verifies at
most :data:`MAX_ENTRIES` hashes, newest first, and writing an entry deletes the
user's dead ones and all but the newest live ones, so the cost per request stays
bounded however often the user logs in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from factorflow.crypto import Hasher
from factorflow.policies.authn import AuthCacheRule
from factorflow.users.identity import User
from factorflow.validate.models import AuthCacheEntry

MSG_AUTH_CACHE = "Authenticated by AuthCache."
#: Live entries kept per user; a lookup verifies at most this many argon2 hashes.
MAX_ENTRIES = 5
NAME_LENGTH = 120


def _fits(user: User) -> bool:
    """Whether the user's names fit the table's columns (longer ones are not cached)."""
    return max(len(user.login), len(user.realm), len(user.resolver)) <= NAME_LENGTH


def _of(user: User) -> list[ColumnElement[bool]]:
    return [
        AuthCacheEntry.username == user.login,
        AuthCacheEntry.realm == user.realm,
        AuthCacheEntry.resolver == user.resolver,
    ]


def _live(rule: AuthCacheRule, now: datetime) -> list[ColumnElement[bool]]:
    conditions = [AuthCacheEntry.first_auth > now - rule.lifetime]
    if rule.idle is not None:
        conditions.append(AuthCacheEntry.last_auth > now - rule.idle)
    if rule.max_uses is not None:
        conditions.append(AuthCacheEntry.auth_count < rule.max_uses)
    return conditions


def _dead(rule: AuthCacheRule, now: datetime) -> ColumnElement[bool]:
    conditions = [AuthCacheEntry.first_auth <= now - rule.lifetime]
    if rule.idle is not None:
        conditions.append(AuthCacheEntry.last_auth <= now - rule.idle)
    if rule.max_uses is not None:
        conditions.append(AuthCacheEntry.auth_count >= rule.max_uses)
    return or_(*conditions)


class AuthCache:
    def __init__(self, hasher: Hasher) -> None:
        self.hasher = hasher

    def use(
        self, session: Session, user: User, password: str, rule: AuthCacheRule, now: datetime
    ) -> bool:
        """Whether ``password`` is a live cached authentication of ``user``; a hit
        counts as one use (``auth_count``, ``last_auth``)."""
        if not password or not _fits(user):
            return False
        rows = session.execute(
            select(AuthCacheEntry.id, AuthCacheEntry.authentication)
            .where(*_of(user), *_live(rule, now))
            .order_by(AuthCacheEntry.last_auth.desc(), AuthCacheEntry.id.desc())
            .limit(MAX_ENTRIES)
        ).all()
        for entry_id, hashed in rows:
            if self.hasher.verify(hashed, password):
                return self._count_use(session, entry_id, rule, now)
        return False

    @staticmethod
    def _count_use(session: Session, entry_id: int, rule: AuthCacheRule, now: datetime) -> bool:
        # Conditional on the entry still being live: a concurrent request may have
        # taken the last allowed use, or a writer deleted the entry.
        done = session.execute(
            update(AuthCacheEntry)
            .where(AuthCacheEntry.id == entry_id, *_live(rule, now))
            .values(auth_count=AuthCacheEntry.auth_count + 1, last_auth=now),
            execution_options={"synchronize_session": False},
        )
        assert isinstance(done, CursorResult)
        return done.rowcount == 1

    def store(
        self, session: Session, user: User, password: str, rule: AuthCacheRule, now: datetime
    ) -> None:
        """Remember a successful authentication with ``password``; drops the user's
        dead entries and keeps the newest live ones."""
        if not password or not _fits(user):
            return
        session.execute(
            delete(AuthCacheEntry).where(*_of(user), _dead(rule, now)),
            execution_options={"synchronize_session": False},
        )
        surplus = session.scalars(
            select(AuthCacheEntry.id)
            .where(*_of(user))
            .order_by(AuthCacheEntry.last_auth.desc(), AuthCacheEntry.id.desc())
            .offset(MAX_ENTRIES - 1)
            .limit(100)
        ).all()
        if surplus:
            session.execute(
                delete(AuthCacheEntry).where(AuthCacheEntry.id.in_(surplus)),
                execution_options={"synchronize_session": False},
            )
        session.add(
            AuthCacheEntry(
                username=user.login,
                realm=user.realm,
                resolver=user.resolver,
                authentication=self.hasher.hash(password),
                first_auth=now,
                last_auth=now,
                auth_count=0,
            )
        )
