"""Login throttling of ``POST /auth``, per account and per client address.

The rules (settings ``login_*``, documented in docs/security.md):

* Failed logins are counted per account (the login name; ``user@realm`` for realm
  users, lower case) and per client (an IPv4 address, an IPv6 /64 network) in a
  window of ``login_failure_window_seconds`` that starts with the first failure.
* From the ``backoff_after``-th failure on, logins are refused without a password
  check for a backoff of ``login_backoff_base_seconds`` that doubles with every
  further failure, up to ``login_backoff_max_seconds``; at the ``lockout_after``-th
  failure for ``login_lockout_seconds`` (a lockout).
* Refused logins are not counted. A successful login deletes the account's count;
  a client's count ends only with its window, so that one valid account does not
  buy its address more guesses at others.
* Names that exist nowhere are counted like the others: a lockout does not tell
  which accounts exist.

Several nodes share the rows. A failure increments its row with one conditional
``UPDATE`` (the window restarts inside the statement), or inserts the row in a
savepoint when it is missing (a concurrent insert makes the insert fail and the
update run). The row is then read back and its block written while the request
holds the row lock that the ``UPDATE`` took (PostgreSQL, MariaDB) or SQLite's write
lock, so concurrent failures neither lose a count nor overwrite a longer block.
Logins already past the check when a limit is reached still finish: at most the
requests in flight at that moment get one more try.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Update, and_, case, delete, literal, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factorflow.auth.errors import (
    BACKOFF,
    BACKOFF_CODE,
    LOCKED,
    LOCKED_CODE,
    FailedLoginError,
    ThrottleNotFoundError,
)
from factorflow.auth.models import SUBJECT_LENGTH, LoginThrottleEntry
from factorflow.db.base import UtcDateTime, utcnow
from factorflow.settings import Settings

ACCOUNT = "account"
CLIENT = "client"
#: More doublings than this exceed any configurable maximum backoff.
_MAX_DOUBLINGS = 40


def account_subject(login: str, realm: str | None = None) -> str:
    """The throttle key of an account: an admin's name, or ``login@realm``."""
    name = login if realm is None else f"{login}@{realm}"
    return name.lower()[:SUBJECT_LENGTH]


def client_subject(address: str) -> str:
    """The throttle key of a client: its IPv4 address, or its IPv6 /64 network (one
    host commonly holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Limits:
    """Failures after which a backoff, and a lockout, begin (0: never)."""

    backoff_after: int
    lockout_after: int

    @property
    def active(self) -> bool:
        return bool(self.backoff_after or self.lockout_after)


@dataclass(frozen=True)
class ThrottleRules:
    account: Limits
    client: Limits
    backoff_base: timedelta
    backoff_max: timedelta
    lockout: timedelta
    window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottleRules:
        return cls(
            account=Limits(
                settings.login_account_backoff_after, settings.login_account_lockout_after
            ),
            client=Limits(settings.login_client_backoff_after, settings.login_client_lockout_after),
            backoff_base=timedelta(seconds=settings.login_backoff_base_seconds),
            backoff_max=timedelta(seconds=settings.login_backoff_max_seconds),
            lockout=timedelta(seconds=settings.login_lockout_seconds),
            window=timedelta(seconds=settings.login_failure_window_seconds),
        )

    def limits(self, scope: str) -> Limits:
        return self.account if scope == ACCOUNT else self.client

    def block_after(self, scope: str, failures: int) -> tuple[timedelta, bool] | None:
        """How long ``failures`` block, and whether that is a lockout; None: not at all."""
        limits = self.limits(scope)
        if limits.lockout_after and failures >= limits.lockout_after:
            return self.lockout, True
        if limits.backoff_after and failures >= limits.backoff_after:
            doublings = min(failures - limits.backoff_after, _MAX_DOUBLINGS)
            return min(self.backoff_base * 2**doublings, self.backoff_max), False
        return None


@dataclass(frozen=True)
class Block:
    """A backoff or lockout of one account or client."""

    scope: str
    subject: str
    until: datetime
    lockout: bool
    failures: int
    #: Whether the failure just counted started this lockout.
    started: bool = False

    def describe(self) -> str:
        who = f"account {self.subject!r}" if self.scope == ACCOUNT else f"client {self.subject}"
        state = "locked" if self.lockout else "in backoff"
        until = self.until.isoformat(timespec="seconds")
        return f"{who} {state} until {until} after {self.failures} failed logins"


@dataclass(frozen=True)
class Attempt:
    """A login that passed the throttle; its failure or success is recorded later."""

    subjects: tuple[tuple[str, str], ...]
    #: Whether the account has failures that a success deletes.
    account_counted: bool


class LoginThrottle:
    def __init__(self, rules: ThrottleRules, clock: Callable[[], datetime] = utcnow) -> None:
        self.rules = rules
        self.clock = clock

    def begin(self, session: Session, account: str, client: str) -> Attempt:
        """Admit a login of ``account`` from ``client`` ("" if unknown), or refuse it
        with :class:`FailedLoginError` (4035 backoff, 4036 lockout) while either is blocked."""
        subjects = tuple(
            (scope, subject)
            for scope, subject in ((ACCOUNT, account), (CLIENT, client))
            if subject and self.rules.limits(scope).active
        )
        if not subjects:
            return Attempt((), account_counted=False)
        now = self.clock()
        rows = session.execute(
            select(
                LoginThrottleEntry.scope,
                LoginThrottleEntry.subject,
                LoginThrottleEntry.failures,
                LoginThrottleEntry.blocked_until,
                LoginThrottleEntry.lockout,
            ).where(or_(*(_row_of(scope, subject) for scope, subject in subjects)))
        ).all()
        blocks = [
            Block(row.scope, row.subject, row.blocked_until, row.lockout, row.failures)
            for row in rows
            if row.blocked_until is not None and row.blocked_until > now
        ]
        if blocks:
            block = max(blocks, key=lambda b: (b.lockout, b.until))
            raise FailedLoginError(
                LOCKED if block.lockout else BACKOFF,
                code=LOCKED_CODE if block.lockout else BACKOFF_CODE,
                audit_info=f"login refused: {block.describe()}",
            )
        return Attempt(subjects, account_counted=any(row.scope == ACCOUNT for row in rows))

    def failed(self, session: Session, attempt: Attempt) -> Block | None:
        """Count a failed login; the most severe block it caused, if any."""
        now = self.clock()
        blocks = [self._count(session, scope, subject, now) for scope, subject in attempt.subjects]
        found = [block for block in blocks if block is not None]
        return max(found, key=lambda b: (b.started, b.lockout, b.until)) if found else None

    def succeeded(self, session: Session, attempt: Attempt) -> None:
        """A successful login: the account's failures are forgotten."""
        if attempt.account_counted:
            account = next(subject for scope, subject in attempt.subjects if scope == ACCOUNT)
            session.execute(
                delete(LoginThrottleEntry)
                .where(_row_of(ACCOUNT, account))
                .execution_options(synchronize_session=False)
            )

    # -- what admins see and clear ------------------------------------------------------

    def blocked(self, session: Session, scope: str = "") -> list[LoginThrottleEntry]:
        """Accounts and clients in a backoff or lockout now, the longest first."""
        query = select(LoginThrottleEntry).where(LoginThrottleEntry.blocked_until > self.clock())
        if scope:
            query = query.where(LoginThrottleEntry.scope == scope)
        return list(session.scalars(query.order_by(LoginThrottleEntry.blocked_until.desc())))

    def clear(self, session: Session, throttle_id: int) -> LoginThrottleEntry:
        """Delete one account's or client's failures and block; returns what it was."""
        row = session.get(LoginThrottleEntry, throttle_id)
        if row is None:
            raise ThrottleNotFoundError(f"No login throttle with id {throttle_id}")
        session.delete(row)
        session.flush()
        return row

    def clear_subject(self, session: Session, scope: str, subject: str) -> bool:
        """Delete the failures and block of ``subject`` (as the list shows it)."""
        result = session.execute(
            delete(LoginThrottleEntry)
            .where(_row_of(scope, subject))
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) > 0

    # -- counting -------------------------------------------------------------------------

    def _count(self, session: Session, scope: str, subject: str, now: datetime) -> Block | None:
        self._add_failure(session, scope, subject, now)
        # The row is locked by the update above (or SQLite's write lock is held): what
        # is read here is not changed by anybody else before this request commits.
        row = session.execute(
            select(
                LoginThrottleEntry.id,
                LoginThrottleEntry.failures,
                LoginThrottleEntry.blocked_until,
                LoginThrottleEntry.lockout,
            ).where(_row_of(scope, subject))
        ).one()
        decided = self.rules.block_after(scope, row.failures)
        if decided is None:
            return None
        duration, lockout = decided
        locked_already = row.lockout and row.blocked_until is not None and row.blocked_until > now
        block = Block(
            scope,
            subject,
            until=max(now + duration, row.blocked_until or now),  # never shortened
            lockout=lockout or locked_already,
            failures=row.failures,
            started=lockout and not locked_already,
        )
        session.execute(
            update(LoginThrottleEntry)
            .where(LoginThrottleEntry.id == row.id)
            .values(blocked_until=block.until, lockout=block.lockout)
            .execution_options(synchronize_session=False)
        )
        return block

    def _add_failure(self, session: Session, scope: str, subject: str, now: datetime) -> None:
        """Count one failure: a conditional update, or an insert when the row is new."""
        increment = self._increment(scope, subject, now)
        if _rowcount(session.execute(increment)):
            return
        self._purge(session, now)
        try:
            with session.begin_nested():
                session.add(
                    LoginThrottleEntry(
                        scope=scope,
                        subject=subject,
                        failures=1,
                        window_start=now,
                        last_failure=now,
                        lockout=False,
                    )
                )
        except IntegrityError:  # inserted concurrently: count on that row
            session.execute(increment)

    def _increment(self, scope: str, subject: str, now: datetime) -> Update:
        new_window = LoginThrottleEntry.window_start <= self._window_floor(now)
        # MariaDB evaluates SET clauses left to right on the updated row: failures
        # must be computed before window_start changes.
        return (
            update(LoginThrottleEntry)
            .where(_row_of(scope, subject))
            .ordered_values(
                (
                    LoginThrottleEntry.failures,
                    case((new_window, 1), else_=LoginThrottleEntry.failures + 1),
                ),
                (
                    LoginThrottleEntry.window_start,
                    case(
                        (new_window, literal(now, UtcDateTime())),
                        else_=LoginThrottleEntry.window_start,
                    ),
                ),
                (LoginThrottleEntry.last_failure, now),
            )
            .execution_options(synchronize_session=False)
        )

    def _window_floor(self, now: datetime) -> datetime:
        """Windows that started at or before this have ended."""
        return now - self.rules.window

    def _purge(self, session: Session, now: datetime) -> None:
        """Forget rows whose window and block have both ended (run when a row is added,
        which is when the table grows)."""
        session.execute(
            delete(LoginThrottleEntry)
            .where(
                LoginThrottleEntry.last_failure <= self._window_floor(now),
                or_(
                    LoginThrottleEntry.blocked_until.is_(None),
                    LoginThrottleEntry.blocked_until <= now,
                ),
            )
            .execution_options(synchronize_session=False)
        )


def _row_of(scope: str, subject: str) -> ColumnElement[bool]:
    return and_(LoginThrottleEntry.scope == scope, LoginThrottleEntry.subject == subject)


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0
