"""Local administrator accounts (privacyIDEA's internal admins)."""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.admins.errors import AdminExistsError, AdminNotFoundError
from factorflow.admins.models import Admin, new_credential_version
from factorflow.crypto import Hasher
from factorflow.errors import ParameterError

_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,120}$")
MIN_PASSWORD_LENGTH = 8
#: Marks a hash imported from privacyIDEA: argon2 over ``PI_PEPPER + password``, the
#: pepper kept in the data directory's :attr:`AdminService.pepper_file`.
PEPPERED = "pi-pepper:"


class AdminService:
    """Admin accounts. Deleting an admin or setting its password ends its sessions:
    the JWTs carry the admin's credential version (factorflow.auth.sessions)."""

    def __init__(self, hasher: Hasher, pepper_file: Path | None = None) -> None:
        """``pepper_file`` holds privacyIDEA's ``PI_PEPPER`` once admins were imported
        from it (``factorflow migrate privacyidea``)."""
        self._hasher = hasher
        self.pepper_file = pepper_file
        # Verifying against a dummy hash when the admin does not exist keeps the
        # response time independent of whether the name is taken. Made at the first
        # such login, not at start: a hash holds argon2_memory_kib while it runs, and
        # a worker that never sees an admin login need not pay it.
        self._dummy_hash: str | None = None

    def add(self, session: Session, username: str, password: str, email: str = "") -> Admin:
        if not _NAME.match(username):
            raise ParameterError("Invalid admin name: use letters, digits and _.@+- only")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ParameterError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters")
        if session.scalar(select(Admin).where(Admin.username == username)):
            raise AdminExistsError(f"Admin {username!r} already exists")
        admin = Admin(username=username, password_hash=self._hasher.hash(password), email=email)
        session.add(admin)
        session.flush()
        return admin

    def list(self, session: Session) -> list[Admin]:
        return list(session.scalars(select(Admin).order_by(Admin.username)))

    def get(self, session: Session, username: str) -> Admin:
        admin = self.find(session, username)
        if admin is None:
            raise AdminNotFoundError(f"Admin {username!r} does not exist")
        return admin

    def find(self, session: Session, username: str) -> Admin | None:
        return session.scalar(select(Admin).where(Admin.username == username))

    @staticmethod
    def emails(session: Session, usernames: Sequence[str]) -> builtins.list[str]:
        """The email addresses of the named admins that have one, in no set order."""
        rows = session.scalars(select(Admin.email).where(Admin.username.in_(usernames)))
        return [email for email in rows if email]

    def exists(self, session: Session, username: str) -> bool:
        return session.scalar(select(Admin.id).where(Admin.username == username)) is not None

    def delete(self, session: Session, username: str) -> None:
        session.delete(self.get(session, username))

    def set_password(self, session: Session, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ParameterError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters")
        admin = self.get(session, username)
        admin.password_hash = self._hasher.hash(password)
        admin.credential_version = new_credential_version()

    def import_admin(self, session: Session, username: str, pi_hash: str, email: str) -> Admin:
        """Create or update ``username`` with a password hash taken from privacyIDEA
        (argon2 over its pepper and the password), so the same password logs in. The
        hash is replaced by Factorflow's own form at the next successful login."""
        if not _NAME.match(username):
            raise ParameterError("Invalid admin name: use letters, digits and _.@+- only")
        if not pi_hash.startswith("$argon2"):
            raise ParameterError("Only argon2 password hashes can be imported")
        admin = self.find(session, username) or Admin(username=username)
        if admin.password_hash != PEPPERED + pi_hash:
            admin.password_hash = PEPPERED + pi_hash
            admin.credential_version = new_credential_version()
        admin.email = email
        session.add(admin)
        session.flush()
        return admin

    def verify_password(self, admin: Admin | None, password: str) -> bool:
        """Whether ``password`` is the password of ``admin``. For no admin (an unknown
        name) a dummy hash is verified, so both answers cost one argon2 verification.
        A hash imported from privacyIDEA that matches is rehashed in Factorflow's form
        (written with the caller's unit of work)."""
        if admin is None:
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash("not-a-password")
            self._hasher.verify(self._dummy_hash, password)
            return False
        if not admin.password_hash.startswith(PEPPERED):
            return self._hasher.verify(admin.password_hash, password)
        stored = admin.password_hash.removeprefix(PEPPERED)
        if not self._hasher.verify(stored, self._pepper() + password):
            return False
        admin.password_hash = self._hasher.hash(password)
        return True

    def _pepper(self) -> str:
        try:
            return self.pepper_file.read_text(encoding="utf-8") if self.pepper_file else ""
        except OSError:
            return ""
