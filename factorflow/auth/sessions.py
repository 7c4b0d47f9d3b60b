"""Sessions that end before their JWT expires: logout, a new password, a deleted admin.

Every request with a JWT costs one indexed ``SELECT`` in the request's own unit of
work (no second connection): whether the session id is in ``revoked_session`` and,
for an admin, the admin's current credential version, which must equal the one the
JWT carries. The state is in the database only, so every node sees a logout or a
password change made on another at once; there is no in-process cache.

* logout (``DELETE /auth``) writes the session id, with the JWT's expiry, into
  ``revoked_session``; rows of expired JWTs are deleted by the next logout;
* ``AdminService.set_password`` gives the admin a new credential version;
* a deleted admin has no credential version left (a new admin of the same name
  gets a new one).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factorflow.admins.models import Admin
from factorflow.auth.models import SESSION_ID_LENGTH, RevokedSession
from factorflow.auth.service import Credentials
from factorflow.crypto import constant_time_equal


class SessionGuard:
    def __init__(self) -> None:
        # Built once: a request pays for running the statement, not for building it.
        revoked = exists().where(RevokedSession.session_id == bindparam("session_id"))
        version = (
            select(Admin.credential_version)
            .where(Admin.username == bindparam("username"))
            .scalar_subquery()
        )
        self._admin_check = select(version, revoked)
        self._user_check = select(revoked)

    def refusal(self, session: Session, credentials: Credentials) -> str | None:
        """Why the session of ``credentials`` has ended, or None while it is live."""
        session_id = credentials.session_id
        if not session_id or len(session_id) > SESSION_ID_LENGTH:
            return "the JWT names no session (issued before an upgrade)"
        actor = credentials.actor
        # On the session's connection, without the ORM's statement handling: this
        # runs on every request.
        connection = session.connection()
        if not actor.is_admin:
            ended = connection.scalar(self._user_check, {"session_id": session_id})
            return "the session was ended by logout" if ended else None
        current, ended = connection.execute(
            self._admin_check, {"session_id": session_id, "username": actor.username}
        ).one()
        if current is None:
            return f"the admin {actor.username!r} no longer exists"
        if not current or not constant_time_equal(current, credentials.credential_version):
            return f"the password of the admin {actor.username!r} changed after this login"
        return "the session was ended by logout" if ended else None

    def revoke(self, session: Session, credentials: Credentials, now: datetime) -> None:
        """End the session of ``credentials`` (idempotent) and forget the revocations
        of JWTs that have expired by ``now``."""
        session.execute(delete(RevokedSession).where(RevokedSession.expires_at < now))
        if not credentials.session_id:
            return
        try:
            with session.begin_nested():
                session.add(
                    RevokedSession(
                        session_id=credentials.session_id, expires_at=credentials.expires_at
                    )
                )
        except IntegrityError:
            pass  # a concurrent logout of the same session wrote it first
