"""The ``auth_cache`` authentication policy: the same pass again, without a new OTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.db.base import utcnow
from factorflow.validate.models import AuthCacheEntry
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import (
    RFC4226_OTPS,
    RFC_KEY_HEX,
    assert_error,
    check,
    init_token,
    ok,
)

CACHED = "Authenticated by AuthCache."


@pytest.fixture
def alice_token(client: TestClient, admin_headers: dict[str, str], flatfile_realm: str) -> str:
    init_token(client, admin_headers, type="hotp", serial="HOTP-A", otpkey=RFC_KEY_HEX,
               user="alice", realm=flatfile_realm, pin="pin")  # fmt: skip
    return "HOTP-A"


def _login(client: TestClient, otp_index: int, pin: str = "pin") -> dict[str, object]:
    return check(client, user="alice", **{"pass": pin + RFC4226_OTPS[otp_index]})


def _message(body: dict[str, object]) -> str:
    detail = body["detail"]
    assert isinstance(detail, dict)
    return str(detail["message"])


def _accepted(body: dict[str, object]) -> bool:
    result = body["result"]
    assert isinstance(result, dict)
    return result["authentication"] == "ACCEPT"


def _entries(services: Services) -> list[AuthCacheEntry]:
    with services.sessions() as session:
        return list(session.scalars(select(AuthCacheEntry).order_by(AuthCacheEntry.id)))


def _age(services: Services, **ages: timedelta) -> None:
    """Backdate every cache entry: first_auth / last_auth this long ago."""
    now = utcnow()
    with services.sessions.begin() as session:
        session.execute(update(AuthCacheEntry).values(**{k: now - v for k, v in ages.items()}))


def test_same_pass_is_accepted_from_the_cache_without_using_an_otp(
    client: TestClient, alice_token: str, set_policy: SetPolicy, services: Services
) -> None:
    set_policy("cache", scope="authentication", action="auth_cache=4h")
    first = _login(client, 1)
    assert _accepted(first) and _message(first) == "matching 1 tokens"
    [entry] = _entries(services)
    assert (entry.username, entry.realm, entry.resolver) == ("alice", "realm1", "resolver1")
    assert entry.authentication.startswith("$argon2id$")
    assert RFC4226_OTPS[1] not in entry.authentication

    for uses in (1, 2):
        again = _login(client, 1)
        assert _accepted(again) and _message(again) == CACHED, again
        [entry] = _entries(services)
        assert entry.auth_count == uses
    # the cache used no OTP: the next value is still the one after the first login
    assert _message(_login(client, 2)) == "matching 1 tokens"


def test_a_different_pass_is_not_served_by_the_cache(
    client: TestClient, alice_token: str, set_policy: SetPolicy
) -> None:
    set_policy("cache", scope="authentication", action="auth_cache=4h")
    assert _accepted(_login(client, 1))
    wrong_pin = _login(client, 1, pin="pix")
    assert not _accepted(wrong_pin) and _message(wrong_pin) == "wrong otp pin"
    prefix = check(client, user="alice", **{"pass": "pin" + RFC4226_OTPS[1][:-1]})
    assert not _accepted(prefix)
    assert _message(_login(client, 1)) == CACHED


def test_without_the_policy_the_pass_is_a_replay(
    client: TestClient, alice_token: str, services: Services
) -> None:
    assert _accepted(_login(client, 1))
    replay = _login(client, 1)
    assert not _accepted(replay) and "previous otp used again" in _message(replay)
    assert _entries(services) == []


def test_entries_expire_after_the_lifetime_and_are_cleaned_up(
    client: TestClient, alice_token: str, set_policy: SetPolicy, services: Services
) -> None:
    set_policy("cache", scope="authentication", action="auth_cache=4h")
    assert _accepted(_login(client, 1))
    _age(services, first_auth=timedelta(hours=3, minutes=59), last_auth=timedelta(hours=3))
    assert _message(_login(client, 1)) == CACHED
    _age(services, first_auth=timedelta(hours=4, seconds=1), last_auth=timedelta(seconds=1))
    expired = _login(client, 1)
    assert not _accepted(expired) and "previous otp used again" in _message(expired)
    # the next successful authentication writes its entry and deletes the dead one
    assert _accepted(_login(client, 2))
    [entry] = _entries(services)
    assert entry.auth_count == 0
    assert _message(_login(client, 2)) == CACHED


def test_second_value_limits_the_time_since_the_last_use(
    client: TestClient, alice_token: str, set_policy: SetPolicy, services: Services
) -> None:
    set_policy("cache", scope="authentication", action="auth_cache=4h/5m")
    assert _accepted(_login(client, 1))
    _age(services, first_auth=timedelta(hours=2), last_auth=timedelta(minutes=4))
    assert _message(_login(client, 1)) == CACHED  # and the use renews last_auth
    [entry] = _entries(services)
    assert utcnow() - entry.last_auth < timedelta(minutes=1)
    _age(services, first_auth=timedelta(hours=2), last_auth=timedelta(minutes=5, seconds=1))
    assert not _accepted(_login(client, 1))


def test_a_number_limits_the_uses(
    client: TestClient, alice_token: str, set_policy: SetPolicy, services: Services
) -> None:
    set_policy("cache", scope="authentication", action="auth_cache=4h/2")
    assert _accepted(_login(client, 1))
    assert _message(_login(client, 1)) == CACHED
    assert _message(_login(client, 1)) == CACHED
    exhausted = _login(client, 1)
    assert not _accepted(exhausted)
    [entry] = _entries(services)
    assert entry.auth_count == 2


def test_a_disabled_token_ends_the_cache_at_once(
    client: TestClient, admin_headers: dict[str, str], alice_token: str, set_policy: SetPolicy
) -> None:
    set_policy("cache", scope="authentication", action="auth_cache=4h")
    assert _accepted(_login(client, 1))
    ok(client.post(f"/token/disable/{alice_token}", headers=admin_headers))
    assert not _accepted(_login(client, 1))
    ok(client.post(f"/token/enable/{alice_token}", headers=admin_headers))
    assert _message(_login(client, 1)) == CACHED


def test_serial_authentications_are_not_cached(
    client: TestClient, alice_token: str, set_policy: SetPolicy, services: Services
) -> None:
    set_policy("cache", scope="authentication", action="auth_cache=4h")
    body = check(client, serial=alice_token, **{"pass": "pin" + RFC4226_OTPS[1]})
    assert _accepted(body)
    assert _entries(services) == []
    assert not _accepted(check(client, serial=alice_token, **{"pass": "pin" + RFC4226_OTPS[1]}))


def test_only_users_the_policy_matches_are_cached(
    client: TestClient, admin_headers: dict[str, str], alice_token: str, set_policy: SetPolicy,
    services: Services,
) -> None:  # fmt: skip
    init_token(client, admin_headers, type="hotp", serial="HOTP-B", otpkey=RFC_KEY_HEX,
               user="bob", realm="realm1", pin="pin")  # fmt: skip
    set_policy("cache", scope="authentication", action="auth_cache=1h", user="alice")
    assert _accepted(check(client, user="bob", **{"pass": "pin" + RFC4226_OTPS[1]}))
    assert _accepted(_login(client, 1))
    with services.sessions() as session:
        users = session.scalars(select(AuthCacheEntry.username)).all()
        assert users == ["alice"]
        assert session.scalar(select(func.count(AuthCacheEntry.id))) == 1


@pytest.mark.parametrize("value", ["4", "4x", "4h/", "4h/0", "4h/5m/3", "h", "4h/-3", "1w"])
def test_invalid_auth_cache_values_are_refused(
    client: TestClient, admin_headers: dict[str, str], value: str
) -> None:
    response = client.post(
        "/policy/cache",
        data={"scope": "authentication", "action": f"auth_cache={value}"},
        headers=admin_headers,
    )
    body = assert_error(response, 400)
    message = body["result"]["error"]["message"]
    assert "'action'" in message and "auth_cache" in message, message


@pytest.mark.parametrize("value", ["4h", "30m", "2d", "4h/5m", "4h/3", "10s/10s"])
def test_valid_auth_cache_values_are_stored(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy, value: str
) -> None:
    set_policy("cache", scope="authentication", action=f"auth_cache={value}")
    body = client.get("/policy/cache", headers=admin_headers).json()
    assert body["result"]["value"]["action"] == {"auth_cache": value}
