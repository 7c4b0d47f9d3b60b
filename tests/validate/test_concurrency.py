"""One valid OTP sent fifty times at once is accepted exactly once (every database)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY, RFC_KEY_HEX, get_token, init_token, totp

REQUESTS = 50


def fire(client: TestClient, params: dict[str, str]) -> Counter[str]:
    barrier = threading.Barrier(REQUESTS)

    def one(_: int) -> str:
        barrier.wait()
        response = client.post("/validate/check", data=params)
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        return str(response.json()["result"].get("authentication"))

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        return Counter(pool.map(one, range(REQUESTS)))


def test_hotp_otp_accepted_once_under_concurrency(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = init_token(
        client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1234", user="alice"
    )["detail"]["serial"]
    client.post("/token/set", data={"serial": serial, "max_failcount": 1000}, headers=admin_headers)
    outcomes = fire(client, {"user": "alice", "pass": "1234" + RFC4226_OTPS[3]})
    assert outcomes == Counter({"ACCEPT": 1, "REJECT": REQUESTS - 1}), outcomes
    assert get_token(client, admin_headers, serial)["count"] == 4


def test_totp_otp_accepted_once_under_concurrency(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = init_token(client, admin_headers, type="totp", otpkey=RFC_KEY_HEX, user="bob")[
        "detail"
    ]["serial"]
    client.post("/token/set", data={"serial": serial, "max_failcount": 1000}, headers=admin_headers)
    # One step ahead, so that the code stays inside the window while the requests run.
    outcomes = fire(client, {"serial": serial, "pass": totp(RFC_KEY, offset_steps=1)})
    assert outcomes == Counter({"ACCEPT": 1, "REJECT": REQUESTS - 1}), outcomes


def test_concurrent_replays_count_as_replays_and_lock_nobody_out(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    # The default max fail (10): the 49 losers are replays, not failures.
    serial = init_token(
        client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1234", user="carol"
    )["detail"]["serial"]
    outcomes = fire(client, {"user": "carol", "pass": "1234" + RFC4226_OTPS[0]})
    assert outcomes == Counter({"ACCEPT": 1, "REJECT": REQUESTS - 1}), outcomes
    token = get_token(client, admin_headers, serial)
    assert token["failcount"] == 0
    assert token["info"]["replay_count"] == str(REQUESTS - 1)
    assert token["count"] == 1
