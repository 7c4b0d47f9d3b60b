"""A local stand-in of a Yubico validation server (protocol 2.0), for the ``yubico``
token's tests: YubiCloud cannot be reached from here. It does what the real one does
with the values it is sent — checks the request's HMAC-SHA1 signature with the
client's API key, decrypts the Yubico OTP with the key's AES key (CRC, private id),
refuses counters that do not increase (REPLAYED_OTP) — and signs its answer.
``tamper`` makes it answer wrongly on purpose (a bad signature, another nonce or OTP)."""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from factorflow.tokens.types.yubico import signature
from factorflow.tokens.types.yubikey import CRC_RESIDUE, aes_ecb, crc16, modhex_decode


@dataclass
class StandIn:
    #: API client id -> API key.
    clients: dict[str, bytes] = field(default_factory=dict)
    #: public id -> (AES key, private id).
    keys: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    last_counter: dict[str, int] = field(default_factory=dict)
    tamper: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)

    def status(self, params: dict[str, str]) -> str:
        key = self.clients.get(params.get("id", ""))
        if key is None:
            return "NO_SUCH_CLIENT"
        if params.get("h") != signature(params, key):
            return "BAD_SIGNATURE"
        otp = params.get("otp", "")
        public_id, block = otp[:-32], modhex_decode(otp[-32:])
        if public_id not in self.keys or block is None or len(otp) < 32:
            return "BAD_OTP"
        aes_key, private_id = self.keys[public_id]
        plain = aes_ecb(aes_key, block, decrypt=True)
        if crc16(plain) != CRC_RESIDUE or plain[:6] != private_id:
            return "BAD_OTP"
        counter = int.from_bytes(plain[6:8], "little") << 8 | plain[11]
        if counter <= self.last_counter.get(public_id, -1):
            return "REPLAYED_OTP"
        self.last_counter[public_id] = counter
        return "OK"

    def answer(self, params: dict[str, str]) -> str:
        self.requests.append(params)
        answer = {
            "t": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ0000"),
            "otp": params.get("otp", ""),
            "nonce": params.get("nonce", ""),
            "sl": "100",
            "status": self.status(params),
        }
        if self.tamper == "nonce":
            answer["nonce"] = "0" * 32
        if self.tamper == "otp":
            answer["otp"] = "c" * 44
        key = self.clients.get(params.get("id", ""), b"unknown")
        answer["h"] = signature(answer, b"another key" if self.tamper == "signature" else key)
        return "".join(f"{k}={v}\r\n" for k, v in answer.items()) + "\r\n"


def serve(stand_in: StandIn) -> tuple[ThreadingHTTPServer, str]:
    """Start the stand-in on a free local port; (server, its verify URL)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            params = dict(parse_qsl(urlsplit(self.path).query))
            body = stand_in.answer(params).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/wsapi/2.0/verify"


def api_key_b64(key: bytes) -> str:
    return base64.b64encode(key).decode()
