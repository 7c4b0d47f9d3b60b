"""Checks every package applies to what callers send: names of configuration objects,
http(s) URLs, and one clear message for a model's refusal.

A configuration object's name (a realm, a resolver, an SMTP server, an SMS gateway, a
remote server) is 1 to 120 letters, digits, ``_``, ``.`` or ``-``: it appears in URLs,
audit entries and log lines, so nothing else is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from factorflow.errors import ParameterError

if TYPE_CHECKING:
    import httpx

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,120}$")


def check_identifier(value: str, field: str = "identifier") -> str:
    """``value`` if it is a valid name; a ParameterError naming the parameter otherwise."""
    if not NAME_PATTERN.match(value):
        raise ParameterError(
            f"Invalid parameter {field!r}: use 1 to 120 letters, digits, '_', '.' or '-'"
        )
    return value


def check_name(kind: str, name: str) -> str:
    """``name`` if it is a valid name for a ``kind`` (realm, resolver); ParameterError
    naming the kind otherwise."""
    if not NAME_PATTERN.match(name):
        raise ParameterError(
            f"Invalid {kind} name {name[:130]!r}: use 1-120 letters, digits, '_', '-' or '.'"
        )
    return name


def http_url(value: str) -> httpx.URL:
    """``value`` as an http(s) URL with a host; ValueError (a pydantic field error)
    otherwise."""
    import httpx  # here: configuration checks are rare, and httpx is large (memory)

    try:
        url = httpx.URL(value.strip())
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"not a URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("use an http:// or https:// URL with a host")
    return url


def validation_error(exc: ValidationError) -> ParameterError:
    """Turn pydantic's report into one clear message naming the first bad parameter."""
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "request"
    if first["type"] == "missing":
        return ParameterError(f"Missing parameter: {name!r}")
    return ParameterError(f"Invalid parameter {name!r}: {first['msg']}")


def validated(model: type[BaseModel], data: Mapping[str, Any], names: Mapping[str, str]) -> Any:
    """Validate ``data`` with ``model``; a refusal names the first bad field by its
    API name (``names`` maps model fields to API names)."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "request"
        name = names.get(field, field)
        if first["type"] == "missing":
            raise ParameterError(f"Missing parameter: {name!r}") from None
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ParameterError(f"Invalid parameter {name!r}: {message}") from None
