"""``/caconnector/``: local CA connectors generated on creation or given as PEM, the
CA key sealed at rest and censored in answers, updates that keep the CA, deletion,
the CRL; bad input refused with a 4xx envelope and nothing changed; audited."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.crypto import SecretBox
from factorflow.tokens.ca.models import CAConnectorConfig
from tests import factories
from tests.tokens import pki
from tests.tokens.helpers import assert_error

H = dict[str, str]


def listed(client: TestClient, headers: H) -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = factories.ok_value(client.get("/caconnector/", headers=headers))
    return value


def test_a_generated_ca_is_listed_with_its_key_censored_and_sealed_at_rest(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    pki.add_local_ca(client, admin_headers, subject="CN=Example CA,O=Example", validity_days="90")
    [entry] = listed(client, admin_headers)
    assert (entry["connectorname"], entry["type"]) == ("localca", "local")
    data = entry["data"]
    assert data["cakey"] == "__CENSORED__" and data["validity_days"] == 90
    ca = x509.load_pem_x509_certificate(data["cacert"].encode())
    assert ca.subject.rfc4514_string() == "CN=Example CA,O=Example"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with services.sessions() as session:
        row = session.scalars(select(CAConnectorConfig)).one()
        assert SecretBox.is_sealed(row.cakey_enc) and "PRIVATE" not in row.cakey_enc
        assert "PRIVATE" not in row.config
    assert pki.crl(client, admin_headers).issuer == ca.subject  # a first, empty CRL
    entries = factories.audit_entries(client, admin_headers, action="POST /caconnector/<name>")
    assert [(e["success"], e["action_detail"]) for e in entries] == [(1, "localca type=local")]


def test_an_update_keeps_the_ca_and_a_ca_given_as_pem_is_used(
    client: TestClient, admin_headers: H
) -> None:
    pki.add_local_ca(client, admin_headers)
    before = pki.ca_certificate(client, admin_headers)
    pki.add_local_ca(client, admin_headers, validity_days="10", cakey="__CENSORED__")
    assert pki.ca_certificate(client, admin_headers) == before
    assert pki.connector(client, admin_headers)["data"]["validity_days"] == 10  # type: ignore[index]
    # What the list shows, sent back as it is (a form's round trip), changes nothing.
    shown = pki.connector(client, admin_headers)
    data = {k: str(v) for k, v in shown["data"].items()}  # type: ignore[union-attr]
    pki.add_local_ca(client, admin_headers, **data)
    assert pki.connector(client, admin_headers) == shown

    given = pki.certificate("Given CA", ca=True, days=3650)
    pki.add_local_ca(client, admin_headers, "given", cacert=given.cert_pem, cakey=given.key_pem)
    assert pki.ca_certificate(client, admin_headers, "given") == given.cert
    templates = "user:\n  days: 7\n  extensions: user\nweb:\n  days: 30\n  extensions: server\n"
    pki.add_local_ca(client, admin_headers, "given", templates=templates)
    entry = pki.connector(client, admin_headers, "given")
    assert entry["templates"] == {
        "user": {"days": 7, "extensions": "user"},
        "web": {"days": 30, "extensions": "server"},
    }
    assert sorted(e["connectorname"] for e in listed(client, admin_headers)) == ["given", "localca"]
    assert factories.ok_value(client.delete("/caconnector/given", headers=admin_headers)) is True
    assert [e["connectorname"] for e in listed(client, admin_headers)] == ["localca"]


def _bad_inputs() -> list[tuple[str, dict[str, str]]]:
    ca = pki.certificate("Other CA", ca=True)
    stranger = pki.certificate("Stranger CA", ca=True)
    leaf = pki.certificate("leaf", ca=False)
    return [
        ("broken certificate PEM", {"cacert": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
                                    "CERTIFICATE-----", "cakey": ca.key_pem}),
        ("broken key PEM", {"cacert": ca.cert_pem, "cakey": "not a key"}),
        ("a key of another CA", {"cacert": ca.cert_pem, "cakey": stranger.key_pem}),
        ("not a CA certificate", {"cacert": leaf.cert_pem, "cakey": leaf.key_pem}),
        ("a certificate without its key", {"cacert": ca.cert_pem}),
        ("unknown type", {"type": "msca"}),
        ("unknown option", {"colour": "blue"}),
        ("validity out of range", {"validity_days": "0"}),
        ("templates not YAML", {"templates": "user: [days"}),
        ("template of unknown extensions", {"templates": "user:\n  days: 7\n  extensions: x\n"}),
        ("subject not a name", {"subject": "no equals sign"}),
    ]  # fmt: skip


@pytest.mark.parametrize(("why", "params"), _bad_inputs(), ids=[b[0] for b in _bad_inputs()])
def test_bad_input_is_refused_and_changes_nothing(
    client: TestClient, admin_headers: H, why: str, params: dict[str, str]
) -> None:
    pki.add_local_ca(client, admin_headers, validity_days="42")
    before = listed(client, admin_headers)
    for name in ("localca", "newca"):  # an update and a creation
        data = {"type": "local", **params}
        response = client.post(f"/caconnector/{name}", data=data, headers=admin_headers)
        assert_error(response, 400)
    assert listed(client, admin_headers) == before


def test_unknown_connectors_and_names(client: TestClient, admin_headers: H) -> None:
    assert_error(client.get("/caconnector/nope", headers=admin_headers), 404)
    assert_error(client.get("/caconnector/nope/crl", headers=admin_headers), 404)
    assert_error(client.delete("/caconnector/nope", headers=admin_headers), 404)
    response = client.post("/caconnector/bad%20name", data={"type": "local"}, headers=admin_headers)
    assert_error(response, 400)
    assert listed(client, admin_headers) == []


def test_the_ca_of_a_connector_that_issued_certificates_is_not_replaced(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    pki.add_local_ca(client, admin_headers)
    csr, _ = pki.request("alice")
    factories.enrol(client, admin_headers, "certificate", ca="localca", request=csr,
                    user="alice", realm="realm1")  # fmt: skip
    other = pki.certificate("Other CA", ca=True)
    response = client.post(
        "/caconnector/localca",
        data={"type": "local", "cacert": other.cert_pem, "cakey": other.key_pem},
        headers=admin_headers,
    )
    assert_error(response, 400, 503)
    # Nor is it deleted while a certificate token names it.
    assert_error(client.delete("/caconnector/localca", headers=admin_headers), 400, 503)
    assert [e["connectorname"] for e in listed(client, admin_headers)] == ["localca"]
