from __future__ import annotations

from tests.users.conftest import sqlite_userdb

__all__ = ["sqlite_userdb"]
