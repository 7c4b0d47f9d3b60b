"""A locked token answers the same whatever was sent (issue 12 #4); a replayed OTP is
counted as a replay, not as a failure, so it cannot lock its owner out (issue 12 #5)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.db.base import transaction
from factorflow.events.handlers.counter import counter_total
from factorflow.tokens.models import Challenge, Token
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, check, get_token, init_token, ok

H = dict[str, str]
LOCKED = {"message": "Failcounter exceeded"}


def enrol(client: TestClient, headers: H, serial: str, user: str = "alice", **extra: Any) -> str:
    init_token(client, headers, serial=serial, otpkey=RFC_KEY_HEX, pin="1234", user=user,
               realm="realm1", **extra)  # fmt: skip
    return serial


def lock(services: Services, serial: str) -> None:
    with transaction(services.sessions) as session:
        session.execute(update(Token).where(Token.serial == serial).values(failcount=Token.maxfail))


def answer(client: TestClient, **params: str) -> tuple[str, dict[str, Any]]:
    body = check(client, **params)
    detail = {key: value for key, value in body["detail"].items() if key != "threadid"}
    return body["result"]["authentication"], detail


def test_a_locked_token_answers_the_same_whatever_was_sent(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    serial = enrol(client, admin_headers, "LOCK1")
    ok(
        client.post(
            "/token/set", data={"serial": serial, "max_failcount": 3}, headers=admin_headers
        )
    )
    for _ in range(3):  # the right PIN with wrong OTPs locks it
        check(client, user="alice", **{"pass": "1234000000"})
    sent = ["1234" + RFC4226_OTPS[0], "1234000000", "1234", "9999" + RFC4226_OTPS[0], "", "x"]
    answers = [answer(client, user="alice", **{"pass": p}) for p in sent]
    answers += [answer(client, serial=serial, **{"pass": p}) for p in sent]
    # Not one answer tells whether the PIN was right, nor which token is locked.
    assert answers == [("REJECT", LOCKED)] * len(answers)
    token = get_token(client, admin_headers, serial)
    assert token["failcount"] == 3
    assert token["count"] == 0  # the right OTP was not looked at, hence not used up


def test_a_locked_challenge_token_creates_no_challenge(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    policy = {"scope": "authentication", "action": "challenge_response=hotp"}
    ok(client.post("/policy/hotp-challenges", data=policy, headers=admin_headers))
    serial = enrol(client, admin_headers, "LOCK2")
    lock(services, serial)
    assert answer(client, user="alice", **{"pass": "1234"}) == ("REJECT", LOCKED)
    assert answer(client, user="alice", **{"pass": "4321"}) == ("REJECT", LOCKED)
    with services.sessions() as session:
        assert session.scalars(select(Challenge)).all() == []
    r = client.post("/validate/triggerchallenge", data={"user": "alice"}, headers=admin_headers)
    assert ok(r)["result"]["value"] == 0


def test_a_locked_token_next_to_a_working_one_is_left_out(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    enrol(client, admin_headers, "LOCK3")
    init_token(client, admin_headers, serial="OPEN1", type="spass", pin="open-sesame",
               user="alice", realm="realm1")  # fmt: skip
    lock(services, "LOCK3")
    # The locked token's PIN reads like any wrong PIN; the other token works.
    assert answer(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]}) == (
        "REJECT", {"message": "wrong otp pin"},
    )  # fmt: skip
    assert answer(client, user="alice", **{"pass": "open-sesame"})[0] == "ACCEPT"


def test_replays_are_counted_as_replays_not_failures(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    serial = enrol(client, admin_headers, "REPLAY1")
    assert answer(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})[0] == "ACCEPT"
    for _ in range(12):  # more than maxfail (10)
        authentication, detail = answer(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})
        assert authentication == "REJECT"
        assert detail["message"] == "wrong otp value. previous otp used again"
    token = get_token(client, admin_headers, serial)
    assert token["failcount"] == 0 and token["locked"] is False
    assert token["info"]["replay_count"] == "12" and token["info"]["last_replay"]
    # The owner is not locked out: the next OTP works.
    assert answer(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[1]})[0] == "ACCEPT"
    audit = ok(client.get("/audit/", params={"action": "*validate/check*"}, headers=admin_headers))
    infos = [entry["info"] for entry in audit["result"]["value"]["auditdata"]]
    assert infos.count("wrong otp value. previous otp used again") == 12


def test_a_replayed_challenge_answer_is_a_replay(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    policy = {"scope": "authentication", "action": "challenge_response=hotp"}
    ok(client.post("/policy/hotp-challenges", data=policy, headers=admin_headers))
    serial = enrol(client, admin_headers, "REPLAY2")
    tid = check(client, user="alice", **{"pass": "1234"})["detail"]["transaction_id"]
    params = {"user": "alice", "transaction_id": tid, "pass": RFC4226_OTPS[0]}
    assert answer(client, **params)[0] == "ACCEPT"
    authentication, detail = answer(client, **params)
    assert (authentication, detail["message"]) == (
        "REJECT",
        "The challenge has already been answered.",
    )
    token = get_token(client, admin_headers, serial)
    assert token["failcount"] == 0 and token["info"]["replay_count"] == "1"


def test_a_definition_can_act_on_the_replay_counter(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    definition = {
        "name": "replays", "event": "validate_check", "handlermodule": "Counter",
        "action": "increase_counter", "position": "post", "option.counter_name": "replays",
        "conditions": json.dumps({"tokeninfo": "replay_count > 2"}),
    }  # fmt: skip
    ok(client.post("/event", data=definition, headers=admin_headers))
    enrol(client, admin_headers, "REPLAY3")
    for _ in range(5):
        check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})
    with services.sessions() as session:
        # The first check is accepted; replays 1 and 2 do not match; 3 and 4 do.
        assert counter_total(session, "replays") == 2
