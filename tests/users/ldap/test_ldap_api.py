"""The LDAP user store through the API: /resolver (write, read censored, test),
/realm, /user/ and /auth as an LDAP user; failures and bad input."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.users.models import ResolverConfig
from tests import factories
from tests.conftest import USER_PASSWORDS, bearer
from tests.users.helpers import config_state, error, ok
from tests.users.ldap.conftest import ldap_options
from tests.users.ldap.slapd import ODD_LOGIN, ODD_PASSWORD, READER_PW, Slapd

form = factories.resolver_form


def ldap_realm(client: TestClient, headers: dict[str, str], options: dict[str, Any]) -> None:
    factories.add_resolver(client, headers, "ldap1", "ldapresolver", **options)
    factories.add_realm(client, headers, "ldaprealm", "ldap1")


def login(client: TestClient, username: str, password: str) -> Any:
    return client.post(
        "/auth", data={"username": username, "realm": "ldaprealm", "password": password}
    )


def test_ldap_resolver_round_trip(
    client: TestClient, admin_headers: dict[str, str], services: Services, slapd: Slapd
) -> None:
    options = ldap_options(slapd, START_TLS="1", TLS_CA_FILE=str(slapd.pki.ca_file))
    tested = client.post(
        "/resolver/test", data={"type": "ldapresolver", **form(options)}, headers=admin_headers
    )
    assert ok(tested) is True
    assert "4 user objects found" in tested.json()["detail"]["description"]

    ldap_realm(client, admin_headers, options)
    described = ok(client.get("/resolver/ldap1", headers=admin_headers))["ldap1"]
    assert described["type"] == "ldapresolver"
    assert described["censor_keys"] == ["BINDPW"]
    assert described["data"]["BINDPW"] == "__CENSORED__"
    assert json.loads(described["data"]["USERINFO"])["email"] == "mail"
    with services.sessions() as session:
        stored = session.query(ResolverConfig).filter_by(name="ldap1").one().config
    assert READER_PW not in stored

    # The censored password is filled in from the stored configuration.
    retest = client.post(
        "/resolver/test",
        data={
            "type": "ldapresolver",
            "resolver": "ldap1",
            **form({**options, "BINDPW": "__CENSORED__"}),
        },
        headers=admin_headers,
    )
    assert ok(retest) is True

    users = ok(client.get("/user/", params={"realm": "ldaprealm"}, headers=admin_headers))
    assert sorted(u["username"] for u in users) == sorted([*USER_PASSWORDS, ODD_LOGIN])
    alice = next(u for u in users if u["username"] == "alice")
    assert (alice["email"], alice["resolver"], alice["editable"]) == (
        "alice@example.com", "ldap1", False,
    )  # fmt: skip
    found = ok(
        client.get("/user/", params={"realm": "ldaprealm", "email": "bob@*"}, headers=admin_headers)
    )
    assert [u["username"] for u in found] == ["bob"]

    response = login(client, "alice", USER_PASSWORDS["alice"])
    assert response.status_code == 200, response.text
    value = response.json()["result"]["value"]
    assert (value["role"], value["username"], value["realm"]) == ("user", "alice", "ldaprealm")
    me = ok(client.get("/user/", headers=bearer(value["token"])))
    assert [u["username"] for u in me] == ["alice"]

    assert login(client, ODD_LOGIN, ODD_PASSWORD).status_code == 200
    for username, password in [("alice", "wrong"), ("alice", ""), ("al*", "x"), ("*", "")]:
        error(login(client, username, password), 401)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"BINDPW": "wrong-pw"}, "refused BINDDN and BINDPW"),
        ({"LDAPBASE": "ou=nowhere,dc=example,dc=org"}, "does not exist"),
        ({"LDAPURI": "ldap://127.0.0.1:{dead}"}, "no LDAP server of LDAPURI is reachable"),
        ({"LDAPURI": "ldap://127.0.0.1:{silent}", "TIMEOUT": "1"}, "within TIMEOUT"),
        ({"LDAPURI": "{ldaps}", "TLS_CA_FILE": "{other_ca}"}, "TLS failed"),
    ],
)
def test_broken_directories_give_clear_errors_and_no_500(
    client: TestClient,
    admin_headers: dict[str, str],
    slapd: Slapd,
    dead_port: int,
    silent_port: int,
    overrides: dict[str, str],
    message: str,
) -> None:
    values = {
        "dead": dead_port, "silent": silent_port, "ldaps": slapd.ldaps_uri,
        "other_ca": slapd.pki.other_ca_file,
    }  # fmt: skip
    options = ldap_options(slapd, **{k: v.format(**values) for k, v in overrides.items()})
    started = time.monotonic()
    tested = client.post(
        "/resolver/test", data={"type": "ldapresolver", **form(options)}, headers=admin_headers
    )
    assert ok(tested) is False
    description = tested.json()["detail"]["description"]
    assert message in description and "wrong-pw" not in description

    ldap_realm(client, admin_headers, options)
    response = login(client, "alice", USER_PASSWORDS["alice"])
    # A directory that cannot be asked is an authentication failure with a reason,
    # never a server error.
    assert response.status_code in (400, 401), response.text
    assert response.json()["result"]["status"] is False
    listing = client.get("/user/", params={"realm": "ldaprealm"}, headers=admin_headers)
    assert listing.status_code != 500, listing.text
    assert time.monotonic() - started < 20  # no hang: generous, not a speed test


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"LDAPURI": None}, "LDAPURI"),
        ({"LDAPBASE": None}, "LDAPBASE"),
        ({"LDAPURI": "http://127.0.0.1:389"}, "LDAPURI"),
        ({"LDAPURI": "ldap://"}, "LDAPURI"),
        ({"LDAPURI": "ldap://host:notaport"}, "LDAPURI"),
        ({"LDAPBASE": "not a dn"}, "LDAPBASE"),
        ({"UIDTYPE": "not an attribute!"}, "UIDTYPE"),
        ({"LOGINNAMEATTRIBUTE": "uid)(x"}, "LOGINNAMEATTRIBUTE"),
        ({"LDAPSEARCHFILTER": "(uid=*"}, "LDAPSEARCHFILTER"),
        ({"USERINFO": "{not json"}, "USERINFO"),
        ({"USERINFO": json.dumps({"email": "mail)(x"})}, "USERINFO"),
        ({"TIMEOUT": "0"}, "TIMEOUT"),
        ({"AUTHTYPE": "NTLM"}, "AUTHTYPE"),
        ({"EDITABLE": "1"}, "EDITABLE"),
        ({"TLS_CA_FILE": "relative/ca.pem"}, "TLS_CA_FILE"),
        ({"TLS_CA_FILE": "/nonexistent/ca.pem"}, "TLS_CA_FILE"),
        ({"NOSUCHOPTION": "1"}, "NOSUCHOPTION"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_stored(
    client: TestClient,
    admin_headers: dict[str, str],
    slapd: Slapd,
    change: dict[str, str | None],
    field: str,
) -> None:
    options = form(ldap_options(slapd))
    for key, value in change.items():
        if value is None:
            options.pop(key)
        else:
            options[key] = value
    before = config_state(client, admin_headers)
    response = client.post(
        "/resolver/ldapbad", data={"type": "ldapresolver", **options}, headers=admin_headers
    )
    error(response, 400, contains=repr(field))
    assert config_state(client, admin_headers) == before
    tested = client.post(
        "/resolver/test", data={"type": "ldapresolver", **options}, headers=admin_headers
    )
    assert tested.status_code == 400 or ok(tested) is False


def test_an_unreachable_directory_is_a_401_on_auth(
    client: TestClient, admin_headers: dict[str, str], slapd: Slapd, dead_port: int
) -> None:
    ldap_realm(client, admin_headers, ldap_options(slapd, LDAPURI=f"ldap://127.0.0.1:{dead_port}"))
    error(login(client, "alice", USER_PASSWORDS["alice"]), 401)
