"""A software WebAuthn authenticator and client for the protocol tests: real
cryptography (an EC P-256 key, ES256 signatures), CBOR attestation objects (``none``
and ``packed`` self attestation, W3C WebAuthn Level 3 §8.2 and §8.7), authenticator
data with its flags and signature counter (§6.1) and the client data JSON (§5.8.1)
a browser would send. Nothing of Factorflow's own code is used here."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """One credential on one authenticator, bound to ``origin``'s relying party."""

    def __init__(self, origin: str = "https://mfa.example.com", *, counter: int = 0) -> None:
        self.origin = origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.aaguid = secrets.token_bytes(16)
        self.counter = counter
        self.user_handle = b""

    @property
    def credential(self) -> str:
        return b64url(self.credential_id)

    def cose_key(self) -> bytes:
        """The public key as a COSE_Key (RFC 9053: EC2, ES256, P-256)."""
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({
            1: 2, 3: -7, -1: 1,
            -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big"),
        })  # fmt: skip

    def auth_data(self, rp_id: str, flags: int, *, attested: bool = False) -> bytes:
        data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
        data += self.counter.to_bytes(4, "big")
        if attested:
            cid = self.credential_id
            data += self.aaguid + len(cid).to_bytes(2, "big") + cid + self.cose_key()
        return data

    def client_data(self, kind: str, challenge: bytes, origin: str | None = None) -> bytes:
        return json.dumps({
            "type": kind, "challenge": b64url(challenge),
            "origin": origin or self.origin, "crossOrigin": False,
        }).encode()  # fmt: skip

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def register(
        self,
        challenge: bytes,
        rp_id: str,
        *,
        fmt: str = "none",
        origin: str | None = None,
        user_handle: bytes = b"",
    ) -> dict[str, str]:
        """``navigator.credentials.create()``: clientDataJSON and attestationObject."""
        self.user_handle = user_handle
        client_data = self.client_data("webauthn.create", challenge, origin)
        auth = self.auth_data(rp_id, UP | UV | AT, attested=True)
        statement: dict[str, Any] = {}
        if fmt == "packed":  # self attestation: signed with the credential key
            signed = auth + hashlib.sha256(client_data).digest()
            statement = {"alg": -7, "sig": self.sign(signed)}
        attestation = cbor2.dumps({"fmt": fmt, "attStmt": statement, "authData": auth})
        return {
            "clientdata": b64url(client_data),
            "regdata": b64url(attestation),
            "credential_id": self.credential,
        }

    def assert_(
        self,
        challenge: bytes,
        rp_id: str,
        *,
        origin: str | None = None,
        counter: int | None = None,
        kind: str = "webauthn.get",
    ) -> dict[str, str]:
        """``navigator.credentials.get()``: the assertion in privacyIDEA's names. The
        signature counter goes up by one unless ``counter`` is given."""
        self.counter = self.counter + 1 if counter is None else counter
        client_data = self.client_data(kind, challenge, origin)
        auth = self.auth_data(rp_id, UP | UV)
        signature = self.sign(auth + hashlib.sha256(client_data).digest())
        return {
            "credentialid": self.credential,
            "clientdata": b64url(client_data),
            "signaturedata": b64url(signature),
            "authenticatordata": b64url(auth),
            "userhandle": b64url(self.user_handle),
        }


def passkey_spelling(answer: dict[str, str]) -> dict[str, str]:
    """The same assertion in the WebAuthn spellings privacyIDEA's passkey clients use."""
    return {
        "credential_id": answer["credentialid"],
        "clientDataJSON": answer["clientdata"],
        "signature": answer["signaturedata"],
        "authenticatorData": answer["authenticatordata"],
        "userHandle": answer["userhandle"],
    }
