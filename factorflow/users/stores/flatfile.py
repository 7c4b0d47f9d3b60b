"""Flat-file user store (privacyIDEA's ``passwdresolver``).

Reads a file in passwd(5) format, ``login:password:uid:gid:GECOS:home:shell``. The
GECOS field is read as privacyIDEA reads it: comma-separated, the first entry is
"Given Surname" (split at the first blank), the third the (office) phone, the
fourth the mobile (home) phone, and the first later entry that looks like an
address is the email. The whole GECOS field is the description.

Passwords are checked only when field 2 holds a crypt(3) hash (``$6$``, ``$5$``,
``$1$``, bcrypt, argon2); ``x``, ``*``, ``!`` or empty never verify. The file is
re-read when its modification time, size or inode changes. Read-only.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from factorflow.crypto import Hasher
from factorflow.errors import ParameterError
from factorflow.users.base import StoreOptions, UserRecord, UserStore
from factorflow.users.errors import StoreUnavailableError
from factorflow.users.stores.passwords import Decoys, is_password_hash, verify_password

__all__ = ["FlatFileOptions", "FlatFileUserStore", "wildcard_matcher"]

#: A file this large is surely a mistake; refusing it keeps memory bounded.
MAX_FILE_BYTES = 64 * 1024 * 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FlatFileOptions(StoreOptions):
    file_name: str = Field(
        alias="fileName",
        min_length=1,
        max_length=4096,
        title="File name",
        description="A passwd-format file readable by the server, e.g. /etc/factorflow/users",
    )


def wildcard_matcher(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; everything else is literal."""
    parts = (re.escape(part) for part in pattern.split("*"))
    flags = re.IGNORECASE if "*" in pattern else 0
    return re.compile(".*".join(parts), flags | re.DOTALL)


@dataclass(frozen=True)
class _Snapshot:
    stamp: tuple[int, int, int]
    records: tuple[UserRecord, ...]
    by_login: dict[str, UserRecord]
    by_uid: dict[str, UserRecord]
    hashes: dict[str, str]


def _gecos_attributes(gecos: str) -> dict[str, str]:
    parts = gecos.split(",")
    given, _, surname = parts[0].strip().partition(" ")
    attributes = {"givenname": given, "surname": surname.strip(), "description": gecos}
    attributes["phone"] = parts[2].strip() if len(parts) > 2 else ""
    attributes["mobile"] = parts[3].strip() if len(parts) > 3 else ""
    attributes["email"] = next((p.strip() for p in parts[4:] if _EMAIL.match(p.strip())), "")
    return attributes


def parse_passwd(text: str) -> tuple[list[UserRecord], dict[str, str]]:
    """Records in file order and uid → password hash; malformed lines are skipped."""
    records: list[UserRecord] = []
    hashes: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) < 3 or not fields[0] or not fields[2]:
            continue
        login, secret, uid = fields[0], fields[1], fields[2]
        gecos = fields[4] if len(fields) > 4 else ""
        attributes = {"username": login, "userid": uid, **_gecos_attributes(gecos)}
        records.append(UserRecord(uid=uid, login=login, attributes=attributes))
        if is_password_hash(secret) and uid not in hashes:
            hashes[uid] = secret
    return records, hashes


class FlatFileUserStore(UserStore):
    type_name = "passwdresolver"
    description = "A file in passwd(5) format; read-only"
    Options = FlatFileOptions

    def __init__(self, name: str, options: StoreOptions, *, hasher: Hasher | None = None) -> None:
        super().__init__(name, options, hasher=hasher)
        assert isinstance(options, FlatFileOptions)
        self.path = Path(options.file_name)
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._decoys = Decoys()

    def verify_config(self) -> None:
        if not self.path.is_absolute():
            raise ParameterError(
                f"Invalid option 'fileName': {str(self.path)!r} is not an absolute path"
            )
        if not self.path.is_file():
            raise ParameterError(
                f"Invalid option 'fileName': {str(self.path)!r} is not a readable file"
            )

    def _load(self) -> _Snapshot:
        try:
            info = os.stat(self.path)
        except OSError as exc:
            raise StoreUnavailableError(
                f"User store {self.name!r}: cannot read {self.path}: {exc.strerror}"
            ) from None
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        current = self._snapshot
        if current is not None and current.stamp == stamp:
            return current
        with self._lock:
            current = self._snapshot
            if current is not None and current.stamp == stamp:
                return current
            if info.st_size > MAX_FILE_BYTES:
                raise StoreUnavailableError(f"User store {self.name!r}: {self.path} is too large")
            try:
                text = self.path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise StoreUnavailableError(
                    f"User store {self.name!r}: cannot read {self.path}: {exc.strerror}"
                ) from None
            records, hashes = parse_passwd(text)
            by_login: dict[str, UserRecord] = {}
            by_uid: dict[str, UserRecord] = {}
            for record in records:
                by_login.setdefault(record.login, record)
                by_uid.setdefault(record.uid, record)
            # Swapped in one assignment: readers see the old or the new snapshot, whole.
            self._snapshot = _Snapshot(stamp, tuple(records), by_login, by_uid, hashes)
            return self._snapshot

    def user_id(self, login: str) -> str | None:
        record = self._load().by_login.get(login)
        return record.uid if record else None

    def find(self, login: str) -> UserRecord | None:
        return self._load().by_login.get(login)

    def get(self, uid: str) -> UserRecord | None:
        return self._load().by_uid.get(uid)

    def search(self, filters: dict[str, str], limit: int) -> list[UserRecord]:
        matchers = {
            key: wildcard_matcher(pattern) for key, pattern in filters.items() if pattern != "*"
        }
        found: list[UserRecord] = []
        for record in self._load().records:
            if all(
                key in record.attributes and matcher.fullmatch(record.attributes[key])
                for key, matcher in matchers.items()
            ):
                found.append(record)
                if len(found) >= limit:
                    break
        return found

    def check_password(self, uid: str, password: str) -> bool:
        stored = self._load().hashes.get(uid)
        return stored is not None and verify_password(stored, password)

    def check_unknown_password(self, password: str) -> None:
        # A decoy costing what the first user's hash costs (files hold one kind).
        sample = next(iter(self._load().hashes.values()), None)
        if sample is not None and password:
            self._decoys.verify_like(sample, password)
