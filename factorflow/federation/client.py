"""Asking a remote privacyIDEA-compatible server: one HTTP request, one JSON answer.

Parameters travel as privacyIDEA's Federation handler sends them: in the query
string for GET, as a form body otherwise. A value that is not a string is sent as
privacyIDEA's clients would type it (``True``/``False``, numbers as text, lists and
objects as JSON). Redirects are not followed. Error messages name the URL asked
(without a query string), never the parameters: they may carry a password.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from factorflow.federation.errors import RemoteAnswerError, RemoteUnreachableError

#: Methods the Federation handler forwards; privacyIDEA forwards GET, POST, DELETE.
FORWARDED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RemoteServerSettings:
    """What a request to a remote server needs: its base URL, whether to verify its
    TLS certificate, and how many seconds to wait for each network operation."""

    identifier: str
    url: str
    tls: bool
    timeout: float


@dataclass(frozen=True)
class RemoteAnswer:
    """The remote's answer: the URL asked (no query string), its HTTP status and
    its JSON envelope (a dict with a ``result`` object)."""

    url: str
    status: int
    body: dict[str, Any]


def join_url(base: str, path: str) -> str:
    """``https://mfa.example.org/pi`` + ``/validate/check``, with exactly one slash."""
    return f"{base.rstrip('/')}/{path.lstrip('/')}"


def wire_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"))


def ask(
    server: RemoteServerSettings,
    method: str,
    path: str,
    params: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> RemoteAnswer:
    """Send ``method path`` with ``params`` to ``server``; raise
    :class:`RemoteUnreachableError` when there is no answer and
    :class:`RemoteAnswerError` when the answer is not privacyIDEA's JSON envelope.
    Any HTTP status with an envelope is an answer (the remote's own errors pass)."""
    url = join_url(server.url, path)
    fields = {str(name): wire_value(value) for name, value in params.items()}
    query = fields if method == "GET" else None
    form = None if method == "GET" else fields
    import httpx  # here, not at the top: a worker that never sends carries no HTTP client (memory)

    try:
        with httpx.Client(
            verify=server.tls, timeout=server.timeout, follow_redirects=False
        ) as client:
            response = client.request(
                method,
                url,
                params=query,
                data=form,
                headers={"Accept": "application/json", **(headers or {})},
            )
    except httpx.TimeoutException:
        raise RemoteUnreachableError(
            f"The privacyIDEA server {url} did not answer within {server.timeout:g} seconds."
        ) from None
    except httpx.HTTPError as exc:
        reason = str(exc)[:200] or type(exc).__name__
        raise RemoteUnreachableError(
            f"The privacyIDEA server {url} cannot be reached: {reason}"
        ) from None
    try:
        body = response.json()
    except ValueError:
        raise RemoteAnswerError(
            f"The privacyIDEA server {url} answered HTTP {response.status_code} without JSON."
        ) from None
    if not isinstance(body, dict) or not isinstance(body.get("result"), dict):
        raise RemoteAnswerError(
            f"The privacyIDEA server {url} answered HTTP {response.status_code} with JSON "
            "that is not privacyIDEA's response envelope."
        )
    return RemoteAnswer(url=url, status=response.status_code, body=body)
