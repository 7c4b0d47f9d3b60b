"""Certificate tokens and CA connectors under policies and events: the rights
``caconnectorread`` / ``caconnectorwrite`` / ``caconnectordelete`` for restricted
admins, privacyIDEA's enrollment actions ``certificate_ca_connector``,
``certificate_template`` and ``certificate_request_subject_component``, the event
condition ``tokentype`` and the Token handler's ``enroll``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from starlette.testclient import TestClient

from tests import factories
from tests.policies.conftest import SetPolicy
from tests.tokens import pki
from tests.tokens.helpers import assert_error

H = dict[str, str]
TEMPLATES = "short:\n  days: 3\n  extensions: user\n"


def test_restricted_admins_need_the_caconnector_rights(
    client: TestClient, admin_headers: H, helpdesk_headers: H, set_policy: SetPolicy,
    flatfile_realm: str,
) -> None:  # fmt: skip
    pki.add_local_ca(client, admin_headers)
    set_policy(
        "superuser",
        scope="admin",
        adminuser="admin",
        action="caconnectorread, caconnectorwrite, caconnectordelete, policywrite, policyread",
    )
    set_policy("hd", scope="admin", adminuser="helpdesk", realm="realm1",
               action="caconnectorread, enrollCERTIFICATE, tokenlist")  # fmt: skip
    before = factories.ok_value(client.get("/caconnector/", headers=admin_headers))
    # Reading is granted, writing and deleting are not.
    assert factories.ok_value(client.get("/caconnector/", headers=helpdesk_headers)) == before
    factories.ok_value(client.get("/caconnector/localca/crl", headers=helpdesk_headers))
    response = client.post("/caconnector/localca", data={"type": "local", "validity_days": "5"},
                           headers=helpdesk_headers)  # fmt: skip
    assert_error(response, 403, 303)
    assert_error(client.post("/caconnector/other", data={"type": "local"},
                             headers=helpdesk_headers), 403)  # fmt: skip
    assert_error(client.delete("/caconnector/localca", headers=helpdesk_headers), 403)
    assert factories.ok_value(client.get("/caconnector/", headers=admin_headers)) == before
    # The help desk enrols certificates for its realm's users.
    csr, _ = pki.request("alice")
    data = {"type": "certificate", "ca": "localca", "request": csr, "user": "alice",
            "realm": "realm1"}  # fmt: skip
    factories.ok_value(client.post("/token/init", data=data, headers=helpdesk_headers))
    # Without caconnectorread the connectors are not shown either.
    set_policy("hd", action="enrollCERTIFICATE, tokenlist")
    assert_error(client.get("/caconnector/", headers=helpdesk_headers), 403)
    assert_error(client.get("/caconnector/localca/crl", headers=helpdesk_headers), 403)


def test_enrollment_policies_choose_the_connector_template_and_subject(
    client: TestClient, admin_headers: H, set_policy: SetPolicy, flatfile_realm: str
) -> None:
    pki.add_local_ca(client, admin_headers, "policyca", templates=TEMPLATES)
    pki.add_local_ca(client, admin_headers, "otherca")
    set_policy("cert", scope="enrollment", realm="realm1",
               action="certificate_ca_connector=policyca, certificate_template=short, "
                      "certificate_request_subject_component=email")  # fmt: skip
    # The policy's connector wins over the request's, as privacyIDEA's prepolicy sets it.
    detail = factories.enrol(client, admin_headers, "certificate", genkey="1", ca="otherca",
                             user="alice", realm="realm1")  # fmt: skip
    cert = x509.load_pem_x509_certificate(str(detail["certificate"]).encode())
    cert.verify_directly_issued_by(pki.ca_certificate(client, admin_headers, "policyca"))
    assert cert.not_valid_after_utc - datetime.now(UTC) <= timedelta(days=3)
    assert "alice@example.com" in cert.subject.rfc4514_string()
    info = factories.token_of(client, admin_headers, str(detail["serial"]))["info"]
    assert info["CA"] == "policyca"

    described = factories.ok_value(client.get("/policy/defs/enrollment", headers=admin_headers))
    assert described["certificate_request_subject_component"]["value"] == ["email", "realm"]
    response = client.post("/policy/bad", headers=admin_headers, data={
        "scope": "enrollment", "action": "certificate_request_subject_component=phone"})  # fmt: skip
    assert_error(response, 400)


def test_tokentype_condition_and_the_token_handlers_enroll(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    pki.add_local_ca(client, admin_headers)
    factories.define(
        client, admin_headers, name="cert", event="token_init", handlermodule="Token",
        action="set description", position="post", conditions={"tokentype": "certificate"},
        options={"description": "a certificate"},
    )  # fmt: skip
    factories.define(
        client, admin_headers, name="hotp", event="token_init", handlermodule="Token",
        action="set tokeninfo", position="post", conditions={"tokentype": "hotp"},
        options={"key": "other", "value": "ran"},
    )  # fmt: skip
    csr, _ = pki.request("alice")
    detail = factories.enrol(client, admin_headers, "certificate", ca="localca", request=csr)
    token = factories.token_of(client, admin_headers, str(detail["serial"]))
    assert token["description"] == "a certificate" and "other" not in token["info"]

    # The Token handler enrols a certificate with a generated key for the request's user.
    factories.define(
        client, admin_headers, name="issue", event="validate_check", handlermodule="Token",
        action="enroll", position="post",
        options={"tokentype": "certificate", "user": "True",
                 "additional_params": "{ca: localca}"},
    )  # fmt: skip
    client.post("/validate/check", data={"user": "carol", "realm": "realm1", "pass": "x"})
    tokens = factories.ok_value(client.get("/token/", params={"user": "carol", "realm": "realm1"},
                                           headers=admin_headers))["tokens"]  # fmt: skip
    assert [t["tokentype"] for t in tokens] == ["certificate"]
    cert = x509.load_pem_x509_certificate(tokens[0]["info"]["certificate"].encode())
    cert.verify_directly_issued_by(pki.ca_certificate(client, admin_headers))
    assert cert.subject.rfc4514_string() == "CN=carol"
