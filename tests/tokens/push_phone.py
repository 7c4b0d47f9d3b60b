"""A simulated privacyIDEA Authenticator: the smartphone side of the push token with
real RSA cryptography (``cryptography``), talking to the server over HTTP only.

It scans the enrolment URL, registers its key at ``POST /ttype/push``, polls
``GET /ttype/push`` and checks the server's signature of every challenge before it
answers one, as the app does.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.testclient import TestClient

#: The phone's key; 2048 bits, as the app makes it (the server's is 4096).
PHONE_KEY_BITS = 2048
#: Enrolment parameters of a poll-only push token (the push_* enrollment policies
#: force the same names).
PUSH_ENROLMENT = {
    "push_registration_url": "https://factorflow.example/ttype/push",
    "push_firebase_configuration": "poll only",
}
_IMPOSTOR: list[rsa.RSAPrivateKey] = []


def impostor_key() -> rsa.RSAPrivateKey:
    """A key that is not the phone's (made once)."""
    if not _IMPOSTOR:
        _IMPOSTOR.append(rsa.generate_private_key(65537, PHONE_KEY_BITS))
    return _IMPOSTOR[0]


MESSAGE_FIELDS = ("nonce", "url", "serial", "question", "title", "sslverify")


def b32sign(key: rsa.RSAPrivateKey, text: str) -> str:
    raw = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b32encode(raw).decode()


def spki_b64(key: rsa.RSAPublicKey) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


@dataclass
class Phone:
    client: TestClient
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(65537, PHONE_KEY_BITS)
    )
    serial: str = ""
    credential: str = ""
    url: dict[str, str] = field(default_factory=dict)
    server_key: rsa.RSAPublicKey | None = None

    def state(self) -> dict[str, str]:
        """What a test keeps of the phone between requests (JSON: the enrolment
        detail carries it)."""
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        assert self.server_key is not None
        return {"serial": self.serial, "key": pem.decode(), "server": spki_b64(self.server_key)}

    @classmethod
    def restore(cls, client: TestClient, state: dict[str, str]) -> Phone:
        key = serialization.load_pem_private_key(state["key"].encode(), password=None)
        server = serialization.load_der_public_key(base64.b64decode(state["server"]))
        assert isinstance(key, rsa.RSAPrivateKey) and isinstance(server, rsa.RSAPublicKey)
        return cls(client, key, serial=state["serial"], server_key=server)

    def scan(self, detail: dict[str, Any]) -> dict[str, str]:
        """Read the ``otpauth://pipush/`` URL of a first enrolment step."""
        split = urlsplit(detail["pushurl"]["value"])
        assert (split.scheme, split.netloc) == ("otpauth", "pipush"), split
        self.url = {k: v[0] for k, v in parse_qs(split.query).items()}
        self.serial, self.credential = self.url["serial"], self.url["enrollment_credential"]
        return self.url

    def register(self, detail: dict[str, Any], **overrides: str) -> Any:
        """The second enrolment step; the raw response."""
        self.scan(detail)
        data = {
            "enrollment_credential": self.credential,
            "serial": self.serial,
            "pubkey": spki_b64(self.key.public_key()),
            "fbtoken": "fcm-registration-token-of-the-phone",
            **overrides,
        }
        response = self.client.post("/ttype/push", data=data)
        if response.status_code == 200 and response.json()["result"]["value"] is True:
            der = base64.b64decode(response.json()["detail"]["public_key"])
            server_key = serialization.load_der_public_key(der)
            assert isinstance(server_key, rsa.RSAPublicKey)
            self.server_key = server_key
        return response

    def poll(self, *, shift: timedelta = timedelta(0), signature: str | None = None) -> Any:
        """``GET /ttype/push``; the raw response. ``shift`` moves the phone's clock."""
        timestamp = (datetime.now(UTC) + shift).isoformat()
        signed = signature or b32sign(self.key, f"{self.serial}|{timestamp}")
        params = {"serial": self.serial, "timestamp": timestamp, "signature": signed}
        return self.client.get("/ttype/push", params=params)

    def challenges(self) -> list[dict[str, str]]:
        """The open challenges, each checked against the server's signature."""
        response = self.poll()
        assert response.status_code == 200, response.text
        messages: list[dict[str, str]] = response.json()["result"]["value"]
        for message in messages:
            self.verify_server(message)
        return messages

    def verify_server(self, message: dict[str, str]) -> None:
        assert self.server_key is not None
        signed = "|".join(message[name] for name in MESSAGE_FIELDS)
        raw = base64.b32decode(message["signature"])
        self.server_key.verify(raw, signed.encode(), padding.PKCS1v15(), hashes.SHA256())

    def respond_data(
        self, nonce: str, *, decline: bool = False, key: rsa.RSAPrivateKey | None = None
    ) -> dict[str, str]:
        """The answer to the challenge ``nonce``, signed."""
        text = f"{nonce}|{self.serial}|decline" if decline else f"{nonce}|{self.serial}"
        data = {"nonce": nonce, "serial": self.serial, "signature": b32sign(key or self.key, text)}
        if decline:
            data["decline"] = "1"
        return data

    def respond(
        self, nonce: str, *, decline: bool = False, key: rsa.RSAPrivateKey | None = None
    ) -> Any:
        """Accept (or decline) the challenge ``nonce``; the raw response."""
        return self.client.post(
            "/ttype/push", data=self.respond_data(nonce, decline=decline, key=key)
        )

    def accept_all(self, *, decline: bool = False) -> int:
        """Answer every open challenge; how many the server took."""
        taken = 0
        for message in self.challenges():
            response = self.respond(message["nonce"], decline=decline)
            assert response.status_code == 200, response.text
            taken += response.json()["result"]["value"] is True
        return taken
