"""``/healthz/``: privacyIDEA's probes for load balancers and Kubernetes.

They stay outside the request pipeline, as in privacyIDEA: anonymous, no event, no
policy check and no audit entry per probe, so that a probe every few seconds costs
next to nothing and still answers (503) when the database is down. Answers are
privacyIDEA's envelope with its values; ``readyz`` also names the database, which
Factorflow checks where privacyIDEA checks its HSM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from starlette.requests import Request

from factorflow.api.envelope import render
from factorflow.auth.service import EXPIRED
from factorflow.core.invocation import Outcome, Reply
from factorflow.db.base import transaction
from factorflow.errors import AuthError
from factorflow.pipeline import error_reply

if TYPE_CHECKING:
    from factorflow.bootstrap import Services

JSON = "application/json"


def _answer(value: dict[str, Any], status: int = 200) -> Response:
    return Response(
        render(Reply(outcome=Outcome(value=value))), status_code=status, media_type=JSON
    )


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def readiness(services: Services) -> Response:
    # The encryption key is loaded at start-up: Factorflow's equivalent of the HSM.
    if services.health.database_ok():
        return _answer({"status": "ready", "hsm": "OK", "database": "OK"})
    return _answer({"status": "not ready", "hsm": "OK", "database": "fail"}, 503)


def _is_admin(request: Request, services: Services) -> bool:
    """Whether an admin JWT came along. None is fine (anonymous); a bad one or one of
    a user is refused with AuthError, as privacyIDEA does."""
    header = request.headers.get("pi-authorization") or request.headers.get("authorization")
    if not header:
        return False
    credentials = services.auth.verify(header)
    with transaction(services.sessions) as session:
        if services.session_guard.refusal(session, credentials) is not None:
            # A session that has ended is refused as the pipeline refuses it.
            raise AuthError(EXPIRED, code=4305)
    if not credentials.actor.is_admin:
        raise AuthError(
            "You do not have the necessary role (admin) to access this resource.", code=4306
        )
    return True


def mount_health(app: FastAPI) -> None:
    router = APIRouter(prefix="/healthz", tags=["healthz"])

    @router.get("/", summary="Liveness and readiness")
    def healthz(request: Request) -> Response:
        return readiness(_services(request))

    @router.get("/startupz", summary="The server has started")
    def startupz() -> Response:
        # This process answers only once the app is built (migrations done).
        return _answer({"status": "started"})

    @router.get("/livez", summary="The server is running")
    def livez() -> Response:
        return _answer({"status": "OK"})

    @router.get("/readyz", summary="The server and its database can serve requests")
    def readyz(request: Request) -> Response:
        return readiness(_services(request))

    @router.get("/resolversz", summary="The LDAP and SQL user stores answer")
    def resolversz(request: Request) -> Response:
        services = _services(request)
        try:
            admin = _is_admin(request, services)
        except AuthError as exc:
            reply = Reply(error=error_reply(exc))
            return Response(render(reply), status_code=reply.status, media_type=JSON)
        try:
            with transaction(services.sessions) as session:
                found = services.health.resolvers(session)
        except Exception:
            return _answer({"status": "error"}, 503)
        ok = all(all(names.values()) for names in found.values())
        value: dict[str, Any] = {"status": "OK" if ok else "fail"}
        if admin:  # resolver names only for an authenticated administrator
            value.update(
                {kind: {n: "OK" if up else "fail" for n, up in names.items()}
                 for kind, names in found.items()}
            )  # fmt: skip
        return _answer(value)

    app.include_router(router)
