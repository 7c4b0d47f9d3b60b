"""The administrators' stories, end to end through the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.core.compare import parse_date
from factorflow.core.dates import timestamp
from factorflow.tokens.info import set_info
from factorflow.tokens.models import Token
from tests.events.conftest import DefinitionMaker
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, check, get_token, init_token, ok


def enrol_hotp(client: TestClient, headers: dict[str, str], **extra: Any) -> str:
    params = {"type": "hotp", "otpkey": RFC_KEY_HEX, "pin": "1234", "user": "alice",
              "realm": "realm1"}  # fmt: skip
    serial: str = init_token(client, headers, **{**params, **extra})["detail"]["serial"]
    return serial


def test_shipping_note_on_token_init(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, flatfile_realm: str
) -> None:
    define(name="ship", event="token_init", handlermodule="Token", action="set description",
           options={"description": "This token needs to be shipped {now}+7d"})  # fmt: skip
    serial = enrol_hotp(client, admin_headers)
    description = get_token(client, admin_headers, serial)["description"]
    prefix = "This token needs to be shipped "
    assert description.startswith(prefix)
    due = parse_date(description[len(prefix) :])
    assert abs(due - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=5)


def test_disable_after_n_successful_or_m_failed_authentications(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, flatfile_realm: str
) -> None:
    define(name="worn out", event="validate_check", handlermodule="Token", action="disable",
           conditions={"count_auth_success": ">=3", "count_auth_fail": ">=2"},
           condition_expression="count_auth_success OR count_auth_fail")  # fmt: skip
    serial = enrol_hotp(client, admin_headers)
    for counter in range(3):
        assert get_token(client, admin_headers, serial)["active"] is True
        assert check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[counter]})[
            "result"]["value"] is True  # fmt: skip
    assert get_token(client, admin_headers, serial)["active"] is False

    other = enrol_hotp(client, admin_headers, user="bob")
    check(client, user="bob", **{"pass": "1234000000"})
    assert get_token(client, admin_headers, other)["active"] is True
    check(client, user="bob", **{"pass": "1234000000"})
    assert get_token(client, admin_headers, other)["active"] is False


def test_lock_on_failure_and_unlock_after_seven_days(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker,
    flatfile_realm: str, services: Services,
) -> None:  # fmt: skip
    define(name="unlock", event="validate_check", handlermodule="Token", action="enable",
           ordering=1, conditions={"tokeninfo": "locked < {now}-7d"})  # fmt: skip
    define(name="lock", event="validate_check", handlermodule="Token", action="set tokeninfo",
           ordering=2, conditions={"result_value": "False"},
           options={"key": "locked", "value": "{now}"})  # fmt: skip
    serial = enrol_hotp(client, admin_headers)
    check(client, serial=serial, **{"pass": "1234000000"})
    locked = get_token(client, admin_headers, serial)["info"]["locked"]
    assert abs(parse_date(locked) - datetime.now(UTC)) < timedelta(minutes=5)

    ok(client.post(f"/token/disable/{serial}", headers=admin_headers))
    check(client, serial=serial, **{"pass": "1234" + RFC4226_OTPS[0]})
    assert get_token(client, admin_headers, serial)["active"] is False  # locked 0 days ago

    with services.sessions.begin() as session:
        token = session.scalar(select(Token).where(Token.serial == serial))
        assert token is not None
        set_info(token, "locked", timestamp(datetime.now(UTC) - timedelta(days=8)))
    check(client, serial=serial, **{"pass": "1234" + RFC4226_OTPS[0]})
    assert get_token(client, admin_headers, serial)["active"] is True


def test_every_new_token_goes_to_storage(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, flatfile_realm: str
) -> None:
    ok(client.post("/realm/storage", data={"resolvers": "resolver1"}, headers=admin_headers))
    define(name="storage", event="token_init", handlermodule="Token", action="set tokenrealm",
           options={"realm": "storage"})  # fmt: skip
    assigned = enrol_hotp(client, admin_headers)
    loose = init_token(client, admin_headers, type="spass", pin="x")["detail"]["serial"]
    assert "storage" in get_token(client, admin_headers, assigned)["realms"]
    assert get_token(client, admin_headers, loose)["realms"] == ["storage"]


def test_random_pin_on_setrandompin_like_flow(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, flatfile_realm: str
) -> None:
    define(name="pin", event="token_init", handlermodule="Token", action="set random pin",
           options={"length": "8"})  # fmt: skip
    params = {"type": "hotp", "otpkey": RFC_KEY_HEX, "pin": "1234", "user": "carol"}
    pin = init_token(client, admin_headers, **params)["detail"]["pin"]
    assert len(pin) == 8 and pin.isalnum()
    assert check(client, user="carol", **{"pass": "1234" + RFC4226_OTPS[0]})["result"][
        "value"] is False  # fmt: skip
    assert check(client, user="carol", **{"pass": pin + RFC4226_OTPS[1]})["result"][
        "value"] is True  # fmt: skip


def test_enroll_a_token_for_a_user_without_one_before_validate(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, flatfile_realm: str
) -> None:
    define(
        name="first token",
        event="validate_check",
        handlermodule="Token",
        action="enroll",
        position="pre",
        conditions={"user_token_number": "0"},
        options={
            "tokentype": "hotp",
            "user": "True",
            "additional_params": f"{{otpkey: '{RFC_KEY_HEX}', pin: '1234'}}",
        },
    )
    answer = check(client, user="carol", realm="realm1", **{"pass": "1234" + RFC4226_OTPS[0]})
    assert answer["result"]["value"] is True
    body = ok(client.get("/token/", params={"user": "carol", "realm": "realm1"},
                         headers=admin_headers))  # fmt: skip
    assert [t["tokentype"] for t in body["result"]["value"]["tokens"]] == ["hotp"]
    check(client, user="carol", realm="realm1", **{"pass": "1234" + RFC4226_OTPS[1]})
    body = ok(client.get("/token/", params={"user": "carol", "realm": "realm1"},
                         headers=admin_headers))  # fmt: skip
    assert len(body["result"]["value"]["tokens"]) == 1  # user_token_number is 1 now


def test_enroll_options_are_checked(client: TestClient, admin_headers: dict[str, str]) -> None:
    data = {"name": "e", "event": "auth", "handlermodule": "Token", "action": "enroll",
            "option.tokentype": "hotp", "option.additional_params": "[1, 2]"}  # fmt: skip
    response = client.post("/event", data=data, headers=admin_headers)
    assert response.status_code == 400 and "additional_params" in response.text
