"""A local HTTP server that records what a forward sends and answers with a canned
body: for what the real remote does not show (headers, the ``client`` parameter)
and for remotes that misbehave (HTML, slow)."""

from __future__ import annotations

import json

from tests.http_recorder import RecordingHttpServer

ACCEPT = {
    "jsonrpc": "2.0",
    "id": 2,
    "result": {"status": True, "value": True, "authentication": "ACCEPT"},
    "detail": {"message": "matching 1 tokens", "serial": "REMOTE1"},
    "version": "privacyIDEA 3.14",
}


class RecordingRemote(RecordingHttpServer):
    def __init__(self) -> None:
        super().__init__(body=json.dumps(ACCEPT), content_type="application/json")
