"""Federation: forward the request to a remote privacyIDEA-compatible server and
answer with its response (reference §4.4).

Post position only, ``abort_on_error`` by default: the local request has been
processed when the action runs (typically on ``validate_check`` with the condition
``result_value`` False, to ask a child server). The request goes to the remote
server's URL + the request's path (path variables filled in), with the same method
and the request's merged parameters — in the query string for GET, as a form body
otherwise (see :mod:`factorflow.federation.client`) — after the option overrides:
``realm`` and ``resolver`` replace those parameters, ``forward_client_ip`` adds
``client`` = the original client's IP, ``forward_authorization_token`` sends the
request's ``PI-Authorization``/``Authorization`` value as ``PI-Authorization``.

The remote's JSON envelope replaces the reply: its ``result`` (value,
authentication or error) and ``detail``, plus ``detail.origin`` = the URL asked,
with the remote's HTTP status. Factorflow renders it as its own envelope, so later
post definitions see and may change it like any other reply.

Differences from privacyIDEA, on purpose: each network operation waits at most the
server's ``timeout`` (privacyIDEA waits forever), the TLS certificate is verified
unless the server says ``tls`` false, and redirects are not followed. A remote that
cannot be reached, or that answers without privacyIDEA's JSON envelope, is a
failure of the action (:class:`~factorflow.federation.errors.RemoteUnreachableError`,
:class:`~factorflow.federation.errors.RemoteAnswerError`): with abort_on_error the
request fails with code 903, otherwise the local reply stays. The audit names only
the exception class; the forwarded parameters (a password among them) are never
written anywhere but to the remote.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.invocation import ErrorReply, Invocation, Outcome, Reply
from factorflow.events.errors import ActionError
from factorflow.events.handlers.base import (
    CHOICES_FROM,
    ActionContext,
    ActionOptions,
    EventHandler,
)
from factorflow.federation.client import FORWARDED_METHODS, RemoteAnswer, ask
from factorflow.federation.models import RemoteServer

_PATH_VARIABLE = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")


class ForwardOptions(ActionOptions):
    server: str = Field(
        title="privacyIDEA server",
        alias="privacyIDEA",
        min_length=1,
        max_length=120,
        description="The remote privacyIDEA server (see /privacyideaserver/) to forward to",
        json_schema_extra={CHOICES_FROM: "privacyidea_servers"},
    )
    realm: str = Field(
        title="Realm to send",
        default="",
        max_length=255,
        description="Send this realm instead of the request's",
    )
    resolver: str = Field(
        title="Resolver to send",
        default="",
        max_length=255,
        description="Send this resolver instead of the request's",
    )
    forward_client_ip: bool = Field(
        title="Forward the client IP",
        default=False,
        description="Send the original client's IP as parameter 'client' "
        "(the remote must trust this server as a proxy)",
    )
    forward_authorization_token: bool = Field(
        title="Forward the authorization token",
        default=False,
        description="Pass the request's authorization token on as PI-Authorization",
    )


def forwarded_request(
    inv: Invocation, options: ForwardOptions
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The path, parameters and headers to send for ``inv``: path variables go back
    into the path (and out of the parameters), then the options apply."""
    params = dict(inv.params)

    def fill(match: re.Match[str]) -> str:
        value = params.pop(match.group(1), "")
        return quote(str(value), safe="")

    path = _PATH_VARIABLE.sub(fill, inv.rule)
    if options.realm:
        params["realm"] = options.realm
    if options.resolver:
        params["resolver"] = options.resolver
    if options.forward_client_ip and inv.client_ip:
        params["client"] = inv.client_ip
    headers: dict[str, str] = {}
    if options.forward_authorization_token and inv.authorization:
        headers["PI-Authorization"] = inv.authorization
    return path, params, headers


def remote_reply(answer: RemoteAnswer) -> Reply:
    """The reply that answers with the remote's envelope and HTTP status."""
    result: dict[str, Any] = answer.body["result"]
    raw_detail = answer.body.get("detail")
    detail = dict(raw_detail) if isinstance(raw_detail, dict) else {}
    detail["origin"] = answer.url
    if result.get("status") is not True:
        error = result.get("error") if isinstance(result.get("error"), dict) else {}
        assert isinstance(error, dict)
        code = error.get("code")
        return Reply(
            error=ErrorReply(
                code=code if isinstance(code, int) and not isinstance(code, bool) else -1,
                message=str(error.get("message", "")),
                status=answer.status,
                detail=detail,
            )
        )
    authentication = result.get("authentication")
    return Reply(
        outcome=Outcome(
            value=result.get("value"),
            detail=detail,
            authentication=authentication if isinstance(authentication, str) else None,
            status=answer.status,
        )
    )


class FederationHandler(EventHandler):
    identifier = "Federation"
    description = "Forward the request to a remote privacyIDEA server and answer with its response."
    positions = ("post",)
    default_abort_on_error = True
    case_sensitive_actions = True
    #: It forwards a request and replaces its response: nothing to do on a schedule.
    schedulable = False
    actions = {"forward": ForwardOptions}

    def check_references(self, session: Session, action: str, options: ActionOptions) -> None:
        """On save: the remote server named must exist (ValueError naming it)."""
        del action
        assert isinstance(options, ForwardOptions)
        found = select(RemoteServer.id).where(RemoteServer.identifier == options.server)
        if session.scalar(found) is None:
            raise ValueError(
                f"Invalid option 'privacyIDEA': no privacyIDEA server {options.server!r}"
            )

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        assert isinstance(options, ForwardOptions)
        inv = ctx.inv
        if inv.method not in FORWARDED_METHODS:
            raise ActionError(f"{inv.method} requests cannot be forwarded")
        server = ctx.ports.remote_servers.settings(ctx.session, options.server)
        path, params, headers = forwarded_request(inv, options)
        answer = ask(server, inv.method, path, params, headers)
        ctx.reply = remote_reply(answer)
        ctx.run_details = f"forwarded to {server.identifier}: HTTP {answer.status}"


__all__ = ["FederationHandler", "ForwardOptions", "forwarded_request", "remote_reply"]
