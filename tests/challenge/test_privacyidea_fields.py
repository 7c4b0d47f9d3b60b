"""Every field of the challenge answers, as privacyIDEA 3.14 sends them: the capture of
real clients (``tests/compat``) for one HOTP challenge, privacyIDEA's documented
example of ``/validate/triggerchallenge`` for two (repeated messages, ``serial`` and
``type`` of the last one) and for none."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, check, init_token, ok

H = dict[str, str]
PROMPT = "please enter otp: "


@pytest.fixture
def hotp_challenges(client: TestClient, admin_headers: H, flatfile_realm: str) -> list[str]:
    """Two HOTP tokens of alice with PIN ``hotpin``, switched to challenge-response."""
    policy = {"scope": "authentication", "action": "challenge_response=hotp"}
    ok(client.post("/policy/hotp-challenges", data=policy, headers=admin_headers))
    serials = []
    for serial in ("HOTPA", "HOTPB"):
        init_token(client, admin_headers, serial=serial, otpkey=RFC_KEY_HEX, pin="hotpin",
                   user="alice", realm=flatfile_realm)  # fmt: skip
        serials.append(serial)
    return serials


def entry(serial: str, tid: str) -> dict[str, Any]:
    return {"serial": serial, "transaction_id": tid, "message": PROMPT, "type": "hotp",
            "client_mode": "interactive"}  # fmt: skip


def test_pin_alone_gives_privacyideas_challenge_detail(
    client: TestClient, hotp_challenges: list[str]
) -> None:
    body = check(client, user="alice", **{"pass": "hotpin"})
    assert body["id"] == 2
    assert body["result"] == {"status": True, "value": False, "authentication": "CHALLENGE"}
    detail = body["detail"]
    tid = detail["transaction_id"]
    assert isinstance(tid, str) and tid.isdigit() and len(tid) == 20
    # No "attributes"/"image" keys when the type has none (HOTP), as in the capture.
    assert detail == {
        "multi_challenge": [entry("HOTPA", tid), entry("HOTPB", tid)],
        "transaction_ids": [tid, tid],
        "messages": [PROMPT, PROMPT],
        "message": f"{PROMPT}, {PROMPT}",
        "transaction_id": tid,
        "serial": "HOTPB",
        "type": "hotp",
        "client_mode": "interactive",
        "preferred_client_mode": "interactive",
        "threadid": detail["threadid"],
    }
    assert isinstance(detail["threadid"], int)


def test_the_accepted_answer_names_only_the_serial(
    client: TestClient, hotp_challenges: list[str]
) -> None:
    tid = check(client, user="alice", **{"pass": "hotpin"})["detail"]["transaction_id"]
    answer = check(client, user="alice", transaction_id=tid, **{"pass": RFC4226_OTPS[0]})
    assert answer["id"] == 2
    assert answer["result"] == {"status": True, "value": True, "authentication": "ACCEPT"}
    assert set(answer["detail"]) == {"message", "serial", "threadid"}
    assert answer["detail"]["message"] == "Found matching challenge"
    assert answer["detail"]["serial"] in hotp_challenges


def test_triggerchallenge_answers_challenge_with_the_count(
    client: TestClient, admin_headers: H, hotp_challenges: list[str]
) -> None:
    r = client.post("/validate/triggerchallenge", data={"user": "alice"}, headers=admin_headers)
    body = ok(r)
    assert body["id"] == 2
    # result.authentication is what the PHP client reads; value is the count.
    assert body["result"] == {"status": True, "value": 2, "authentication": "CHALLENGE"}
    tid = body["detail"]["transaction_id"]
    assert body["detail"]["multi_challenge"] == [entry("HOTPA", tid), entry("HOTPB", tid)]
    assert body["detail"]["messages"] == [PROMPT, PROMPT]
    assert (body["detail"]["serial"], body["detail"]["type"]) == ("HOTPB", "hotp")
    poll = ok(client.get("/validate/polltransaction", params={"transaction_id": tid}))
    assert poll["id"] == 2
    assert poll["result"] == {"status": True, "value": False, "authentication": "REJECT"}
    assert set(poll["detail"]) == {"challenge_status", "threadid"}


def test_triggerchallenge_without_challenge_tokens(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    init_token(client, admin_headers, otpkey=RFC_KEY_HEX, pin="p", user="bob", realm=flatfile_realm)
    r = client.post("/validate/triggerchallenge", data={"user": "bob"}, headers=admin_headers)
    body = ok(r)
    assert body["result"] == {"status": True, "value": 0, "authentication": "REJECT"}
    detail = {key: value for key, value in body["detail"].items() if key != "threadid"}
    assert detail == {"multi_challenge": [], "transaction_ids": [], "messages": []}
