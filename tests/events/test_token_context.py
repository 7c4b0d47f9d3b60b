"""Token actions on ``validate_check`` with user and password only (no serial): they act
on the token the request resolved, as privacyIDEA does — the classic lock / unlock
definitions, end to end."""

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
from tests.events.test_scenarios import enrol_hotp
from tests.tokens.helpers import RFC4226_OTPS, check, get_token


def lock_and_unlock(define: DefinitionMaker) -> None:
    """privacyIDEA's documented pair: disable (and stamp) a token on a failed
    authentication; re-enable it in pre position once the stamp is a week old."""
    define(name="unlock", event="validate_check", handlermodule="Token", action="enable",
           position="pre", conditions={"tokeninfo": "locked < {now}-7d"})  # fmt: skip
    define(name="stamp", event="validate_check", handlermodule="Token", action="set tokeninfo",
           ordering=1, conditions={"result_value": "False"},
           options={"key": "locked", "value": "{now}"})  # fmt: skip
    define(name="lock", event="validate_check", handlermodule="Token", action="disable",
           ordering=2, conditions={"result_value": "False"})  # fmt: skip


def audit_infos(client: TestClient, headers: dict[str, str], action: str) -> list[Any]:
    body = client.get("/audit/", params={"action": f"*{action}*"}, headers=headers).json()
    return [(e["info"], e["success"]) for e in body["result"]["value"]["auditdata"]]


def test_post_disables_the_token_that_failed_and_pre_enables_it_again(
    client: TestClient,
    admin_headers: dict[str, str],
    define: DefinitionMaker,
    flatfile_realm: str,
    services: Services,
) -> None:
    lock_and_unlock(define)
    serial = enrol_hotp(client, admin_headers)
    # a wrong PIN: no serial anywhere in the request or the answer
    assert check(client, user="alice", **{"pass": "0000000000"})["result"]["value"] is False
    token = get_token(client, admin_headers, serial)
    assert token["active"] is False
    assert abs(parse_date(token["info"]["locked"]) - datetime.now(UTC)) < timedelta(minutes=5)
    # locked a moment ago: the right PIN and OTP do not get through
    assert check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})["result"][
        "value"] is False  # fmt: skip
    with services.sessions.begin() as session:
        row = session.scalar(select(Token).where(Token.serial == serial))
        assert row is not None
        set_info(row, "locked", timestamp(datetime.now(UTC) - timedelta(days=8)))
    # a week later the pre definition re-enables the token before the check
    answer = check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[1]})
    assert answer["result"]["value"] is True, answer
    assert get_token(client, admin_headers, serial)["active"] is True


def test_a_wrong_otp_disables_the_token_whose_pin_matched(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, flatfile_realm: str
) -> None:
    define(name="lock", event="validate_check", handlermodule="Token", action="disable",
           conditions={"result_value": "False"})  # fmt: skip
    serial = enrol_hotp(client, admin_headers)
    check(client, user="alice", **{"pass": "1234000000"})
    assert get_token(client, admin_headers, serial)["active"] is False


def test_a_user_with_several_tokens_and_no_serial_names_no_token(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, flatfile_realm: str
) -> None:
    define(name="lock", event="validate_check", handlermodule="Token", action="disable",
           position="pre")  # fmt: skip
    first = enrol_hotp(client, admin_headers)
    second = enrol_hotp(client, admin_headers)
    check(client, user="alice", **{"pass": "0000000000"})
    assert get_token(client, admin_headers, first)["active"] is True
    assert get_token(client, admin_headers, second)["active"] is True
    assert ("lock (ActionError)", False) in audit_infos(client, admin_headers, "Token:disable")
