"""privacyIDEA's JSON envelope: the one place where replies become wire JSON."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from factorflow import __version__
from factorflow.core.invocation import Reply

API_VERSION = "3.14"


def envelope(reply: Reply, *, nonce: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1}
    if reply.error is not None:
        body["result"] = {
            "status": False,
            "error": {"code": reply.error.code, "message": reply.error.message},
        }
        body["detail"] = reply.error.detail
    else:
        assert reply.outcome is not None
        outcome = reply.outcome
        result: dict[str, Any] = {"status": True, "value": outcome.value}
        if outcome.authentication is not None:
            body["id"] = 2
            result["authentication"] = outcome.authentication
        body["result"] = result
        if outcome.detail:
            body["detail"] = {**outcome.detail, "threadid": threading.get_ident()}
        if outcome.auth_items is not None:
            body["auth_items"] = outcome.auth_items
    body["version"] = f"Factorflow {__version__}"
    if reply.error is None:  # privacyIDEA's error envelopes have no versionnumber
        body["versionnumber"] = API_VERSION
    body["time"] = time.time()
    if nonce:
        body["nonce"] = nonce
    return body


def render(reply: Reply, *, nonce: str | None = None) -> bytes:
    return json.dumps(envelope(reply, nonce=nonce), default=str, separators=(",", ":")).encode()
