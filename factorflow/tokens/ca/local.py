"""The local CA's cryptography: its key and certificate, signing, the CRL.

Built on ``cryptography`` (privacyIDEA's local CA calls ``openssl ca`` on files):

* a CA generated on creation is self-signed with ``basicConstraints`` CA:TRUE
  (critical) and ``keyUsage`` keyCertSign + cRLSign (RFC 5280 sections 4.2.1.9 and
  4.2.1.3); a CA given as PEM must be a CA certificate whose public key is the key's;
* issued certificates take the request's subject and subjectAltName, a random
  159-bit serial number (RFC 5280 section 4.1.2.2: positive, at most 20 octets;
  unpredictable, so no counter to share between servers), ``basicConstraints``
  CA:FALSE, the subject and authority key identifiers and the extended key usage of
  their template (``user``: clientAuth and emailProtection, ``server``: serverAuth);
* the CRL (RFC 5280 section 5) lists the revoked certificates that have not expired
  yet, with a ``cRLNumber`` that grows with every CRL.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from factorflow.tokens.ca.errors import CAError, CSRError

CAKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
#: The extended key usages a template's ``extensions`` names.
EXTENSIONS: dict[str, list[x509.ObjectIdentifier]] = {
    "user": [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION],
    "server": [ExtendedKeyUsageOID.SERVER_AUTH],
}
#: RFC 5280 section 5.3.1's reasons as privacyIDEA and openssl name them.
REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "CACompromise": x509.ReasonFlags.ca_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "certificateHold": x509.ReasonFlags.certificate_hold,
}
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
_BODY = re.compile(r"^[A-Za-z0-9+/=\s]+$")


def armored(text: str, label: str) -> bytes:
    """``text`` as PEM with ``label``: privacyIDEA's clients also send the base64 body
    alone, or with its line breaks lost."""
    text = text.strip()
    found = _PEM.search(text)
    if found is not None:
        label, body = found.group(1), found.group(2)
    elif _BODY.match(text):
        body = text
    else:
        raise ValueError("not PEM")
    body = re.sub(r"\s+", "", body)
    try:
        base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"
    ).encode()


def load_certificate(text: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(armored(text, "CERTIFICATE"))
    except ValueError:
        raise CAError("The certificate is not a PEM encoded X.509 certificate.") from None


def load_request(text: str) -> x509.CertificateSigningRequest:
    """A PKCS#10 request (RFC 2986) whose signature verifies with its own key."""
    try:
        csr = x509.load_pem_x509_csr(armored(text, "CERTIFICATE REQUEST"))
    except ValueError:
        raise CSRError("The request is not a PEM encoded certificate request.") from None
    try:
        valid = csr.is_signature_valid
    except UnsupportedAlgorithm:
        valid = False
    if not valid:
        raise CSRError("request has invalid signature.")
    return csr


def load_key(text: str) -> CAKey:
    try:
        key = serialization.load_pem_private_key(armored(text, "PRIVATE KEY"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CAError("The CA key is not an unencrypted PEM private key.") from None
    if not isinstance(
        key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise CAError("The CA key must be an RSA, EC or Ed25519 key.")
    return key


def key_pem(key: CAKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _digest(key: CAKey) -> hashes.SHA256 | None:
    # Ed25519 signs without a separate digest (RFC 8410).
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def parse_subject(text: str) -> x509.Name:
    """An RFC 4514 distinguished name (``CN=Factorflow CA,O=Example``)."""
    try:
        name = x509.Name.from_rfc4514_string(text)
    except ValueError:
        raise CAError(
            f"Invalid subject {text[:80]!r}: expected e.g. 'CN=My CA,O=Example'."
        ) from None
    if not list(name):
        raise CAError("The subject is empty.")
    return name


def generate_ca(subject: x509.Name, days: int, keytype: str, now: datetime) -> tuple[str, CAKey]:
    """A new self-signed CA certificate (PEM) and its key."""
    key: CAKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=3072)
        if keytype == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    return cert_pem(builder.sign(key, _digest(key))), key


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def check_ca(cert: x509.Certificate, key: CAKey) -> None:
    """A CA given as PEM: its key is the certificate's, and it may sign certificates."""
    if cert.public_key() != key.public_key():
        raise CAError("The CA key does not belong to the CA certificate.")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return  # a version 1 CA certificate: openssl signs with it, so do we
    if not constraints.ca:
        raise CAError("The CA certificate is not a CA certificate (basicConstraints CA:FALSE).")


@dataclass(frozen=True)
class Issue:
    """What to put into a new certificate."""

    subject: x509.Name
    public_key: PublicKey
    days: int
    extensions: str = "user"
    alt_names: x509.SubjectAlternativeName | None = None


def sign(ca: x509.Certificate, key: CAKey, issue: Issue, now: datetime) -> x509.Certificate:
    """A certificate for ``issue`` signed by the CA, valid ``issue.days`` from ``now``."""
    if not list(issue.subject):
        raise CSRError("The request has an empty subject.")
    end = min(now + timedelta(days=issue.days), ca.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(issue.subject)
        .issuer_name(ca.subject)
        .public_key(issue.public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(EXTENSIONS[issue.extensions]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(issue.public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
    )
    if issue.alt_names is not None:
        builder = builder.add_extension(issue.alt_names, critical=False)
    try:
        return builder.sign(key, _digest(key))
    except (ValueError, TypeError) as exc:
        raise CSRError(f"The request cannot be signed: {exc}") from None


def request_issue(csr: x509.CertificateSigningRequest, days: int, extensions: str) -> Issue:
    try:
        alt: x509.SubjectAlternativeName | None = csr.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
    except x509.ExtensionNotFound:
        alt = None
    except ValueError:  # extensions are parsed when first read: a malformed one
        raise CSRError("The request has malformed extensions.") from None
    public = csr.public_key()
    if not isinstance(public, PublicKey):
        raise CSRError("The request's key must be an RSA, EC or Ed25519 key.")
    return Issue(csr.subject, public, days, extensions, alt)


def user_subject(login: str, email: str, realm: str, components: list[str]) -> x509.Name:
    """privacyIDEA's subject of a generated key: CN=login, with ``email`` and ``realm``
    (as the organisational unit) when the subject components ask for them."""
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, login)]
    if "email" in components and email:
        parts.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    if "realm" in components and realm:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, realm))
    return x509.Name(parts)


@dataclass(frozen=True)
class Revoked:
    serial: int
    revoked_at: datetime
    reason: str = ""


def build_crl(
    ca: x509.Certificate,
    key: CAKey,
    revoked: list[Revoked],
    *,
    number: int,
    days: int,
    now: datetime,
) -> str:
    """The CRL (PEM) listing ``revoked``, valid until ``now`` + ``days``."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now)
        .next_update(now + timedelta(days=days))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
    )
    for item in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(item.serial)
        entry = entry.revocation_date(item.revoked_at)
        if item.reason in REASONS and item.reason != "unspecified":
            entry = entry.add_extension(x509.CRLReason(REASONS[item.reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(key, _digest(key))
    return crl.public_bytes(serialization.Encoding.PEM).decode()
