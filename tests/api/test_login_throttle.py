"""POST /auth against brute force and the timing oracle (issue 12 item 3), and the
admin API of the login throttle. The throttle's clock is injected: no sleeping."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import func, select
from starlette.testclient import TestClient

import factorflow.users.stores.flatfile as flatfile_module
import factorflow.users.stores.passwords as passwords_module
from factorflow.audit.models import AuditEntry
from factorflow.auth.errors import BACKOFF, LOCKED, LOCKED_NOW, WRONG_CREDENTIALS
from factorflow.auth.models import LoginThrottleEntry
from factorflow.auth.throttle import ThrottleRules
from factorflow.bootstrap import Services
from tests.api.conftest import Node
from tests.auth.helpers import rules
from tests.clocks import DatetimeClock
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD, USER_PASSWORDS

H = dict[str, str]
RULES = rules(account=(3, 5), backoff=(10, 40), lockout=900, window=3600)


def throttled(services: Services, clock: DatetimeClock, chosen: ThrottleRules = RULES) -> None:
    services.logins.throttle.rules = chosen
    services.logins.throttle.clock = clock


@pytest.fixture
def clock(services: Services) -> DatetimeClock:
    now = DatetimeClock()
    throttled(services, now)
    return now


def auth(client: TestClient, username: str, password: str, **extra: str) -> Response:
    return client.post("/auth", data={"username": username, "password": password, **extra})


def error_of(response: Response) -> tuple[int, int, str]:
    error = response.json()["result"]["error"]
    return response.status_code, error["code"], error["message"]


WRONG = (401, 4031, WRONG_CREDENTIALS)
IN_BACKOFF = (401, 4035, BACKOFF)
NOW_LOCKED = (401, 4036, LOCKED_NOW)
STILL_LOCKED = (401, 4036, LOCKED)


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    original: Callable[..., Any] = getattr(owner, name)

    def counting(*args: Any) -> Any:
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(owner, name, counting)
    return calls


def last_audit(services: Services) -> AuditEntry:
    with services.sessions() as session:
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "POST /auth")
            .order_by(AuditEntry.id.desc())
        ).first()
        assert entry is not None
        return entry


def test_wrong_passwords_back_off_then_lock_and_the_lock_ends(
    client: TestClient,
    services: Services,
    admin_headers: H,
    clock: DatetimeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = [error_of(auth(client, ADMIN_NAME, f"wrong-{n}")) for n in range(3)]
    assert answers == [WRONG, WRONG, WRONG]
    verified = count_calls(monkeypatch, services.hasher, "verify")
    # In the backoff even the right password is refused, and never checked.
    assert error_of(auth(client, ADMIN_NAME, ADMIN_PASSWORD)) == IN_BACKOFF
    assert verified == []
    entry = last_audit(services)
    assert "login refused: account 'admin' in backoff until" in entry.info
    assert ADMIN_PASSWORD not in entry.info and entry.success is False
    clock.advance(10)
    assert error_of(auth(client, ADMIN_NAME, "wrong-3")) == WRONG
    clock.advance(20)
    assert error_of(auth(client, ADMIN_NAME, "wrong-4")) == NOW_LOCKED
    assert "account 'admin' locked until" in last_audit(services).info
    clock.advance(899)
    assert error_of(auth(client, ADMIN_NAME, ADMIN_PASSWORD)) == STILL_LOCKED
    clock.advance(1)
    assert auth(client, ADMIN_NAME, ADMIN_PASSWORD).status_code == 200
    with services.sessions() as session:  # the success reset the account
        assert session.scalar(select(func.count()).select_from(LoginThrottleEntry)) == 0


def test_a_success_resets_the_account_s_failures(
    client: TestClient, admin_headers: H, clock: DatetimeClock
) -> None:
    for _ in range(2):
        assert error_of(auth(client, ADMIN_NAME, "wrong")) == WRONG
    assert auth(client, ADMIN_NAME, ADMIN_PASSWORD).status_code == 200
    for _ in range(2):
        assert error_of(auth(client, ADMIN_NAME, "wrong")) == WRONG
    assert auth(client, ADMIN_NAME, ADMIN_PASSWORD).status_code == 200
    # Counting goes on from zero: the third failure in a row starts the backoff.
    for _ in range(3):
        assert error_of(auth(client, ADMIN_NAME, "wrong")) == WRONG
    assert error_of(auth(client, ADMIN_NAME, ADMIN_PASSWORD)) == IN_BACKOFF


def test_unknown_names_answer_exactly_like_an_admin(
    client: TestClient, admin_headers: H, clock: DatetimeClock
) -> None:
    known = [error_of(auth(client, ADMIN_NAME, "wrong")) for _ in range(6)]
    unknown = [error_of(auth(client, "nobody-here", "wrong")) for _ in range(6)]
    assert known == unknown == [WRONG, WRONG, WRONG, IN_BACKOFF, IN_BACKOFF, IN_BACKOFF]


def test_the_forms_of_a_realm_login_share_one_account(
    client: TestClient, admin_headers: H, flatfile_realm: str, clock: DatetimeClock
) -> None:
    assert error_of(auth(client, "alice", "wrong")) == WRONG
    assert error_of(auth(client, "alice@realm1", "wrong")) == WRONG
    assert error_of(auth(client, "alice", "wrong", realm="realm1")) == WRONG
    for form in ({"username": "alice"}, {"username": "ALICE@realm1"}):
        response = client.post("/auth", data={**form, "password": USER_PASSWORDS["alice"]})
        assert error_of(response) == IN_BACKOFF
    assert auth(client, "bob", USER_PASSWORDS["bob"]).status_code == 200
    clock.advance(10)
    assert auth(client, "alice", USER_PASSWORDS["alice"]).status_code == 200


def test_one_client_is_throttled_across_accounts(
    client: TestClient, services: Services, admin_headers: H, clock: DatetimeClock
) -> None:
    throttled(services, clock, rules(account=(0, 0), client=(4, 0), backoff=(5, 5)))
    for name in ("a1", "a2", "a3", "a4"):
        assert error_of(auth(client, name, "wrong")) == WRONG
    assert error_of(auth(client, ADMIN_NAME, ADMIN_PASSWORD)) == IN_BACKOFF
    assert "client testclient in backoff" in last_audit(services).info
    clock.advance(5)
    assert auth(client, ADMIN_NAME, ADMIN_PASSWORD).status_code == 200


def test_an_unreachable_user_store_is_not_counted(
    client: TestClient, services: Services, admin_headers: H, flatfile_realm: str,
    passwd_file: Path, clock: DatetimeClock,
) -> None:  # fmt: skip
    passwd_file.unlink()
    for _ in range(4):
        assert error_of(auth(client, "alice", "whatever", realm="realm1")) == WRONG
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LoginThrottleEntry)) == 0


def test_two_nodes_share_the_throttle(
    client: TestClient, second_node: Node, admin_headers: H, clock: DatetimeClock
) -> None:
    throttled(second_node.services, clock)
    other = second_node.client
    assert error_of(auth(client, ADMIN_NAME, "wrong")) == WRONG
    assert error_of(auth(other, ADMIN_NAME, "wrong")) == WRONG
    assert error_of(auth(client, ADMIN_NAME, "wrong")) == WRONG
    assert error_of(auth(other, ADMIN_NAME, ADMIN_PASSWORD)) == IN_BACKOFF


# -- equal cost for every name (the timing oracle), counted, not timed ------------------


def test_an_unknown_name_costs_one_argon2_verification_like_an_admin(
    client: TestClient, services: Services, admin_headers: H, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified = count_calls(monkeypatch, services.hasher, "verify")
    auth(client, ADMIN_NAME, "wrong-password")
    assert len(verified) == 1
    auth(client, "nobody-here", "wrong-password")
    assert len(verified) == 2
    assert verified[1][0].startswith("$argon2")  # the dummy hash


def test_an_unknown_realm_user_costs_a_decoy_of_the_users_kind(
    client: TestClient, admin_headers: H, flatfile_realm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch, passwords_module, "verify_password")
    calls_flat = count_calls(monkeypatch, flatfile_module, "verify_password")
    auth(client, "alice", "wrong-password", realm="realm1")
    assert [c[0][:3] for c in calls_flat] == ["$6$"] and calls == []
    auth(client, "zed", "wrong-password", realm="realm1")
    assert [c[0][:3] for c in calls] == ["$6$"]
    assert calls[0][0] not in {c[0] for c in calls_flat}  # a decoy, not alice's hash


def test_a_wrong_admin_password_also_pays_the_realm_s_check(
    client: TestClient, admin_headers: H, flatfile_realm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch, passwords_module, "verify_password")
    auth(client, ADMIN_NAME, "wrong-password")
    assert len(calls) == 1


# -- the admin API --------------------------------------------------------------------


def lock_admin(client: TestClient, clock: DatetimeClock) -> None:
    """Five counted failures: three, then one after each backoff."""
    for n in range(5):
        assert error_of(auth(client, ADMIN_NAME, f"wrong-{n}")) in (WRONG, NOW_LOCKED)
        clock.advance(40 if n >= 2 else 0)


def test_admins_list_and_clear_lockouts(
    client: TestClient, services: Services, admin_headers: H, clock: DatetimeClock
) -> None:
    lock_admin(client, clock)
    listed = client.get("/auth/lockouts/", headers=admin_headers)
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["result"]["value"]
    assert (row["scope"], row["subject"], row["state"], row["failures"]) == (
        "account", "admin", "lockout", 5,
    )  # fmt: skip
    assert (
        client.get("/auth/lockouts/?scope=client", headers=admin_headers).json()["result"]["value"]
        == []
    )
    cleared = client.delete(f"/auth/lockouts/{row['id']}", headers=admin_headers)
    assert cleared.status_code == 200 and cleared.json()["result"]["value"] is True
    assert client.get("/auth/lockouts/", headers=admin_headers).json()["result"]["value"] == []
    assert auth(client, ADMIN_NAME, ADMIN_PASSWORD).status_code == 200


def test_bad_input_to_the_lockout_api_changes_nothing(
    client: TestClient, services: Services, admin_headers: H, clock: DatetimeClock
) -> None:
    lock_admin(client, clock)
    before = client.get("/auth/lockouts/", headers=admin_headers).json()["result"]["value"]
    for method, path, status in [
        ("DELETE", "/auth/lockouts/abc", 400),
        ("DELETE", "/auth/lockouts/0", 400),
        ("DELETE", "/auth/lockouts/99999999", 404),
        ("DELETE", f"/auth/lockouts/{'9' * 40}", 400),
        ("GET", "/auth/lockouts/?scope=bogus", 400),
    ]:
        response = client.request(method, path, headers=admin_headers)
        assert response.status_code == status, (path, response.text)
        body = response.json()
        assert body["result"]["status"] is False and body["result"]["error"]["message"]
    unauthenticated = client.get("/auth/lockouts/")
    assert unauthenticated.status_code == 401
    assert client.get("/auth/lockouts/", headers=admin_headers).json()["result"]["value"] == before


def test_the_lockout_api_needs_its_rights_under_admin_policies(
    client: TestClient, services: Services, admin_headers: H, clock: DatetimeClock
) -> None:
    policy = {"scope": "admin", "action": "auditlog", "adminuser": ADMIN_NAME}
    assert client.post("/policy/auditors", data=policy, headers=admin_headers).status_code == 200
    refused = client.get("/auth/lockouts/", headers=admin_headers)
    assert refused.status_code == 403
    assert "loginlockout_read" in refused.json()["result"]["error"]["message"]
    # Logging out needs no right.
    assert client.delete("/auth", headers=admin_headers).status_code == 200


def test_a_user_cannot_use_the_lockout_api(
    client: TestClient, admin_headers: H, flatfile_realm: str, clock: DatetimeClock
) -> None:
    token = auth(client, "alice", USER_PASSWORDS["alice"]).json()["result"]["value"]["token"]
    response = client.get("/auth/lockouts/", headers={"Authorization": token})
    assert response.status_code == 401
    assert response.json()["result"]["error"]["code"] == 4306
