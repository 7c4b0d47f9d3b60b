"""The ``/healthz/`` probes' checks: the database and the LDAP and SQL user stores.

Each check runs on a small thread pool with a deadline, so that a probe answers in
bounded time even when the database or a directory hangs; a check that misses its
deadline counts as failed. Only privacyIDEA's two probed store types are checked.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from factorflow.users.service import UserService

PROBED_TYPES = ("ldapresolver", "sqlresolver")


class HealthService:
    def __init__(self, engine: Engine, users: UserService, *, timeout: float = 5.0) -> None:
        self._engine = engine
        self._users = users
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def database_ok(self) -> bool:
        """Whether the database answers a trivial query within the deadline."""
        return self._within(self._pool.submit(self._ping), self.timeout)

    def _ping(self) -> bool:
        with self._engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    def resolvers(self, session: Session) -> dict[str, dict[str, bool]]:
        """Per probed store type, each resolver's name and whether it answered."""
        checks: dict[str, dict[str, Future[bool] | None]] = {}
        for type_name in PROBED_TYPES:
            checks[type_name] = {
                name: self._check(session, name)
                for name in self._users.list_resolvers(session, type_name=type_name)
            }
        deadline = time.monotonic() + self.timeout
        return {
            type_name: {
                name: future is not None and self._within(future, deadline - time.monotonic())
                for name, future in found.items()
            }
            for type_name, found in checks.items()
        }

    def _check(self, session: Session, name: str) -> Future[bool] | None:
        """The running check of one resolver (its store is built here, in the
        request's thread, which owns the session); None if it cannot be built."""
        try:
            store = self._users.store_for(session, name)
        except Exception:
            return None
        return self._pool.submit(lambda: store.test().ok)

    @staticmethod
    def _within(future: Future[bool], seconds: float) -> bool:
        try:
            return future.result(timeout=max(seconds, 0.0))
        except FutureTimeout:
            future.cancel()
            return False
        except Exception:
            return False
