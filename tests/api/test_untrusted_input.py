"""Input that makes a parser recurse or convert without end is refused with a 400 in
the envelope before it can raise a RecursionError or a ValueError (issue 12, item 10).

Each request here answered 500 before ``factorflow.core.untrusted`` existed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.core.untrusted import MAX_DEPTH, UntrustedInputError, json_loads, nesting_depth
from factorflow.events.models import EventDefinition
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD

DEEP = "[" * 50_000 + "]" * 50_000
HUGE_INT = "9" * 5_000

JSON = {"Content-Type": "application/json"}


def refused(response: Any) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["result"]["status"] is False
    assert body["result"]["error"]["code"] == 905
    assert "Traceback" not in response.text
    message: str = body["result"]["error"]["message"]
    return message


@pytest.mark.parametrize("path", ["/auth", "/validate/check"])
def test_a_body_nested_50000_deep_is_a_400(client: TestClient, path: str) -> None:
    body = '{"username": "admin", "user": "alice", "pass": "x", "deep": ' + DEEP + "}"
    message = refused(client.post(path, content=body, headers=JSON))
    assert "nested deeper" in message


@pytest.mark.parametrize("path", ["/auth", "/validate/check"])
@pytest.mark.parametrize("number", [HUGE_INT, "-" + HUGE_INT, "1." + HUGE_INT, "1e" + HUGE_INT])
def test_an_overlong_number_is_a_400(client: TestClient, path: str, number: str) -> None:
    body = '{"username": "admin", "user": "alice", "password": ' + number + "}"
    assert "digits" in refused(client.post(path, content=body, headers=JSON))


def test_nan_and_infinity_are_not_numbers(client: TestClient) -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = '{"username": "admin", "password": ' + constant + "}"
        assert "not a JSON number" in refused(client.post("/auth", content=body, headers=JSON))


def test_bounded_input_still_works(client: TestClient, admin_headers: dict[str, str]) -> None:
    # A deep-but-allowed structure and ordinary numbers pass the guard; /auth ignores
    # parameters it does not know.
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # the body object is one level
    body = (
        f'{{"username": "{ADMIN_NAME}", "password": "{ADMIN_PASSWORD}", '
        f'"extra": {nested}, "n": 12345678901234567890, "f": 1.5e10}}'
    )
    assert client.post("/auth", content=body, headers=JSON).status_code == 200


def test_json_inside_a_parameter_is_bounded_too(
    client: TestClient, admin_headers: dict[str, str], services: Services
) -> None:
    """Options and conditions arrive as JSON text inside a parameter; the same guard
    applies, and nothing is stored."""
    response = client.post(
        "/event",
        data={
            "name": "deep",
            "event": "validate_check",
            "handlermodule": "Logging",
            "action": "logging",
            "position": "post",
            "conditions": '{"a":' * 10_000 + "1" + "}" * 10_000,
        },
        headers=admin_headers,
    )
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(EventDefinition)) == 0


def test_a_deep_import_document_is_a_400(client: TestClient, admin_headers: dict[str, str]) -> None:
    for text in (DEEP, "a:\n" + "".join(" " * i + "- \n" for i in range(1, 1200))):
        response = client.post("/event/import", json={"data": text}, headers=admin_headers)
        assert response.status_code == 400, response.text
        assert "Traceback" not in response.text


def test_nesting_depth_ignores_brackets_inside_strings() -> None:
    assert nesting_depth('{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert nesting_depth('"\\"[[["') == 0
    assert nesting_depth("[" * 10, limit=5) == 6  # counting stops past the limit


def test_json_loads_names_what_it_refused() -> None:
    with pytest.raises(UntrustedInputError, match="The headers is nested deeper"):
        json_loads(DEEP, "headers")
    with pytest.raises(ValueError, match="does not parse"):  # a ValueError for pydantic
        json_loads("{", "headers")


@pytest.mark.parametrize(
    "body",
    [
        {"resolvers": ["res\x00"]},
        {"resolvers": [["nested", {"deeper": "x\x00"}]]},
        {"resolvers": "r", "extra": {"key\x00": "v"}},
    ],
)
def test_a_nul_anywhere_in_the_body_is_a_400(
    client: TestClient, admin_headers: dict[str, str], services: Services, body: dict[str, Any]
) -> None:
    """PostgreSQL refuses NUL in text (a 500 before): it is refused at the door, also
    inside lists and objects of a JSON body, and nothing is stored."""
    assert "NUL" in refused(client.post("/realm/nulrealm", json=body, headers=admin_headers))
    assert client.get("/realm/", headers=admin_headers).json()["result"]["value"] == {}
