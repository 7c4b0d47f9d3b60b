"""Real receivers for the notification tests: an SMTP server (aiosmtpd) and an HTTP
SMS gateway (threaded http.server), both on free loopback ports."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.http_recorder import RecordedRequest, RecordingHttpServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1 and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Recorder:
    """aiosmtpd handler: keeps every accepted message. ``stall_seconds`` makes DATA
    hang (then answer 451 without keeping the message); ``delay_seconds`` slows
    every accepted message a little."""

    messages: list[Received] = field(default_factory=list)
    stall_seconds: float = 0.0
    delay_seconds: float = 0.0
    stalled: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.stall_seconds:
            self.stalled.set()
            await asyncio.sleep(self.stall_seconds)
            return "451 4.3.0 Stalled, try again later"
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 OK"

    def message_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(m.message_id for m in self.messages)


def credentials_check(username: str, password: str) -> Any:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == username
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)

    return authenticate


class SmtpServer:
    """An aiosmtpd server that can be stopped and started again on the same port."""

    def __init__(self, recorder: Recorder, port: int | None = None, **options: Any) -> None:
        self.recorder = recorder
        self.port = port or free_port()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.recorder, hostname="127.0.0.1", port=self.port, **self.options
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


#: What the gateway received (the notification tests' name for it).
GatewayRequest = RecordedRequest


class SmsGatewayServer(RecordingHttpServer):
    """A local HTTP SMS gateway that records requests and answers ``status``/``body``."""

    def __init__(self) -> None:
        super().__init__(path="/send", body="OK queued")
