"""A PIN whose stored hash is weaker than this server's cost (one carried over from
privacyIDEA with a lower cost, or made before the cost was raised) is hashed again at
the server's cost after it proved right; a stronger hash is left as it is."""

from __future__ import annotations

import argon2
import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.crypto import Hasher
from factorflow.db.base import transaction
from factorflow.tokens.models import Token
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, check, init_token

H = dict[str, str]
PIN = "1234"


def stored_pin_hash(services: Services, serial: str) -> str:
    with transaction(services.sessions) as session:
        value: str = session.scalars(select(Token.pin_hash).where(Token.serial == serial)).one()
        return value


def token_with_pin_hashed_at(
    services: Services, client: TestClient, headers: H, *, time_cost: int, memory_kib: int
) -> str:
    serial: str = init_token(
        client, headers, type="hotp", otpkey=RFC_KEY_HEX, pin=PIN, user="alice"
    )["detail"]["serial"]
    carried = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    with transaction(services.sessions) as session:
        session.execute(
            update(Token).where(Token.serial == serial).values(pin_hash=carried.hash(PIN))
        )
    return serial


def accepted(client: TestClient, otp: str, pin: str = PIN) -> bool:
    return check(client, user="alice", **{"pass": pin + otp})["result"]["authentication"] == (
        "ACCEPT"
    )


def test_a_weaker_pin_hash_is_replaced_at_the_first_success(
    services: Services, client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    serial = token_with_pin_hashed_at(services, client, admin_headers, time_cost=1, memory_kib=64)
    assert not accepted(client, "000000")  # right PIN, wrong OTP: not a success
    assert argon2.extract_parameters(stored_pin_hash(services, serial)).memory_cost == 64
    assert accepted(client, RFC4226_OTPS[0])
    rehashed = argon2.extract_parameters(stored_pin_hash(services, serial))
    assert (rehashed.time_cost, rehashed.memory_cost) == (
        services.settings.argon2_time_cost,
        services.settings.argon2_memory_kib,
    )
    assert accepted(client, RFC4226_OTPS[1])  # the same PIN, now under the new hash
    assert not accepted(client, RFC4226_OTPS[2], pin="4321")


def test_a_stronger_pin_hash_is_kept(
    services: Services, client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    serial = token_with_pin_hashed_at(services, client, admin_headers, time_cost=2, memory_kib=2048)
    before = stored_pin_hash(services, serial)
    assert accepted(client, RFC4226_OTPS[0])
    assert stored_pin_hash(services, serial) == before


@pytest.mark.parametrize(
    ("stored", "weaker"),
    [
        (argon2.PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash("x"), True),
        (argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("x"), False),
        (argon2.PasswordHasher(time_cost=9, memory_cost=65536, parallelism=4).hash("x"), False),
        (
            argon2.PasswordHasher(
                time_cost=3, memory_cost=4096, parallelism=1, type=argon2.Type.I
            ).hash("x"),
            True,
        ),
        ("not a hash", True),
    ],
)
def test_weaker_means_less_time_or_memory_or_not_argon2id(stored: str, weaker: bool) -> None:
    assert Hasher(time_cost=1, memory_kib=1024, parallelism=1).is_weaker(stored) is weaker
