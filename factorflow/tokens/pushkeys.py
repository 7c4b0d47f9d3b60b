"""The RSA keys and signatures of the push token (privacyIDEA's ``pipush`` protocol).

Both sides hold an RSA key pair: the server's is made per token, its private key
sealed at rest like any token secret; the smartphone's public key arrives with the
registration. Keys travel as base64 of the DER SubjectPublicKeyInfo (RFC 5280
§4.1.2.7), the body of a PEM ``PUBLIC KEY`` block; the phone may send it
URL-safe. Signatures are RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2) over the
UTF-8 text, base32 encoded (RFC 4648 §6) — privacyIDEA's choice, as not every
Android supports PSS.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from factorflow.errors import ParameterError

#: privacyIDEA's server key size.
SERVER_KEY_BITS = 4096
#: A phone key shorter than this is refused (NIST SP 800-131A: RSA below 2048 bits).
MIN_PHONE_KEY_BITS = 2048


def new_private_key() -> bytes:
    """A new server key pair, as the PKCS#8 DER of its private key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=SERVER_KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _private(der: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_der_private_key(der, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def public_text(private_der: bytes) -> str:
    """The public half of ``private_der`` as one line of base64 (SubjectPublicKeyInfo)."""
    public = _private(private_der).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def load_public(text: str) -> rsa.RSAPublicKey:
    """The phone's RSA key from base64 (standard or URL-safe, PEM armour optional).
    Raises ParameterError for anything else: a phone that sends garbage gets a 400."""
    body = text.strip()
    if body.startswith("-----BEGIN"):
        body = "".join(body.splitlines()[1:-1])
    body = "".join(body.split()).replace("-", "+").replace("_", "/")
    body += "=" * (-len(body) % 4)
    try:
        key = serialization.load_der_public_key(base64.b64decode(body, validate=True))
    except (ValueError, binascii.Error, TypeError):
        raise ParameterError("Invalid public key: not a base64 RSA SubjectPublicKeyInfo") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ParameterError("Invalid public key: not an RSA key")
    if key.key_size < MIN_PHONE_KEY_BITS:
        raise ParameterError(f"Invalid public key: shorter than {MIN_PHONE_KEY_BITS} bits")
    return key


def sign(private_der: bytes, text: str) -> str:
    """The base32 PKCS#1 v1.5 SHA-256 signature of ``text`` by the server key."""
    raw = _private(private_der).sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b32encode(raw).decode()


def decode_signature(value: str) -> bytes:
    """The raw bytes of a base32 signature; ParameterError when it is not base32."""
    text = value.strip().upper()
    text += "=" * (-len(text) % 8)
    try:
        return base64.b32decode(text)
    except (binascii.Error, ValueError):
        raise ParameterError("Invalid signature: not base32") from None


def verifies(public_text_value: str, signature: bytes, text: str) -> bool:
    """Whether ``signature`` is the phone's signature of ``text``."""
    try:
        load_public(public_text_value).verify(
            signature, text.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ParameterError):
        return False
    return True
