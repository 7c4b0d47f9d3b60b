"""The login throttle on the real database: counts, backoff, lockout, windows, and
two nodes (two Services on one database) sharing them. The clock is injected."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.auth.errors import BACKOFF, LOCKED, FailedLoginError
from factorflow.auth.models import LoginThrottleEntry
from factorflow.auth.throttle import (
    ACCOUNT,
    CLIENT,
    Block,
    LoginThrottle,
    ThrottleRules,
    client_subject,
)
from factorflow.bootstrap import Services, build_services
from factorflow.db.base import retrying
from factorflow.settings import Settings
from tests.auth.helpers import rules
from tests.clocks import DatetimeClock

RULES = rules()


@pytest.fixture
def clock() -> DatetimeClock:
    return DatetimeClock(datetime(2030, 1, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def throttle(clock: DatetimeClock) -> LoginThrottle:
    return LoginThrottle(RULES, clock=clock)


def fail(
    services: Services, throttle: LoginThrottle, account: str, client: str = "192.0.2.1"
) -> Block | None:
    def work(session: Session) -> Block | None:
        return throttle.failed(session, throttle.begin(session, account, client))

    return retrying(services.sessions, work)


def succeed(services: Services, throttle: LoginThrottle, account: str) -> None:
    def work(session: Session) -> None:
        throttle.succeeded(session, throttle.begin(session, account, "192.0.2.1"))

    retrying(services.sessions, work)


def refusal(services: Services, throttle: LoginThrottle, account: str) -> FailedLoginError:
    with pytest.raises(FailedLoginError) as caught:
        fail(services, throttle, account)
    return caught.value


def failures(services: Services, scope: str, subject: str) -> int | None:
    with services.sessions() as session:
        return session.scalar(
            select(LoginThrottleEntry.failures).where(
                LoginThrottleEntry.scope == scope, LoginThrottleEntry.subject == subject
            )
        )


def test_backoff_doubles_then_a_lockout_ends_with_its_time(
    services: Services, throttle: LoginThrottle, clock: DatetimeClock
) -> None:
    assert fail(services, throttle, "alice@staff") is None
    assert fail(services, throttle, "alice@staff") is None
    third = fail(services, throttle, "alice@staff")
    assert (
        third is not None and not third.lockout and third.until == clock.now + timedelta(seconds=1)
    )
    refused = refusal(services, throttle, "alice@staff")
    assert (refused.code, refused.message) == (4035, BACKOFF)
    assert "in backoff until" in refused.audit_info
    clock.advance(1)
    fourth = fail(services, throttle, "alice@staff")
    assert fourth is not None and fourth.until == clock.now + timedelta(seconds=2)
    clock.advance(2)
    fifth = fail(services, throttle, "alice@staff")
    assert fifth is not None and fifth.lockout and fifth.started
    assert fifth.until == clock.now + timedelta(seconds=60)
    clock.advance(59)
    locked = refusal(services, throttle, "alice@staff")
    assert (locked.code, locked.message) == (4036, LOCKED)
    assert "locked until" in locked.audit_info
    assert failures(services, ACCOUNT, "alice@staff") == 5  # refusals are not counted
    clock.advance(1)
    succeed(services, throttle, "alice@staff")
    assert failures(services, ACCOUNT, "alice@staff") is None


def test_two_nodes_share_the_count(
    services: Services, settings: Settings, throttle: LoginThrottle, clock: DatetimeClock
) -> None:
    other = build_services(settings, migrate=False)
    try:
        remote = LoginThrottle(RULES, clock=clock)
        assert fail(services, throttle, "bob@staff") is None
        assert fail(other, remote, "bob@staff") is None
        assert fail(services, throttle, "bob@staff") is not None
        assert refusal(other, remote, "bob@staff").code == 4035
    finally:
        other.close()


def test_a_success_resets_the_account_but_not_the_client(
    services: Services, clock: DatetimeClock
) -> None:
    throttle = LoginThrottle(rules(account=(3, 0), client=(5, 0)), clock=clock)
    for _ in range(2):
        assert fail(services, throttle, "carol@staff") is None
    succeed(services, throttle, "carol@staff")
    assert failures(services, ACCOUNT, "carol@staff") is None
    assert failures(services, CLIENT, "192.0.2.1") == 2
    for _ in range(2):
        assert fail(services, throttle, "carol@staff") is None
    assert failures(services, CLIENT, "192.0.2.1") == 4


def test_failures_are_forgotten_when_the_window_ends(
    services: Services, throttle: LoginThrottle, clock: DatetimeClock
) -> None:
    for _ in range(2):
        fail(services, throttle, "dave@staff")
    clock.advance(600)
    assert fail(services, throttle, "dave@staff") is None
    assert failures(services, ACCOUNT, "dave@staff") == 1


def test_ended_rows_are_purged_when_the_table_grows(
    services: Services, throttle: LoginThrottle, clock: DatetimeClock
) -> None:
    fail(services, throttle, "old@staff")
    clock.advance(601)
    fail(services, throttle, "new@staff")
    assert failures(services, ACCOUNT, "old@staff") is None
    assert failures(services, ACCOUNT, "new@staff") == 1


def test_concurrent_failures_are_all_counted(services: Services, clock: DatetimeClock) -> None:
    throttle = LoginThrottle(rules(account=(1000, 0)), clock=clock)
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(5):
                fail(services, throttle, "erin@staff")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert failures(services, ACCOUNT, "erin@staff") == 30


def test_admins_list_and_clear_blocks(
    services: Services, throttle: LoginThrottle, clock: DatetimeClock
) -> None:
    for _ in range(3):
        fail(services, throttle, "frank@staff")
    with services.sessions() as session:
        rows = throttle.blocked(session)
        assert [(r.scope, r.subject, r.lockout) for r in rows] == [(ACCOUNT, "frank@staff", False)]
        row_id = rows[0].id
    with services.sessions.begin() as session:
        throttle.clear(session, row_id)
    assert fail(services, throttle, "frank@staff") is None


@pytest.mark.parametrize(
    ("address", "subject"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("testclient", "testclient"),
    ],
)
def test_client_subjects(address: str, subject: str) -> None:
    assert client_subject(address) == subject


def test_rules_come_from_the_settings(settings: Settings) -> None:
    changed = settings.model_copy(
        update={"login_account_backoff_after": 7, "login_client_lockout_after": 0}
    )
    made = ThrottleRules.from_settings(changed)
    assert made.account.backoff_after == 7 and made.client.lockout_after == 0
    assert made.block_after(CLIENT, 10_000) is not None  # backoff only
    assert made.block_after(ACCOUNT, 6) is None
