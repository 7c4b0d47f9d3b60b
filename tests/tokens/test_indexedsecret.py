"""The ``indexedsecret`` token: the challenge names positions of the secret, the
answer is their characters; ``indexedsecret_count`` and
``indexedsecret_challenge_text`` shape the challenge; answers are accepted once."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.tokens.types.indexedsecret import challenge_text
from tests import factories
from tests.policies.conftest import policy_data
from tests.tokens.helpers import assert_error, check, get_token

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}
SECRET = "mySecret"


def challenge(client: TestClient) -> tuple[str, list[int], dict[str, Any]]:
    body = check(client, **USER, **{"pass": "pin"})
    assert body["result"]["authentication"] == "CHALLENGE", body
    entry = body["detail"]["multi_challenge"][0]
    positions: list[int] = entry["attributes"]["random_positions"]
    return str(body["detail"]["transaction_id"]), positions, body


def answer_of(positions: list[int], secret: str = SECRET) -> str:
    return "".join(secret[p - 1] for p in positions)


@pytest.fixture
def serial(client: TestClient, admin_headers: H, flatfile_realm: str) -> str:
    detail = factories.enrol(client, admin_headers, "indexedsecret", pin="pin", otpkey=SECRET,
                             **USER)  # fmt: skip
    assert "otpkey" not in detail  # a given secret is not answered back
    return str(detail["serial"])


def test_the_challenge_names_positions_and_the_answer_is_their_characters(
    client: TestClient, admin_headers: H, serial: str
) -> None:
    assert serial.startswith("PIIX")
    transaction_id, positions, body = challenge(client)
    assert len(positions) == 2 and all(1 <= p <= len(SECRET) for p in positions)
    shown = ",".join(map(str, positions))
    assert body["detail"]["message"] == f"Please enter the positions {shown} from your secret."
    right = answer_of(positions)
    wrong = check(client, **USER, transaction_id=transaction_id, **{"pass": right + "x"})
    assert wrong["result"]["value"] is False
    ok = check(client, **USER, transaction_id=transaction_id, **{"pass": right})
    assert ok["result"]["value"] is True
    again = check(client, **USER, transaction_id=transaction_id, **{"pass": right})
    assert again["result"]["value"] is False
    assert get_token(client, admin_headers, serial)["failcount"] == 0


def test_pin_and_secret_in_one_go_are_refused(client: TestClient, serial: str) -> None:
    assert check(client, **USER, **{"pass": "pin" + SECRET[:6]})["result"]["value"] is False


def test_policies_set_the_count_and_the_text(
    client: TestClient, admin_headers: H, serial: str
) -> None:
    action = {
        "indexedsecret_count": "5",
        "indexedsecret_challenge_text": "Positions {0!s}\\, please",
    }
    data = policy_data({"scope": "authentication", "action": action})
    factories.ok_value(client.post("/policy/piix", data=data, headers=admin_headers))
    transaction_id, positions, body = challenge(client)
    assert len(positions) == 5
    assert body["detail"]["message"] == f"Positions {','.join(map(str, positions))}, please"
    answer = check(client, **USER, transaction_id=transaction_id, **{"pass": answer_of(positions)})
    assert answer["result"]["value"] is True


def test_challenge_text_interprets_only_the_positions() -> None:
    assert challenge_text("{x} {0} {1}", [3, 1]) == "{x} 3,1 {1}"


def test_a_generated_secret_is_shown_once(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    detail = factories.enrol(client, admin_headers, "indexedsecret", pin="pin", **USER)
    secret = str(detail["otpkey"]["value"])
    assert len(secret) == 24 and secret.isalnum()
    transaction_id, positions, _ = challenge(client)
    body = check(client, **USER, transaction_id=transaction_id,
                 **{"pass": answer_of(positions, secret)})  # fmt: skip
    assert body["result"]["value"] is True


@pytest.mark.parametrize(
    "params",
    [{"otpkey": "abc", "genkey": "1"}, {"otpkey": "x" * 257}, {"otpkey": "tab\there"}],
)
def test_bad_enrolment_input_is_refused_and_creates_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, params: dict[str, str]
) -> None:
    data = {"type": "indexedsecret", "pin": "pin", **USER, **params}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []


def test_triggered_challenges_follow_the_policies_too(
    client: TestClient, admin_headers: H, serial: str
) -> None:
    data = policy_data({"scope": "authentication", "action": {"indexedsecret_count": "3"}})
    factories.ok_value(client.post("/policy/piix", data=data, headers=admin_headers))
    response = client.post("/validate/triggerchallenge", data=USER, headers=admin_headers)
    body = response.json()
    assert response.status_code == 200 and body["result"]["value"] == 1, body
    positions = body["detail"]["multi_challenge"][0]["attributes"]["random_positions"]
    assert len(positions) == 3
    transaction_id = body["detail"]["transaction_id"]
    answer = check(client, **USER, transaction_id=transaction_id, **{"pass": answer_of(positions)})
    assert answer["result"]["value"] is True
