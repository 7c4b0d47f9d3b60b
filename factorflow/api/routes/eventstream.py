"""/eventstream: named event streams, every event as a CloudEvent to a broker
(Factorflow; admins only).

``POST /eventstream/<identifier>`` takes ``kind`` (``nats``, ``amqp``, ``redis``,
``mqtt``), the kind's broker options (``GET /eventstream/options``), and what to
publish: ``events`` (comma-separated; empty: every event), ``conditions`` (a JSON
object of definition conditions; empty: no filter), ``condition_expression``,
``unknown_is_match``, ``active``, ``description``. Secret options (``password``,
``token``) come back as ``__CENSORED__``; sending ``__CENSORED__`` keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.describe import describe_options
from factorflow.core.invocation import Outcome
from factorflow.core.params import is_true, split_list
from factorflow.errors import ParameterError
from factorflow.events.streams import transfer
from factorflow.pipeline import Access

routes = Routes("eventstream")

#: Not stream fields: the path parameter and the envelope's echo (privacyIDEA's nonce).
_NOT_FIELDS = frozenset({"identifier", "nonce"})


class ListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(default="", max_length=120)


class IdentifierParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(min_length=1, max_length=120)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


def _fields(params: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in (params.model_extra or {}).items() if k not in _NOT_FIELDS}


# Before GET /eventstream/{identifier}: streams named "options" or "export" are read with
# ?identifier=, and "import" is no identifier to write to.
@routes.route(
    "GET", "/eventstream/export", event="eventstream_list", params=NoParams, access=Access.ADMIN,
)  # fmt: skip
def export(call: Call[NoParams]) -> Outcome:
    """The streams as YAML (``format=json``: the document in the envelope), secrets
    censored; ``identifier``: a comma-separated selection."""
    params = call.inv.params
    fmt = str(params.get("format") or "yaml").lower()
    if fmt not in ("yaml", "json"):
        raise ParameterError("Invalid parameter 'format': yaml or json")
    chosen = split_list(params.get("identifier"))
    streams = call.services.streams.list(call.session)
    if fmt == "json":
        return Outcome(value=transfer.export_document(streams, identifiers=chosen))
    return Outcome(
        value=None,
        raw_body=transfer.export_text(streams, identifiers=chosen).encode(),
        raw_media_type="application/yaml; charset=utf-8",
    )


@routes.route(
    "POST", "/eventstream/import", event="eventstream_write", params=NoParams,
    access=Access.ADMIN,
)  # fmt: skip
def import_(call: Call[NoParams]) -> Outcome:
    """Import streams (YAML or JSON in ``data``, or an uploaded ``file``), matched by
    identifier, all or nothing; ``dry_run=1`` changes nothing."""
    params = call.inv.params
    data = params.get("data", params.get("file"))
    if data is None:
        raise ParameterError("Missing parameter: 'data' (or an uploaded 'file')")
    dry = is_true(params.get("dry_run"))
    entries = transfer.entries(data)
    report = transfer.import_streams(call.services.streams, call.session, entries, dry_run=dry)
    value = transfer.summary(report, dry_run=dry)
    call.audit.info = (
        f"created {value['created']}, updated {value['updated']}, "
        f"unchanged {value['unchanged']}" + (" (dry run)" if dry else "")
    )
    return Outcome(value=value)


@routes.route(
    "GET", "/eventstream/options", event="eventstream_list", params=NoParams,
    access=Access.ADMIN,
)  # fmt: skip
def stream_options(call: Call[NoParams]) -> Outcome:
    """The descriptors of each broker kind's options."""
    kinds = call.services.streams.kinds
    return Outcome(value={kind: describe_options(model) for kind, model in kinds.items()})


@routes.route(
    "GET", "/eventstream/", "/eventstream/{identifier}", event="eventstream_list",
    params=ListParams, access=Access.ADMIN,
)  # fmt: skip
def list_streams(call: Call[ListParams]) -> Outcome:
    """List event streams (secrets censored), or one."""
    return Outcome(value=call.services.streams.list(call.session, call.params.identifier))


@routes.route(
    "POST", "/eventstream/{identifier}", event="eventstream_write", params=IdentifierParams,
    access=Access.ADMIN,
)  # fmt: skip
def save_stream(call: Call[IdentifierParams]) -> Outcome:
    """Create or replace an event stream."""
    p = call.params
    call.audit.action_detail = f"identifier={p.identifier}"
    return Outcome(value=call.services.streams.save(call.session, p.identifier, _fields(p)))


@routes.route(
    "DELETE", "/eventstream/{identifier}", event="eventstream_delete", params=IdentifierParams,
    access=Access.ADMIN,
)  # fmt: skip
def delete_stream(call: Call[IdentifierParams]) -> Outcome:
    """Delete an event stream; its queued events then fail as dead letters."""
    call.audit.action_detail = f"identifier={call.params.identifier}"
    call.services.streams.delete(call.session, call.params.identifier)
    return Outcome(value=True)
