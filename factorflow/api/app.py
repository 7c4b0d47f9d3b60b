"""The FastAPI application: mounts declared routes onto the one pipeline."""

from __future__ import annotations

import importlib
import re
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from factorflow import __version__
from factorflow.api.envelope import render
from factorflow.api.openapi import operation_extra
from factorflow.api.params import merged_params, read_body
from factorflow.api.routing import Routes, RouteSpec, audit_rule
from factorflow.bootstrap import Services
from factorflow.core.invocation import ErrorReply, Invocation, Reply
from factorflow.errors import FactorflowError
from factorflow.pipeline import Pipeline, error_reply

#: Route modules under factorflow.api.routes, each exposing ``routes: Routes``.
ROUTE_MODULES = ("auth", "validate", "token", "tokengroup", "user", "realm", "resolver", "audit")

JSON = "application/json"


def collect_routes() -> list[Routes]:
    return [
        importlib.import_module(f"factorflow.api.routes.{name}").routes for name in ROUTE_MODULES
    ]


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


def create_app(services: Services, pipeline: Pipeline | None = None) -> FastAPI:
    app = _routed_app()
    app.state.services = services
    app.state.pipeline = pipeline or Pipeline(services)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error_response(404, 601, "The requested URL was not found on the server.")
        if exc.status_code == 405:
            return _error_response(405, 4307, "The method is not allowed for the requested URL.")
        return _error_response(exc.status_code, 10, str(exc.detail))

    return app


def _mount(app: FastAPI, spec: RouteSpec, path: str) -> None:
    rule = audit_rule(path)

    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        pipeline: Pipeline = request.app.state.pipeline
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
            authorization=request.headers.get("pi-authorization")
            or request.headers.get("authorization"),
        )
        reply = await run_in_threadpool(pipeline.run, inv, spec.endpoint)
        outcome = reply.outcome
        if outcome is not None and outcome.raw_body is not None:
            return Response(
                outcome.raw_body, status_code=outcome.status, media_type=outcome.raw_media_type
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
