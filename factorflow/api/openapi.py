"""OpenAPI descriptions generated from the routes' parameter models.

privacyIDEA endpoints accept the same parameters as query string, form or JSON;
the schema says so, so that clients and fuzzers (schemathesis) see every parameter.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from factorflow.api.routing import RouteSpec

_PATH_VAR = re.compile(r"{([^}]+)}")

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["jsonrpc", "result", "version", "time"],
    "properties": {
        "jsonrpc": {"type": "string"},
        "id": {"type": "integer"},
        "result": {"type": "object", "required": ["status"]},
        "detail": {},
        "version": {"type": "string"},
        "versionnumber": {"type": "string"},
        "time": {"type": "number"},
    },
}


def _inline(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Resolve local $refs so the parameter schemas stand alone."""
    if "$ref" in schema:
        return _inline(defs[schema["$ref"].split("/")[-1]], defs)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if isinstance(value, dict):
            out[key] = _inline(value, defs)
        elif isinstance(value, list):
            out[key] = [_inline(v, defs) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


_SCHEMAS: dict[type[BaseModel], dict[str, Any]] = {}


def _params_schema(model: type[BaseModel]) -> dict[str, Any]:
    # Generated once per model: every app built in the process (each worker, each
    # test) mounts the same routes. Callers get copies (``_inline`` builds new dicts).
    schema = _SCHEMAS.get(model)
    if schema is None:
        schema = _SCHEMAS[model] = model.model_json_schema(by_alias=True)
    return schema


def operation_extra(spec: RouteSpec, path: str, method: str) -> dict[str, Any]:
    generated = _params_schema(spec.endpoint.params)
    defs = generated.get("$defs", {})
    model_schema = _inline({k: v for k, v in generated.items() if k != "$defs"}, defs)
    path_vars = set(_PATH_VAR.findall(path))
    properties: dict[str, Any] = {
        k: v for k, v in model_schema.get("properties", {}).items() if k not in path_vars
    }
    required = [r for r in model_schema.get("required", []) if r not in path_vars]
    parameters: list[dict[str, Any]] = [
        {"name": var, "in": "path", "required": True, "schema": {"type": "string"}}
        for var in sorted(path_vars)
    ]
    extra: dict[str, Any] = {
        "responses": {
            "200": {
                "description": "privacyIDEA envelope",
                "content": {"application/json": {"schema": ENVELOPE_SCHEMA}},
            },
            "400": {"description": "Bad request (envelope with result.error)"},
            "401": {"description": "Authentication required or failed"},
            "403": {"description": "Not allowed"},
            "404": {"description": "Not found"},
        }
    }
    if method in ("GET", "DELETE"):
        for name, schema in properties.items():
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": schema}
            )
    else:
        body_schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            body_schema["required"] = required
        extra["requestBody"] = {
            "required": bool(required),
            "content": {
                "application/json": {"schema": body_schema},
                "application/x-www-form-urlencoded": {"schema": body_schema},
            },
        }
    if parameters:
        extra["parameters"] = parameters
    return extra
