"""Merging request parameters the way privacyIDEA does.

Query string and form values (urlencoded or multipart) come first, a JSON body
overrides them, path variables override everything. Query and form values are
URL-decoded once more, as privacyIDEA does, unless the client's User-Agent is
exempt. Malformed input becomes a ParameterError, never a 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.datastructures import UploadFile
from starlette.requests import Request

from factorflow.core.untrusted import json_loads
from factorflow.errors import ParameterError, PayloadTooLargeError

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLargeError(f"Request body larger than {limit} bytes")
        except ValueError:
            raise ParameterError("Invalid Content-Length header") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"Request body larger than {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    # Starlette replays a cached body to later readers such as request.form().
    request._body = body
    return body


def _decode(value: str, decode_again: bool) -> str:
    return unquote(value) if decode_again and "%" in value else value


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParameterError(f"The {what} is not valid UTF-8") from None


async def merged_params(
    request: Request, body: bytes, *, exempt_agents: list[str]
) -> dict[str, Any]:
    agent = request.headers.get("user-agent", "")
    decode_again = not any(agent.startswith(prefix) for prefix in exempt_agents)
    params: dict[str, Any] = {}
    query = _text(request.scope.get("query_string", b""), "query string")
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = _decode(value, decode_again)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body:
        if content_type == "application/json" or content_type.endswith("+json"):
            params.update(_json_object(body))
        elif content_type == FORM_TYPES[0]:
            for key, value in parse_qsl(_text(body, "form body"), keep_blank_values=True):
                params[key] = _decode(value, decode_again)
        elif content_type == FORM_TYPES[1]:
            params.update(await _multipart(request, decode_again))
        else:
            raise ParameterError(
                f"Unsupported content type {content_type or '(none)'!r}: send JSON or a form"
            )
    for key, value in request.path_params.items():
        params[key] = value
    for key, value in params.items():
        if _holds_nul(key) or _holds_nul(value):
            raise ParameterError(f"Parameter {key[:40]!r} contains a NUL character")
    return params


def _holds_nul(value: object) -> bool:
    """Whether a NUL is in ``value`` or anywhere inside it (the JSON body may nest
    lists and objects; PostgreSQL refuses NUL in text, so it must not get that far)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


def _json_object(body: bytes) -> dict[str, Any]:
    data = json_loads(_text(body, "JSON body"), "JSON body")
    if not isinstance(data, dict):
        raise ParameterError("The JSON body must be an object")
    return data


async def _multipart(request: Request, decode_again: bool) -> dict[str, Any]:
    try:
        form = await request.form()
    except Exception as exc:  # python-multipart raises several unrelated types
        raise ParameterError(f"The multipart body does not parse: {type(exc).__name__}") from None
    params: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read()
            params[key] = _text(content, f"uploaded file {key!r}")
        else:
            params[key] = _decode(value, decode_again)
    return params
