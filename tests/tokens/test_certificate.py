"""The ``certificate`` token over HTTP: enrolled from a CSR, with a generated key as
a PKCS#12 file that opens with its password and chains to the CA, or uploaded;
revoked onto the CRL; never accepted by ``/validate/check`` (privacyIDEA's has no
OTP), valid, expired or revoked; bad input refused with nothing stored."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.crypto import SecretBox
from factorflow.tokens.ca.models import IssuedCertificate
from factorflow.tokens.models import Token
from tests import factories
from tests.conftest import user_headers
from tests.tokens import pki
from tests.tokens.helpers import assert_error

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}


@pytest.fixture
def ca(client: TestClient, admin_headers: H, flatfile_realm: str) -> x509.Certificate:
    pki.add_local_ca(client, admin_headers, validity_days="90")
    return pki.ca_certificate(client, admin_headers)


def enrol(client: TestClient, headers: H, **params: Any) -> dict[str, Any]:
    return factories.enrol(client, headers, "certificate", **USER, **params)


def issued(detail: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(str(detail["certificate"]).encode())


def test_enrolled_from_a_request(
    ca: x509.Certificate, client: TestClient, admin_headers: H, services: Services
) -> None:
    csr, key = pki.request("alice", email="alice@example.com")
    detail = enrol(client, admin_headers, ca="localca", request=csr, pin="1234")
    cert = issued(detail)
    cert.verify_directly_issued_by(ca)
    assert cert.public_key() == key.public_key()
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert alt.get_values_for_type(x509.RFC822Name) == ["alice@example.com"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
    lifetime = cert.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=89) < lifetime <= timedelta(days=90)
    assert "pkcs12" not in detail and detail["rollout_state"] == "enrolled"
    token = factories.token_of(client, admin_headers, str(detail["serial"]))
    assert token["serial"].startswith("CRT") and token["tokentype"] == "certificate"
    assert token["info"]["certificate"] == detail["certificate"]
    assert token["info"]["CA"] == "localca"
    assert {"certificate", "CA"} <= set(token["readonly_info_keys"])
    with services.sessions() as session:
        row = session.scalars(select(IssuedCertificate)).one()
        assert row.serial == f"{cert.serial_number:x}" and row.revoked_at is None

    # privacyIDEA's clients may send the request's base64 alone, its line breaks lost.
    body = "".join(line for line in csr.splitlines() if not line.startswith("-----"))
    issued(enrol(client, admin_headers, ca="localca", request=body)).verify_directly_issued_by(ca)


def test_a_generated_key_comes_as_pkcs12_that_opens_with_its_password(
    ca: x509.Certificate, client: TestClient, admin_headers: H, services: Services
) -> None:
    detail = enrol(client, admin_headers, ca="localca", genkey="1",
                   subject_components="email realm")  # fmt: skip
    password = str(detail["pkcs12_password"])
    container = base64.b64decode(str(detail["pkcs12"]))
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(container, b"wrong")
    key, cert, extra = pkcs12.load_key_and_certificates(container, password.encode())
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert cert is not None and cert == issued(detail)
    assert cert.public_key() == key.public_key()
    cert.verify_directly_issued_by(ca)
    assert extra == [ca]  # the chain to the CA comes with it
    assert (
        cert.subject.rfc4514_string() == "OU=realm1,1.2.840.113549.1.9.1=alice@example.com,CN=alice"
    )
    token = factories.token_of(client, admin_headers, str(detail["serial"]))
    assert "pkcs12" not in token["info"] and password not in str(token)
    with services.sessions() as session:
        row = session.scalars(select(Token).where(Token.serial == detail["serial"])).one()
        assert SecretBox.is_sealed(row.secret_enc)  # the container, sealed at rest

    # With a PIN the container is encrypted with it, and no password is answered.
    detail = enrol(client, admin_headers, ca="localca", genkey="1", pin="my-pin-42")
    assert "pkcs12_password" not in detail and "my-pin-42" not in str(detail)
    key, cert, _ = pkcs12.load_key_and_certificates(
        base64.b64decode(str(detail["pkcs12"])), b"my-pin-42"
    )
    assert cert is not None and cert.subject.rfc4514_string() == "CN=alice"


def test_an_uploaded_certificate_is_stored_as_it_is(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    mine = pki.certificate("alice")
    detail = enrol(client, admin_headers, certificate=mine.cert_pem)
    assert issued(detail) == mine.cert
    info = factories.token_of(client, admin_headers, str(detail["serial"]))["info"]
    assert "CA" not in info and issued(info) == mine.cert


def test_revoked_certificates_are_on_the_crl(
    ca: x509.Certificate, client: TestClient, admin_headers: H
) -> None:
    first, second = (issued(enrol(client, admin_headers, ca="localca", genkey="1"))
                     for _ in range(2))  # fmt: skip
    before = pki.crl(client, admin_headers)
    assert list(before) == []
    serial = _serial_of(client, admin_headers, first)
    factories.ok_value(client.post(f"/token/revoke/{serial}", headers=admin_headers))
    crl = pki.crl(client, admin_headers)
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert [r.serial_number for r in crl] == [first.serial_number]
    assert crl.get_revoked_certificate_by_serial_number(second.serial_number) is None
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    token = factories.token_of(client, admin_headers, serial)
    assert token["revoked"] is True and token["active"] is False


def _serial_of(client: TestClient, headers: H, cert: x509.Certificate) -> str:
    tokens = factories.ok_value(client.get("/token/", params={"type": "certificate"},
                                           headers=headers))["tokens"]  # fmt: skip
    for token in tokens:
        if issued(token["info"]).serial_number == cert.serial_number:
            return str(token["serial"])
    raise AssertionError("no token holds the certificate")


def test_no_certificate_token_is_accepted_at_check(
    ca: x509.Certificate, client: TestClient, admin_headers: H
) -> None:
    """privacyIDEA's certificate token has no OTP (its check never succeeds); here it is
    left out of the check: whether valid, expired or revoked, its PIN is refused and
    no failure counted."""
    valid = enrol(client, admin_headers, ca="localca", genkey="1", pin="pin1")
    start = datetime.now(UTC) - timedelta(days=40)
    expired = enrol(client, admin_headers, pin="pin2",
                    certificate=pki.certificate("alice", start=start, days=10).cert_pem)  # fmt: skip
    revoked = enrol(client, admin_headers, ca="localca", genkey="1", pin="pin3")
    factories.ok_value(client.post(f"/token/revoke/{revoked['serial']}", headers=admin_headers))
    for detail, pin in ((valid, "pin1"), (expired, "pin2"), (revoked, "pin3")):
        for data in ({**USER, "pass": pin}, {"serial": detail["serial"], "pass": pin}):
            body = client.post("/validate/check", data=data).json()
            assert body["result"]["status"] is True and body["result"]["value"] is False, body
        assert factories.token_of(client, admin_headers, str(detail["serial"]))["failcount"] == 0


def _bad_enrolments() -> list[tuple[str, dict[str, str]]]:
    csr, _ = pki.request("alice")
    return [
        ("broken request PEM", {"ca": "localca", "request": "-----BEGIN CERTIFICATE REQUEST-----"
                                "\nAAAA\n-----END CERTIFICATE REQUEST-----"}),
        ("request not base64", {"ca": "localca", "request": "<<not a request>>"}),
        ("wrong request signature", {"ca": "localca", "request": pki.tampered_request()}),
        ("unknown connector", {"ca": "nope", "request": csr}),
        ("unknown connector, genkey", {"ca": "nope", "genkey": "1"}),
        ("no connector", {"request": csr}),
        ("nothing to enrol", {"ca": "localca"}),
        ("unknown template", {"ca": "localca", "request": csr, "template": "nope"}),
        ("broken certificate", {"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
                                "CERTIFICATE-----"}),
        ("unknown subject component", {"ca": "localca", "genkey": "1",
                                       "subject_components": "phone"}),
        ("key too large", {"ca": "localca", "genkey": "1", "keysize": "8192"}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("why", "params"), _bad_enrolments(), ids=[b[0] for b in _bad_enrolments()]
)
def test_bad_enrolment_input_is_refused_and_stores_nothing(
    ca: x509.Certificate,
    client: TestClient,
    admin_headers: H,
    services: Services,
    why: str,
    params: dict[str, str],
) -> None:
    crl_before = pki.crl(client, admin_headers)
    data = {"type": "certificate", **USER, **params}
    body = assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert body["result"]["error"]["message"]
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []
    with services.sessions() as session:
        assert session.scalar(select(func.count(IssuedCertificate.id))) == 0
    assert pki.crl(client, admin_headers) == crl_before


def test_genkey_needs_a_user(ca: x509.Certificate, client: TestClient, admin_headers: H) -> None:
    data = {"type": "certificate", "ca": "localca", "genkey": "1"}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []


def test_a_user_enrols_a_request_for_themselves(ca: x509.Certificate, client: TestClient) -> None:
    csr, _ = pki.request("alice")
    headers = user_headers(client, "alice")
    detail = factories.enrol(client, headers, "certificate", ca="localca", request=csr)
    issued(detail).verify_directly_issued_by(ca)


def test_the_type_offers_the_connectors(
    ca: x509.Certificate, client: TestClient, admin_headers: H
) -> None:
    described = factories.ok_value(client.get("/token/types/certificate", headers=admin_headers))
    options = described["certificate"]["options"]
    assert options["ca"]["value"] == ["localca"]
    assert {"request", "genkey", "certificate", "template"} <= set(options)
    assert "pin" not in options  # the token PIN every type asks for


def test_a_reenrolled_serial_keeps_nothing_of_its_earlier_certificate(
    ca: x509.Certificate, client: TestClient, admin_headers: H
) -> None:
    first = enrol(client, admin_headers, ca="localca", genkey="1")
    serial = str(first["serial"])
    mine = pki.certificate("alice")
    again = enrol(client, admin_headers, serial=serial, certificate=mine.cert_pem)
    assert again["serial"] == serial and issued(again) == mine.cert
    info = factories.token_of(client, admin_headers, serial)["info"]
    assert "CA" not in info
    # Revoking it revokes nothing at the CA: the uploaded certificate is not the CA's.
    factories.ok_value(client.post(f"/token/revoke/{serial}", headers=admin_headers))
    assert list(pki.crl(client, admin_headers)) == []
