"""The check as one use case in two halves: ``prepare`` (reads, pays for argon2) makes
a plan, ``check`` with that plan decides again under the write lock without paying a
second time — and never trusts the plan for anything that could have changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import argon2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factorflow.bootstrap import Services
from factorflow.tokens.models import Token
from factorflow.validate.plan import CheckPlan
from factorflow.validate.requests import CheckRequest
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, init_token


class CountingHasher(argon2.PasswordHasher):
    """argon2's own hasher that notes each secret it verifies."""

    def __init__(self, like: argon2.PasswordHasher) -> None:
        super().__init__(
            time_cost=like.time_cost, memory_cost=like.memory_cost, parallelism=like.parallelism
        )
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(str(password))
        return super().verify(hash, password)


@pytest.fixture
def counting(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, services: Services
) -> Iterator[CountingHasher]:
    """alice's HOTP token HOTP1 with PIN 1234, then every argon2 verification counted."""
    init_token(
        client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1234", user="alice",
        serial="HOTP1",
    )  # fmt: skip
    original = services.hasher.backend
    services.hasher.backend = counter = CountingHasher(original)
    yield counter
    services.hasher.backend = original


def request(**params: Any) -> CheckRequest:
    return CheckRequest.model_validate({"user": "alice", **params})


def prepare(services: Services, req: CheckRequest) -> CheckPlan:
    with services.sessions() as session:
        return services.validate.prepare(session, req)


def check(services: Services, req: CheckRequest, plan: CheckPlan | None) -> str:
    with services.sessions.begin() as session:
        return services.validate.check(session, req, plan=plan).authentication


def token_row(services: Services) -> tuple[int, int, str]:
    with services.sessions() as session:
        token = session.scalars(select(Token).where(Token.serial == "HOTP1")).one()
        return token.failcount, token.otp_counter, token.pin_hash or ""


def test_the_check_reuses_the_plans_verification(
    services: Services, counting: CountingHasher
) -> None:
    req = request(**{"pass": "1234" + RFC4226_OTPS[0]})
    plan = prepare(services, req)
    assert counting.verified == ["1234"]
    assert plan.user is not None and plan.user.login == "alice"

    assert check(services, req, plan) == "ACCEPT"
    assert counting.verified == ["1234"]


def test_preparing_changes_nothing(services: Services, counting: CountingHasher) -> None:
    before = token_row(services)
    plan = prepare(services, request(**{"pass": "9999" + RFC4226_OTPS[0]}))
    assert counting.verified == ["9999"] and len(plan.verifications) == 1
    assert token_row(services) == before  # no fail counter, no OTP counter


def test_a_plan_for_other_parameters_is_not_used(
    services: Services, counting: CountingHasher
) -> None:
    plan = prepare(services, request(**{"pass": "1234" + RFC4226_OTPS[0]}))
    # Pre definitions may have rewritten the parameters after the plan was made.
    assert check(services, request(**{"pass": "9999" + RFC4226_OTPS[0]}), plan) == "REJECT"
    assert counting.verified == ["1234", "9999"]


def test_a_pin_changed_after_the_plan_is_verified_afresh(
    services: Services, client: TestClient, admin_headers: dict[str, str], counting: CountingHasher
) -> None:
    req = request(**{"pass": "1234" + RFC4226_OTPS[0]})
    plan = prepare(services, req)
    old_hash = token_row(services)[2]
    client.post(
        "/token/setpin", data={"serial": "HOTP1", "otppin": "5678"}, headers=admin_headers
    ).raise_for_status()
    assert token_row(services)[2] != old_hash
    counting.verified.clear()

    # The plan said the PIN matched; the new hash says otherwise, and the check
    # decides by the row it reads under the lock.
    assert check(services, req, plan) == "REJECT"
    assert counting.verified == ["1234"]
    assert token_row(services)[0] == 1  # a wrong PIN counts as a failure


def test_without_a_plan_the_check_verifies_itself(
    services: Services, counting: CountingHasher
) -> None:
    assert check(services, request(**{"pass": "1234" + RFC4226_OTPS[0]}), None) == "ACCEPT"
    assert counting.verified == ["1234"]
