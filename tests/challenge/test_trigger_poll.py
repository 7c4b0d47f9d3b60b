"""/validate/triggerchallenge, /validate/polltransaction and /token/challenges/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.challenge.conftest import check, deliver, jobs, otp_from_mail
from tests.notify.servers import Recorder
from tests.tokens.helpers import RFC_KEY_HEX, assert_error, init_token, ok

H = dict[str, str]


def poll(client: TestClient, tid: str) -> dict[str, Any]:
    return ok(client.get(f"/validate/polltransaction/{tid}"))


def test_triggerchallenge_needs_an_admin(client: TestClient, email_token: str) -> None:
    r = client.post("/validate/triggerchallenge", data={"user": "alice"})
    assert_error(r, 401, 4033)


def test_triggerchallenge_for_a_user_then_poll(
    client: TestClient, admin_headers: H, services: Services, email_token: str,
    recorder: Recorder,
) -> None:  # fmt: skip
    body = ok(
        client.post("/validate/triggerchallenge", data={"user": "alice"}, headers=admin_headers)
    )
    assert body["result"]["value"] == 1
    detail = body["detail"]
    tid = detail["transaction_id"]
    assert [c["serial"] for c in detail["multi_challenge"]] == [email_token]
    assert detail["transaction_ids"] == [tid]
    assert body["id"] == 2 and body["result"]["authentication"] == "CHALLENGE"
    pending = poll(client, tid)
    assert pending["result"] == {"status": True, "value": False, "authentication": "REJECT"}
    assert pending["detail"]["challenge_status"] == "pending"
    deliver(services)
    answer = check(client, user="alice", transaction_id=tid, **{"pass": otp_from_mail(recorder)})
    assert answer["result"]["authentication"] == "ACCEPT"
    done = ok(client.get("/validate/polltransaction", params={"transaction_id": tid}))
    assert done["result"]["value"] is True
    assert done["result"]["authentication"] == "ACCEPT"
    assert done["detail"]["challenge_status"] == "accept"


def test_triggerchallenge_by_serial_and_type_filter(
    client: TestClient, admin_headers: H, email_token: str
) -> None:
    body = ok(
        client.post(
            "/validate/triggerchallenge", data={"serial": email_token}, headers=admin_headers
        )
    )
    assert body["result"]["value"] == 1
    none = ok(
        client.post(
            "/validate/triggerchallenge", data={"user": "alice", "type": "sms"},
            headers=admin_headers,
        )
    )  # fmt: skip
    assert none["result"]["value"] == 0
    assert none["result"]["authentication"] == "REJECT"
    assert none["detail"]["multi_challenge"] == []
    assert none["detail"]["transaction_ids"] == []
    assert none["detail"]["messages"] == []


def test_triggerchallenge_skips_tokens_without_challenge_response(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    init_token(client, admin_headers, otpkey=RFC_KEY_HEX, user="carol", realm=flatfile_realm)
    body = ok(
        client.post("/validate/triggerchallenge", data={"user": "carol"}, headers=admin_headers)
    )
    assert body["result"]["value"] == 0
    assert jobs(services) == []


def test_poll_unknown_and_missing_transaction(client: TestClient) -> None:
    body = poll(client, "12345678901234567890")
    assert body["result"]["value"] is False
    assert body["detail"]["challenge_status"] == "pending"
    assert_error(client.get("/validate/polltransaction"), 400, 905)


def test_token_challenges_lists_challenges_for_admins(
    client: TestClient, admin_headers: H, email_token: str, login: Callable[..., str]
) -> None:
    tid = login()
    body = ok(client.get(f"/token/challenges/{email_token}", headers=admin_headers))
    value = body["result"]["value"]
    assert value["count"] == 1
    [row] = value["challenges"]
    assert row["transaction_id"] == tid and row["serial"] == email_token
    assert row["otp_valid"] is False and row["received_count"] == 0
    assert row["data"]["to"] == "al***@example.net"
    everything = ok(client.get("/token/challenges/", headers=admin_headers))
    assert everything["result"]["value"]["count"] == 1
    by_tid = ok(
        client.get("/token/challenges/", params={"transaction_id": "0"}, headers=admin_headers)
    )
    assert by_tid["result"]["value"]["count"] == 0
