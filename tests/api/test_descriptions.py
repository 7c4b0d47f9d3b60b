"""The served descriptions of the pluggable models, which the web UI's forms are built
from: ``GET /token/types/``, ``/resolver/types/``, ``/smtpserver/options``,
``/smsgateway/providers`` (privacyIDEA's) and ``/privacyideaserver/options``. Each
describes every field of its model, by the name the API takes."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.federation.service import RemoteServerOptions
from factorflow.notify.options import HttpSmsOptions, SmtpOptions
from tests.conftest import user_headers
from tests.tokens.helpers import assert_error, ok

H = dict[str, str]
DESCRIPTOR_KEYS = {
    "type", "required", "description", "label", "value", "values", "default", "secret",
    "visibleIf", "visibleValue",
}  # fmt: skip


def value(client: TestClient, path: str, headers: H) -> Any:
    return ok(client.get(path, headers=headers))["result"]["value"]


def aliases(model: Any) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def assert_descriptors(options: dict[str, Any]) -> None:
    for name, descriptor in options.items():
        assert set(descriptor) <= DESCRIPTOR_KEYS, name
        assert descriptor["type"] in {"str", "text", "bool", "int", "float"}, name
        assert isinstance(descriptor["required"], bool), name


def test_token_types_describe_every_enrolment_parameter(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    types = value(client, "/token/types/", admin_headers)
    registry = services.tokens.types
    assert list(types) == list(registry)
    rights = value(client, "/auth/rights", admin_headers)
    for name, described in types.items():
        assert described["description"] == rights[name]
        # The token PIN is the form's common field; a type may leave it out of its own.
        own = [a for a in aliases(registry[name].InitParams) if a in described["options"]]
        assert list(described["options"]) == own
        assert set(aliases(registry[name].InitParams)) - set(own) <= {"pin"}, name
        assert_descriptors(described["options"])
    hotp = types["hotp"]["options"]
    assert hotp["otpkey"]["secret"] is True and hotp["otpkey"]["label"] == "OTP key"
    assert hotp["otplen"] == {
        "type": "int", "required": False, "description": "Digits per OTP.",
        "label": "OTP length", "value": [6, 8], "default": 6,
    }  # fmt: skip
    assert hotp["hashlib"]["value"] == ["sha1", "sha256", "sha512"]
    assert types["totp"]["options"]["timeStep"]["value"] == [30, 60]
    assert types["paper"]["options"]["papertoken_count"]["default"] == 100
    assert types["spass"]["options"] == {} and types["registration"]["options"] == {}
    assert types["pw"]["options"]["otpkey"]["secret"] is True
    one = value(client, "/token/types/TOTP", admin_headers)
    assert one == {"totp": types["totp"]}


def test_token_types_offer_the_configured_gateways_to_admins(
    client: TestClient, admin_headers: H
) -> None:
    email = value(client, "/token/types/email", admin_headers)["email"]["options"]
    assert "value" not in email["smtp_identifier"]  # nothing configured: free text
    smtp = {"server": "127.0.0.1", "sender": "mfa@example.org"}
    ok(client.post("/smtpserver/mail1", data=smtp, headers=admin_headers))
    gateway = {"name": "gw1", "module": "http", "option.URL": "https://sms.example.org/send"}
    ok(client.post("/smsgateway", data=gateway, headers=admin_headers))
    types = value(client, "/token/types/", admin_headers)
    assert types["email"]["options"]["smtp_identifier"]["value"] == ["mail1"]
    assert types["sms"]["options"]["sms_identifier"]["value"] == ["gw1"]


def test_users_see_the_types_they_may_enrol_without_configuration_names(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    alice = user_headers(client, "alice")
    types = value(client, "/token/types/", alice)
    self_service = [t for t, cls in services.tokens.types.items() if cls.self_service]
    assert list(types) == self_service and "hotp" in types
    body = assert_error(client.get("/token/types/paper", headers=alice), 403, 303)
    assert body["result"]["error"]["message"] == "You may not enroll tokens of type 'paper'."


@pytest.mark.parametrize(
    ("path", "status", "code", "text"),
    [
        ("/token/types/nosuchtype", 400, 905, "Unknown token type 'nosuchtype'"),
        ("/token/types/" + "x" * 31, 400, 905, "tokentype"),
        ("/token/types/%00", 400, 905, ""),
    ],
)
def test_bad_token_types_requests_are_400_in_the_envelope(
    client: TestClient, admin_headers: H, path: str, status: int, code: int, text: str
) -> None:
    body = assert_error(client.get(path, headers=admin_headers), status, code)
    assert text in body["result"]["error"]["message"]


def test_resolver_types_describe_every_option_of_every_store(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    types = value(client, "/resolver/types/", admin_headers)
    assert value(client, "/resolver/types", admin_headers) == types
    assert list(types) == list(services.user_stores)
    for name, described in types.items():
        assert described["description"]
        assert_descriptors(described["options"])
        # The same options, with the same defaults, as GET /resolver/<type>/default.
        defaults = value(client, f"/resolver/{name}/default", admin_headers)
        assert list(described["options"]) == list(defaults)
        for option, descriptor in described["options"].items():
            if "default" in descriptor:
                assert descriptor["default"] == defaults[option], option
    ldap = types["ldapresolver"]["options"]
    assert len(ldap) == 24
    assert ldap["BINDPW"]["secret"] is True and ldap["USERINFO"]["type"] == "text"
    assert ldap["LDAPURI"]["required"] is True and ldap["LDAPURI"]["label"] == "Server URI"
    assert ldap["TIMEOUT"] == {
        "type": "int", "required": False, "description": "For connecting and for each answer.",
        "label": "Timeout (seconds)", "default": 5,
    }  # fmt: skip
    assert types["sqlresolver"]["options"]["Password"]["secret"] is True
    assert [k for k, d in types["sqlresolver"]["options"].items() if d.get("secret")] == [
        "Password"
    ]
    assert types["passwdresolver"]["options"]["fileName"]["required"] is True


def test_a_resolver_named_types_is_still_listed_by_name(
    client: TestClient, admin_headers: H, passwd_file: Any
) -> None:
    data = {"type": "passwdresolver", "fileName": str(passwd_file)}
    ok(client.post("/resolver/types", data=data, headers=admin_headers))
    listing = value(client, "/resolver/", admin_headers)
    assert "types" in listing
    one = value(client, "/resolver/?resolver=types", admin_headers)
    assert list(one) == ["types"]


def test_smtp_sms_and_remote_server_options(client: TestClient, admin_headers: H) -> None:
    smtp = value(client, "/smtpserver/options", admin_headers)
    assert list(smtp) == aliases(SmtpOptions)
    assert_descriptors(smtp)
    assert smtp["password"]["secret"] is True
    assert smtp["server"]["required"] and smtp["sender"]["label"] == "Sender address"
    assert smtp["timeout"]["type"] == "float" and smtp["timeout"]["default"] == 10.0

    remote = value(client, "/privacyideaserver/options", admin_headers)
    assert list(remote) == aliases(RemoteServerOptions)
    assert_descriptors(remote)
    assert remote["tls"]["default"] is True and remote["url"]["required"] is True

    providers = value(client, "/smsgateway/providers", admin_headers)
    assert list(providers) == ["http"]
    http = providers["http"]
    assert http["options_allowed"] is True and http["headers_allowed"] is True
    assert list(http["parameters"]) == aliases(HttpSmsOptions)
    assert_descriptors(http["parameters"])
    method = http["parameters"]["HTTP_METHOD"]
    assert method["value"] == method["values"] == ["GET", "POST"]
    assert http["parameters"]["URL"]["required"] is True


def test_every_described_sms_option_is_accepted_by_its_name(
    client: TestClient, admin_headers: H
) -> None:
    """The described names are the ones POST /smsgateway takes (not request templates)."""
    parameters = value(client, "/smsgateway/providers", admin_headers)["http"]["parameters"]
    sample = {
        "URL": "https://sms.example.org/send", "HTTP_METHOD": "GET", "SEND_DATA_AS_JSON": "0",
        "SUCCESS_STATUS": "200", "RETURN_SUCCESS": "OK", "CHECK_SSL": "1", "TIMEOUT": "5",
    }  # fmt: skip
    assert set(sample) == set(parameters)
    form = {"name": "gw1", "module": "http", **{f"option.{k}": v for k, v in sample.items()}}
    ok(client.post("/smsgateway", data=form, headers=admin_headers))
    options = value(client, "/smsgateway/gw1", admin_headers)[0]["options"]
    assert set(options) == set(sample)  # none became a request parameter template
    assert options["HTTP_METHOD"] == "GET" and options["TIMEOUT"] == 5.0


def test_configurations_named_like_the_descriptions_are_read_by_parameter(
    client: TestClient, admin_headers: H
) -> None:
    smtp = {"server": "127.0.0.1", "sender": "mfa@example.org"}
    ok(client.post("/smtpserver/options", data=smtp, headers=admin_headers))
    assert list(value(client, "/smtpserver/", admin_headers)) == ["options"]
    one = value(client, "/smtpserver/?identifier=options", admin_headers)
    assert one["options"]["server"] == "127.0.0.1"
    remote = {"url": "https://mfa.example.org"}
    ok(client.post("/privacyideaserver/options", data=remote, headers=admin_headers))
    one = value(client, "/privacyideaserver/?identifier=options", admin_headers)
    assert one["options"]["url"] == "https://mfa.example.org"


@pytest.mark.parametrize(
    "path",
    ["/resolver/types/", "/smtpserver/options", "/smsgateway/providers",
     "/privacyideaserver/options"],
)  # fmt: skip
def test_admin_only_descriptions_refuse_users_and_anonymous_callers(
    client: TestClient, admin_headers: H, flatfile_realm: str, path: str
) -> None:
    assert_error(client.get(path, headers=user_headers(client, "alice")), 401, 4306)
    assert_error(client.get(path), 401, 4033)


def test_token_types_need_a_login(client: TestClient) -> None:
    assert_error(client.get("/token/types/"), 401, 4033)
    assert_error(client.get("/token/types/hotp", headers={"Authorization": "nope"}), 401)
