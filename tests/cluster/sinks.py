"""The soak's local receivers: an SMTP server and a webhook receiver that note when each
message arrived and by which idempotency key (Message-ID, ``webhook-id``), so that
duplicates can be counted and dated."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.notify.servers import Recorder, SmtpServer


@dataclass(frozen=True)
class Arrival:
    key: str
    serial: str
    at: float


class MailSink(Recorder):
    """aiosmtpd handler keeping (Message-ID, the serial in the subject, time)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[Arrival] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        with self.lock:
            message = self.messages[-1].message
            serial = str(message["Subject"] or "").rsplit(" ", 1)[-1]
            self.arrivals.append(Arrival(str(message["Message-ID"]), serial, time.monotonic()))
        return answer


class WebhookSink:
    """Answers 200 to every POST and keeps (webhook-id, the body's serial, time)."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b"{}"
                try:
                    serial = str(json.loads(body).get("serial", ""))
                except ValueError:
                    serial = ""
                with sink.lock:
                    sink.arrivals.append(
                        Arrival(self.headers.get("webhook-id", ""), serial, time.monotonic())
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def duplicates(arrivals: list[Arrival]) -> list[Arrival]:
    """The second and later arrivals of each key."""
    seen: Counter[str] = Counter()
    extra = []
    for arrival in sorted(arrivals, key=lambda a: a.at):
        seen[arrival.key] += 1
        if seen[arrival.key] > 1:
            extra.append(arrival)
    return extra


__all__ = ["Arrival", "MailSink", "SmtpServer", "WebhookSink", "duplicates"]
