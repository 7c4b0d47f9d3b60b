"""The FastAPI application: mounts declared routes onto the one pipeline."""

from __future__ import annotations

import importlib
import re
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from factorflow import __version__
from factorflow.api.envelope import render
from factorflow.api.health import mount_health
from factorflow.api.openapi import operation_extra
from factorflow.api.params import merged_params, read_body
from factorflow.api.routing import Routes, RouteSpec, audit_rule
from factorflow.bootstrap import Services
from factorflow.core.invocation import ErrorReply, Invocation, Reply
from factorflow.errors import FactorflowError
from factorflow.pipeline import Pipeline, error_reply
from factorflow.policies.authorizer import PolicyAuthorizer
from factorflow.webui import mount_webui

#: Route modules under factorflow.api.routes, each exposing ``routes: Routes``; mounted
#: in this order, which decides between overlapping paths (``/user/settings/<key>``
#: before ``/user/<resolver>/<username>``).
ROUTE_MODULES = (
    "auth", "validate", "token", "token_helpdesk", "tokengroup", "user_settings", "user",
    "realm", "resolver",
    "audit", "event", "smtpserver", "smsgateway", "jobs", "policy", "privacyideaserver",
    "eventstream", "system", "machineresolver", "machine", "serviceid",
    "radiusserver",
    "caconnector",
    "ttype",
    "token_load",
)  # fmt: skip

JSON = "application/json"


def collect_routes() -> list[Routes]:
    return [
        importlib.import_module(f"factorflow.api.routes.{name}").routes for name in ROUTE_MODULES
    ]


def request_limiter(app: FastAPI, threads: int) -> anyio.CapacityLimiter:
    """The per-application bound on requests running at once (made in the event loop)."""
    limiter: anyio.CapacityLimiter | None = getattr(app.state, "request_limiter", None)
    if limiter is None:
        limiter = app.state.request_limiter = anyio.CapacityLimiter(threads)
    return limiter


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _error_response(status: int, code: int, message: str) -> Response:
    reply = Reply(error=ErrorReply(code=code, message=message, status=status))
    return Response(render(reply), status_code=status, media_type=JSON)


def _routed_app() -> FastAPI:
    # FastAPIOffline serves the Swagger UI and ReDoc assets itself: /docs works offline.
    app = FastAPIOffline(
        title="Factorflow",
        version=__version__,
        description="privacyIDEA-compatible MFA server with an event-handling framework.",
    )
    for routes in collect_routes():
        for spec in routes.specs:
            for path in spec.paths:
                _mount(app, spec, path)
    return app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document; it depends on the route declarations only."""
    return _routed_app().openapi()


def create_app(services: Services, pipeline: Pipeline[Services] | None = None) -> FastAPI:
    app = _routed_app()
    app.state.services = services
    app.state.pipeline = pipeline or Pipeline(
        services.pipeline_ports,
        services,
        events=services.events_dispatcher,
        authorizer=PolicyAuthorizer(services.policies, services.users, services.tokens.access),
    )
    # The domain learns the event names from the route declarations, without
    # importing the API layer (GET /event/available, checks, dry runs).
    specs = [spec for routes in collect_routes() for spec in routes.specs]
    services.events.set_available_events(
        [spec.endpoint.event for spec in specs],
        {
            f"{method} {audit_rule(path)}": spec.endpoint.event
            for spec in specs
            for path in spec.paths
            for method in spec.methods
        },
    )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error_response(404, 601, "The requested URL was not found on the server.")
        if exc.status_code == 405:
            return _error_response(405, 4307, "The method is not allowed for the requested URL.")
        return _error_response(exc.status_code, 10, str(exc.detail))

    mount_health(app)
    # After the API routes, so that they keep precedence.
    mount_webui(app)
    return app


def _mount(app: FastAPI, spec: RouteSpec, path: str) -> None:
    rule = audit_rule(path)

    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        pipeline: Pipeline[Services] = request.app.state.pipeline
        settings = services.settings
        try:
            body = await read_body(request, settings.max_request_bytes)
            params = await merged_params(
                request, body, exempt_agents=settings.url_decode_exempt_user_agents
            )
        except FactorflowError as exc:
            reply = Reply(error=error_reply(exc))
            return Response(render(reply), status_code=reply.status, media_type=JSON)
        inv = Invocation(
            event=spec.endpoint.event,
            method=request.method,
            rule=rule,
            params=params,
            client_ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            origin=request.headers.get("origin", "")[:255],
            authorization=request.headers.get("pi-authorization")
            or request.headers.get("authorization"),
        )
        reply = await anyio.to_thread.run_sync(
            pipeline.run,
            inv,
            spec.endpoint,
            limiter=request_limiter(request.app, settings.api_threads),
        )
        outcome = reply.outcome
        if outcome is not None and (outcome.raw_body is not None or outcome.raw_stream):
            streamed = outcome.raw_stream is not None
            kind: type[Response] = StreamingResponse if streamed else Response
            return kind(
                outcome.raw_stream if streamed else outcome.raw_body,
                status_code=outcome.status,
                media_type=outcome.raw_media_type,
                headers=outcome.raw_headers,
            )
        nonce = params.get("nonce") if isinstance(params.get("nonce"), str) else None
        return Response(render(reply, nonce=nonce), status_code=reply.status, media_type=JSON)

    for method in spec.methods:
        extra: dict[str, Any] = operation_extra(spec, path, method)
        slug = re.sub(r"[^A-Za-z0-9]+", "_", path).lstrip("_")
        app.add_api_route(
            path,
            endpoint,
            methods=[method],
            summary=spec.summary,
            tags=[spec.tag],
            openapi_extra=extra,
            operation_id=f"{method.lower()}_{slug}",
            name=f"{spec.endpoint.event}:{method}:{path}",
        )
