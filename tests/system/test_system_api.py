"""``/system/``: privacyIDEA's settings API for the settings Factorflow has."""

from __future__ import annotations

import base64

import pytest
from starlette.testclient import TestClient

from tests.conftest import user_headers
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import RFC_KEY_HEX, assert_error, check, get_token, init_token, ok

H = dict[str, str]
WRONG_PIN = {"user": "alice", "realm": "realm1", "pass": "9999000000"}


def settings(client: TestClient, headers: H) -> dict[str, object]:
    value: dict[str, object] = ok(client.get("/system/", headers=headers))["result"]["value"]
    return value


def set_config(client: TestClient, headers: H, **values: str) -> dict[str, str]:
    body = ok(client.post("/system/setConfig", json=values, headers=headers))
    result: dict[str, str] = body["result"]["value"]
    return result


def test_the_settings_in_force_as_privacyidea_lists_them(
    client: TestClient, admin_headers: H
) -> None:
    value = settings(client, admin_headers)
    assert {"IncFailCountOnFalsePin", "PrependPin", "splitAtSign", "__timestamp__"} <= set(value)
    assert value["IncFailCountOnFalsePin"] == "True"
    assert value["PrependPin"] == "True" and value["splitAtSign"] == "True"
    assert all(isinstance(v, str) for v in value.values())
    float(str(value["__timestamp__"]))


def test_set_config_stores_inserts_then_updates(client: TestClient, admin_headers: H) -> None:
    before = settings(client, admin_headers)["__timestamp__"]
    assert set_config(client, admin_headers, IncFailCountOnFalsePin="false") == {
        "IncFailCountOnFalsePin": "insert"
    }
    assert set_config(
        client,
        admin_headers,
        IncFailCountOnFalsePin="0",
        DefaultChallengeValidityTime="300",
        **{"DefaultChallengeValidityTime.desc": "five minutes"},
    ) == {"IncFailCountOnFalsePin": "update", "DefaultChallengeValidityTime": "insert"}
    value = settings(client, admin_headers)
    assert value["IncFailCountOnFalsePin"] == "False"
    assert value["DefaultChallengeValidityTime"] == "300"
    assert value["__timestamp__"] != before
    one = ok(client.get("/system/DefaultChallengeValidityTime", headers=admin_headers))
    assert one["result"]["value"] == "300"
    assert ok(client.get("/system/AutoResync", headers=admin_headers))["result"]["value"] is None


def test_the_stored_setting_is_honoured(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    init_token(client, admin_headers, type="hotp", serial="H1", otpkey=RFC_KEY_HEX,
               user="alice", realm="realm1", pin="1234")  # fmt: skip
    check(client, **WRONG_PIN)  # wrong PIN
    assert get_token(client, admin_headers, "H1")["failcount"] == 1
    set_config(client, admin_headers, IncFailCountOnFalsePin="False")
    check(client, **WRONG_PIN)
    assert get_token(client, admin_headers, "H1")["failcount"] == 1
    ok(client.delete("/system/IncFailCountOnFalsePin", headers=admin_headers))
    check(client, **WRONG_PIN)
    assert get_token(client, admin_headers, "H1")["failcount"] == 2


@pytest.mark.parametrize(
    "values",
    [
        {"AutoResync": "True"},  # privacyIDEA has it, Factorflow does not
        {"IncFailCountOnFalsePin": "True", "DefaultMaxFailCount": "5"},
        {"IncFailCountOnFalsePin": "maybe"},
        {"DefaultChallengeValidityTime": "0"},
        {"DefaultChallengeValidityTime": "1e9"},
        {"SMSChallengeValidityTime": "999999"},
        {"email.identifier": "no-such-smtp-server"},
        {"splitAtSign": "False"},  # read-only: set in the settings file
        {"PrependPin": "0"},
        {},
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    client: TestClient, admin_headers: H, values: dict[str, str]
) -> None:
    before = settings(client, admin_headers)
    response = client.post("/system/setConfig", json=values, headers=admin_headers)
    assert_error(response, 400)
    after = settings(client, admin_headers)
    assert after == before


def test_a_read_only_setting_may_be_set_to_its_value(client: TestClient, admin_headers: H) -> None:
    assert set_config(client, admin_headers, splitAtSign="True") == {"splitAtSign": "update"}
    assert_error(client.delete("/system/splitAtSign", headers=admin_headers), 400)


def test_delete_answers_whether_something_was_stored(client: TestClient, admin_headers: H) -> None:
    set_config(client, admin_headers, SMSChallengeValidityTime="60")
    gone = ok(client.delete("/system/SMSChallengeValidityTime", headers=admin_headers))
    assert gone["result"]["value"] is True
    again = ok(client.delete("/system/SMSChallengeValidityTime", headers=admin_headers))
    assert again["result"]["value"] is False
    assert "SMSChallengeValidityTime" not in settings(client, admin_headers)
    assert (
        ok(client.delete("/system/AutoResync", headers=admin_headers))["result"]["value"] is False
    )


def test_users_see_no_settings(client: TestClient, admin_headers: H, flatfile_realm: str) -> None:
    alice = user_headers(client, "alice")
    assert settings(client, alice) == {}
    assert ok(client.get("/system/splitAtSign", headers=alice))["result"]["value"] is None
    assert_error(client.post("/system/setConfig", json={"splitAtSign": "True"}, headers=alice), 401)
    assert_error(client.get("/system/"), 401)


def test_random_key_material(client: TestClient, admin_headers: H) -> None:
    hex_value = ok(client.get("/system/random", headers=admin_headers))["result"]["value"]
    assert len(bytes.fromhex(hex_value)) == 20
    b64 = ok(client.get("/system/random", params={"len": 32, "encode": "b64"},
                        headers=admin_headers))["result"]["value"]  # fmt: skip
    assert len(base64.b64decode(b64)) == 32
    for params in ({"len": "0"}, {"len": "4096"}, {"len": "x"}, {"encode": "rot13"}):
        assert_error(client.get("/system/random", params=params, headers=admin_headers), 400)


def test_documentation_describes_the_configuration_without_secrets(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    response = client.get("/system/documentation", headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "filename=documentation.rst" in response.headers["content-disposition"]
    text = response.text
    for expected in ("System settings", "``realm1`` (default): ``resolver1``",
                     "``resolver1``: ``passwdresolver``", "``admin``"):  # fmt: skip
        assert expected in text, text
    assert "fileName" not in text and "users.passwd" not in text


def test_rights_of_restricted_admins(
    client: TestClient, admin_headers: H, helpdesk_headers: H, set_policy: SetPolicy
) -> None:
    # Once admin policies exist they bind everyone: the superuser keeps policywrite.
    set_policy("superuser", scope="admin", action="policywrite", adminuser="admin")
    set_policy("helpdesk-reads", scope="admin", action="configread", adminuser="helpdesk")
    ok(client.get("/system/", headers=helpdesk_headers))
    denied = [
        client.post("/system/setConfig", json={"IncFailCountOnFalsePin": "1"},
                    headers=helpdesk_headers),
        client.delete("/system/IncFailCountOnFalsePin", headers=helpdesk_headers),
        client.get("/system/documentation", headers=helpdesk_headers),
        client.get("/system/random", headers=helpdesk_headers),
    ]  # fmt: skip
    for response in denied:
        assert_error(response, 403)
    set_policy("helpdesk-writes", scope="admin", adminuser="helpdesk",
               action="configwrite, configdelete, system_documentation, getrandom")  # fmt: skip
    ok(client.post("/system/setConfig", json={"IncFailCountOnFalsePin": "1"},
                   headers=helpdesk_headers))  # fmt: skip
    ok(client.get("/system/random", headers=helpdesk_headers))
