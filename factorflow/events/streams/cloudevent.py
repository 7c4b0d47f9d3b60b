"""The CloudEvent of one request (CloudEvents 1.0, structured JSON mode).

Attributes: ``id`` (the job's idempotency key: the same on every delivery attempt,
so a subscriber drops a redelivered duplicate by it), ``source``
(``<base url>/<node>``), ``type`` ``org.factorflow.event.<event name>``,
``subject`` (the token's serial, as audited or else the ``serial`` parameter; else
the user as ``user@realm``; else the event name), ``time`` (when the request
started), ``datacontenttype`` ``application/json``.

``data`` holds the request (method, route, parameters with secret ones censored,
client), the outcome (HTTP status, success, the error's code and message, a scalar
result value such as /validate/check's), the actor, the token, the user and realm,
and the definitions that ran (name, action, success).

The event is built in the request's transaction and stored in the job as its JSON
text: what was true at request time is what subscribers get, however late the
delivery.
"""

from __future__ import annotations

import re
from typing import Any

from factorflow.audit.record import AuditRecord
from factorflow.core.invocation import Invocation, Reply
from factorflow.core.redaction import CENSORED

TYPE_PREFIX = "org.factorflow.event."
#: The structured mode's media type (``JSONFormat.CONTENT_TYPE``).
CONTENT_TYPE = "application/cloudevents+json"
#: Parameter names whose values never leave the server (PINs, passwords, OTP keys).
_SECRET_PARAM = re.compile(r"pass|pin|key|secret|otp|credential|hash|token$|cert", re.I)
_MAX_PARAM = 1000


def _param(name: str, value: Any) -> Any:
    if _SECRET_PARAM.search(name):
        return CENSORED
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = str(value)
    return text if len(text) <= _MAX_PARAM else text[:_MAX_PARAM] + "…"


def _outcome(reply: Reply) -> dict[str, Any]:
    if reply.error is not None:
        return {
            "status": reply.error.status,
            "success": False,
            "error": {"code": reply.error.code, "message": reply.error.message},
        }
    assert reply.outcome is not None
    out: dict[str, Any] = {"status": reply.outcome.status, "success": True}
    value = reply.outcome.value
    # Only scalars: a structured value may hold what a subscriber must not see (an
    # enrolment's otpauth URI, a token list).
    if isinstance(value, bool | int | float):
        out["value"] = value
    if reply.outcome.authentication:
        out["authentication"] = reply.outcome.authentication
        out["success"] = reply.outcome.authentication == "ACCEPT"
    return out


def event_data(inv: Invocation, reply: Reply, audit: AuditRecord) -> dict[str, Any]:
    actor = inv.actor
    return {
        "event": inv.event,
        "request": {
            "id": inv.request_id,
            "method": inv.method,
            "path": inv.rule,
            "params": {name: _param(name, value) for name, value in sorted(inv.params.items())},
            "client": inv.client_ip,
            "user_agent": inv.user_agent,
        },
        "outcome": _outcome(reply),
        "actor": {"role": actor.role, "username": actor.username, "realm": actor.realm},
        "user": {"username": audit.user, "realm": audit.realm, "resolver": audit.resolver},
        "token": {"serial": _serial(inv, audit), "type": audit.token_type},
        "definitions": [
            {"action": child.action, "name": child.info, "success": child.success}
            for child in audit.children
        ],
    }


def _serial(inv: Invocation, audit: AuditRecord) -> str:
    """The request's token: as audited, else the ``serial`` parameter."""
    param = inv.params.get("serial")
    return audit.serial or (param if isinstance(param, str) else "")


def subject(inv: Invocation, audit: AuditRecord) -> str:
    serial = _serial(inv, audit)
    if serial:
        return serial[:250]
    if audit.user:
        return f"{audit.user}@{audit.realm}" if audit.realm else audit.user
    return inv.event


def build(event_id: str, source: str, inv: Invocation, reply: Reply, audit: AuditRecord) -> str:
    """The CloudEvent's structured JSON text."""
    # Here, not at the top: a process that publishes nothing carries no SDK.
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent

    event = CloudEvent(
        {
            "id": event_id,
            "source": source,
            "type": TYPE_PREFIX + inv.event,
            "subject": subject(inv, audit),
            "time": audit.startdate,
            "datacontenttype": "application/json",
        },
        event_data(inv, reply, audit),
    )
    return JSONFormat().write(event).decode()


__all__ = ["CONTENT_TYPE", "TYPE_PREFIX", "build", "event_data"]
