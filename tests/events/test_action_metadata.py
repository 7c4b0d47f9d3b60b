"""``GET /event/actions/<module>``: privacyIDEA's ``visibleIf`` / ``visibleValue`` and its
value lists (token types, realms, token groups, PIN lengths, configurations)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.events.test_token_enroll import add_gateway, add_smtp


def actions(client: TestClient, headers: dict[str, str], module: str) -> Any:
    response = client.get(f"/event/actions/{module}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def test_token_options_carry_visibility_and_value_lists(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, services: Services
) -> None:
    add_smtp(client, admin_headers, "mail1")
    add_gateway(client, admin_headers, "gw1")
    group = client.post("/tokengroup/ops", data={"description": "d"}, headers=admin_headers)
    assert group.status_code == 200, group.text
    token = actions(client, admin_headers, "Token")
    enroll = token["enroll"]
    # Not the types whose enrolment the user's browser finishes (WebAuthn, passkey).
    assert enroll["tokentype"]["value"] == sorted(
        name for name, cls in services.token_types.items() if not cls.client_enrollment
    )
    assert "webauthn" not in enroll["tokentype"]["value"]
    assert enroll["realm"]["value"] == ["realm1"]
    assert {k: enroll["dynamic_phone"][k] for k in ("type", "visibleIf", "visibleValue")} == {
        "type": "bool", "visibleIf": "tokentype", "visibleValue": "sms"}  # fmt: skip
    assert (enroll["dynamic_email"]["visibleIf"], enroll["dynamic_email"]["visibleValue"]) == (
        "tokentype", "email")  # fmt: skip
    assert enroll["smtp_identifier"]["value"] == ["mail1"]
    assert enroll["smtp_identifier"]["visibleValue"] == "email"
    assert enroll["sms_identifier"]["value"] == ["gw1"]
    assert enroll["sms_identifier"]["visibleValue"] == "sms"
    assert "visibleIf" not in enroll["user"]
    assert token["set tokenrealm"]["realm"]["value"] == ["realm1"]
    assert token["set random pin"]["length"]["value"] == list(range(1, 32))
    assert token["add tokengroup"]["tokengroup"]["value"] == ["ops"]
    assert token["remove tokengroup"]["tokengroup"]["value"] == ["ops"]


def test_notification_recipient_details_show_for_their_recipient_type(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    sendmail = actions(client, admin_headers, "UserNotification")["sendmail"]
    for option, (controller, value) in {
        "To tokenowner": ("To", "tokenowner"),
        "To email": ("To", "email"),
        "To admin realm": ("To", "admin realm"),
        "reply_to internal admin": ("reply_to", "internal admin"),
    }.items():
        assert (sendmail[option]["visibleIf"], sendmail[option]["visibleValue"]) == (
            controller, value)  # fmt: skip
    assert sendmail["To admin realm"]["value"] == ["realm1"]
    assert sendmail["To internal admin"]["value"] == ["admin"]
    assert "visibleIf" not in sendmail["To"]


def test_script_raise_error_shows_only_when_waiting() -> None:
    from factorflow.events.handlers.base import describe_options
    from factorflow.events.handlers.script import ScriptOptions

    raise_error = describe_options(ScriptOptions)["raise_error"]
    assert (raise_error["visibleIf"], raise_error["visibleValue"]) == ("background", "wait")
