"""A local HTTP server that records every request and answers with a canned status and
body: the SMS gateway of the notification tests and the misbehaving remote of the
federation tests."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    json: Any
    headers: dict[str, str]


class RecordingHttpServer:
    """Records requests to ``url`` (``http://127.0.0.1:<port><path>``) and answers
    ``status`` / ``body`` with ``content_type`` after ``delay`` seconds."""

    def __init__(self, *, path: str = "", body: str = "", content_type: str = "") -> None:
        self.requests: list[RecordedRequest] = []
        self.status = 200
        self.body = body
        self.content_type = content_type
        self.delay = 0.0
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                split = urlsplit(self.path)
                is_json = "json" in (self.headers.get("Content-Type") or "")
                recorder.requests.append(
                    RecordedRequest(
                        method=self.command,
                        path=split.path,
                        query={k: v[0] for k, v in parse_qs(split.query).items()},
                        form={}
                        if is_json
                        else {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()},
                        json=json.loads(raw) if is_json and raw else None,
                        headers={k.lower(): v for k, v in self.headers.items()},
                    )
                )
                if recorder.delay:
                    time.sleep(recorder.delay)
                payload = recorder.body.encode()
                try:
                    self.send_response(recorder.status)
                    if recorder.content_type:
                        self.send_header("Content-Type", recorder.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up waiting

            do_GET = _handle
            do_POST = _handle
            do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
