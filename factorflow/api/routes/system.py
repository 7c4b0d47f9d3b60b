"""``/system/``: privacyIDEA's system settings (those Factorflow has), the
configuration document and random key material.

Users may read the settings, as in privacyIDEA, but none is public: they see an
empty object (and null for a key). Keys Factorflow does not have are refused by
``setConfig`` (see ``factorflow/system/catalog.py``).
"""

from __future__ import annotations

import base64
import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.pipeline import Access

routes = Routes("system")


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


class KeyParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str = Field(min_length=1, max_length=255)


class RandomParams(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    length: int = Field(default=20, ge=1, le=1024, alias="len")
    encode: Literal["hex", "b64"] = "hex"


@routes.route("GET", "/system/", event="system_list", params=NoParams,
              access=Access.AUTHENTICATED)  # fmt: skip
def list_settings(call: Call[NoParams]) -> Outcome:
    """The system settings in force (privacyIDEA's names, string values)."""
    if not call.actor.is_admin:
        return Outcome(value={})
    return Outcome(value=call.services.system.effective(call.session))


@routes.route("GET", "/system/documentation", event="system_documentation", params=NoParams)
def documentation(call: Call[NoParams]) -> Outcome:
    """The configuration as a reStructuredText document (no secrets)."""
    text = call.services.system_documentation.render(call.session)
    return Outcome(
        value=None,
        raw_body=text.encode("utf-8"),
        raw_media_type="text/plain; charset=utf-8",
        raw_headers={"Content-Disposition": "attachment; filename=documentation.rst"},
    )


@routes.route("GET", "/system/random", event="system_random", params=RandomParams)
def random_key(call: Call[RandomParams]) -> Outcome:
    """``len`` random bytes (default 20, at most 1024), hex or base64 (``encode=b64``)."""
    data = secrets.token_bytes(call.params.length)
    call.audit.info = f"{call.params.length} bytes, {call.params.encode}"
    if call.params.encode == "b64":
        return Outcome(value=base64.b64encode(data).decode("ascii"))
    return Outcome(value=data.hex())


@routes.route("GET", "/system/nodes", event="system_nodes", params=NoParams)
def list_nodes(call: Call[NoParams]) -> Outcome:
    """The nodes known to the installation (privacyIDEA 3.10+): ``name`` and ``uuid``."""
    return Outcome(value=call.services.nodes.list(call.session))


@routes.route("GET", "/system/{key}", event="system_list", params=KeyParams,
              access=Access.AUTHENTICATED)  # fmt: skip
def get_setting(call: Call[KeyParams]) -> Outcome:
    """One setting's value in force; null for a key Factorflow does not have."""
    call.audit.info = call.params.key[:100]
    if not call.actor.is_admin:
        return Outcome(value=None)
    return Outcome(value=call.services.system.get(call.session, call.params.key))


@routes.route("POST", "/system/setConfig", event="system_write", params=NoParams)
def set_config(call: Call[NoParams]) -> Outcome:
    """Set settings from ``key=value`` pairs; answers ``insert``/``update`` per key."""
    changes = call.services.system.set_many(call.session, call.params.model_extra or {})
    pairs = call.params.model_extra or {}
    call.audit.info = ", ".join(f"{key}={pairs[key]}" for key in changes)[:500]
    return Outcome(value=changes)


@routes.route("DELETE", "/system/{key}", event="system_delete", params=KeyParams)
def delete_setting(call: Call[KeyParams]) -> Outcome:
    """Remove a stored setting, so that its default applies; false if none was stored."""
    call.audit.info = call.params.key[:100]
    return Outcome(value=call.services.system.delete(call.session, call.params.key))
