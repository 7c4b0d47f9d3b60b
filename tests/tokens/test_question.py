"""The ``question`` token: a challenge asks one of the user's questions, the answer
must match exactly; ``question_number`` asks several in a row within one
transaction; ``question.num_answers`` is the least number enrolled."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests import factories
from tests.policies.conftest import policy_data
from tests.tokens.helpers import assert_error, check, get_token, ok

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}
QUESTIONS = {
    "First pet?": "Rex",
    "Mother's maiden name?": "Smith",
    "Street you grew up in?": "Elm Street",
    "Favourite band?": "ABBA",
    "First school?": "St. Mary",
}


def enrol(client: TestClient, headers: H, questions: dict[str, str] = QUESTIONS) -> str:
    detail = factories.enrol(
        client, headers, "question", pin="pin", questions=json.dumps(questions), **USER
    )
    assert not any(answer in json.dumps(detail) for answer in questions.values())
    return str(detail["serial"])


def challenged(body: dict[str, Any]) -> tuple[str, str]:
    assert body["result"]["authentication"] == "CHALLENGE", body
    return str(body["detail"]["transaction_id"]), str(body["detail"]["message"])


def answer(client: TestClient, transaction_id: str, text: str) -> dict[str, Any]:
    return check(client, **USER, transaction_id=transaction_id, **{"pass": text})


def test_one_question_answered_exactly(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    serial = enrol(client, admin_headers)
    assert serial.startswith("QUST")
    transaction_id, question = challenged(check(client, **USER, **{"pass": "pin"}))
    assert question in QUESTIONS
    right = QUESTIONS[question]
    assert answer(client, transaction_id, right.swapcase())["result"]["value"] is False
    assert answer(client, transaction_id, right + " ")["result"]["value"] is False
    assert answer(client, transaction_id, right)["result"]["value"] is True
    assert answer(client, transaction_id, right)["result"]["value"] is False  # once
    token = get_token(client, admin_headers, serial)
    dumped = json.dumps(token)
    assert not any(a in dumped for a in QUESTIONS.values())  # answers are not in the clear


def test_question_number_asks_several_in_a_row(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    data = policy_data({"scope": "authentication", "action": {"question_number": "3"}})
    factories.ok_value(client.post("/policy/qust", data=data, headers=admin_headers))
    enrol(client, admin_headers)
    transaction_id, question = challenged(check(client, **USER, **{"pass": "pin"}))
    asked = [question]
    for _ in range(2):
        body = answer(client, transaction_id, QUESTIONS[question])
        assert body["result"]["value"] is False
        next_id, question = challenged(body)
        assert next_id == transaction_id and question not in asked
        asked.append(question)
    wrong = answer(client, transaction_id, "nope")
    assert wrong["result"]["value"] is False and "transaction_id" not in wrong["detail"]
    assert answer(client, transaction_id, QUESTIONS[question])["result"]["value"] is True


def test_the_least_number_of_answers_is_a_system_setting(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    four = dict(list(QUESTIONS.items())[:4])
    data = {"type": "question", "pin": "pin", "questions": json.dumps(four), **USER}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []
    settings = {"question.num_answers": "2"}
    ok(client.post("/system/setConfig", json=settings, headers=admin_headers))
    enrol(client, admin_headers, dict(list(QUESTIONS.items())[:2]))


@pytest.mark.parametrize(
    "questions",
    [
        "not json",
        '["a list"]',
        "{}",
        json.dumps({"Q?": ""}),
        json.dumps({"Q?": 42}),
        json.dumps({" ": "answer"}),
    ],
)
def test_bad_questions_are_refused_and_create_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, questions: str
) -> None:
    data = {"type": "question", "pin": "pin", "questions": questions, **USER}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []
