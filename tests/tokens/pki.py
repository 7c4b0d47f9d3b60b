"""Keys, requests and certificates the certificate tests make themselves, with
``cryptography`` as a client or another CA would (not with Factorflow's CA code)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.testclient import TestClient

from tests import factories

H = dict[str, str]


@dataclass(frozen=True)
class Pair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(
    subject: str,
    *,
    issuer: Pair | None = None,
    ca: bool = False,
    days: int = 30,
    start: datetime | None = None,
) -> Pair:
    """A certificate for a new P-256 key, self-signed unless ``issuer`` signs it."""
    key = ec.generate_private_key(ec.SECP256R1())
    begin = start or datetime.now(UTC) - timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(issuer.cert.subject if issuer else name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(begin)
        .not_valid_after(begin + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Pair(cert, key)


def request(
    common_name: str = "alice", *, email: str = ""
) -> tuple[str, ec.EllipticCurvePrivateKey]:
    """A PKCS#10 request (PEM) for a new key, with an rfc822Name when ``email``."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(name(common_name))
    if email:
        alt = x509.SubjectAlternativeName([x509.RFC822Name(email)])
        builder = builder.add_extension(alt, critical=False)
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key


def tampered_request() -> str:
    """A request whose signature does not verify: its subject changed after signing."""
    pem, _ = request("alice")
    der = x509.load_pem_x509_csr(pem.encode()).public_bytes(serialization.Encoding.DER)
    broken = der.replace(b"alice", b"mally")
    assert broken != der
    return x509.load_der_x509_csr(broken).public_bytes(serialization.Encoding.PEM).decode()


def add_local_ca(client: TestClient, headers: H, connector: str = "localca", **options: str) -> int:
    """``POST /caconnector/<connector>`` with ``type=local``; the connector's id."""
    response = client.post(
        f"/caconnector/{connector}", data={"type": "local", **options}, headers=headers
    )
    value: int = factories.ok_value(response)
    return value


def connector(client: TestClient, headers: H, connector: str = "localca") -> dict[str, object]:
    listed = factories.ok_value(client.get(f"/caconnector/{connector}", headers=headers))
    assert isinstance(listed, list) and len(listed) == 1, listed
    found: dict[str, object] = listed[0]
    return found


def ca_certificate(
    client: TestClient, headers: H, connector_name: str = "localca"
) -> x509.Certificate:
    data = connector(client, headers, connector_name)["data"]
    assert isinstance(data, dict)
    return x509.load_pem_x509_certificate(str(data["cacert"]).encode())


def crl(
    client: TestClient, headers: H, connector_name: str = "localca"
) -> x509.CertificateRevocationList:
    value = factories.ok_value(client.get(f"/caconnector/{connector_name}/crl", headers=headers))
    return x509.load_pem_x509_crl(str(value["crl"]).encode())
