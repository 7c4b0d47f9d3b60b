"""Route declarations: a route names its event, parameter model and access rule and
calls one service method. Mounting onto FastAPI happens in ``factorflow.api.app``.

Example::

    routes = Routes()

    @routes.route("POST", "/token/disable", "/token/disable/{serial}",
                  event="token_disable", params=SerialParams, access=Access.AUTHENTICATED)
    def disable(call: Call[SerialParams]) -> Outcome:
        return Outcome(value=call.services.tokens.disable(call.session, ...))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from pydantic import BaseModel

from factorflow import pipeline
from factorflow.bootstrap import Services
from factorflow.core.invocation import Outcome
from factorflow.pipeline import Access

P = TypeVar("P", bound=BaseModel)

#: What a route handler gets: the pipeline's call with the composition root's services.
Call: TypeAlias = pipeline.Call[P, Services]
Endpoint: TypeAlias = pipeline.Endpoint[P, Services]


@dataclass(frozen=True)
class RouteSpec:
    methods: tuple[str, ...]
    paths: tuple[str, ...]
    endpoint: Endpoint[Any]
    summary: str
    tag: str


class Routes:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.specs: list[RouteSpec] = []

    def route(
        self,
        methods: str | tuple[str, ...],
        *paths: str,
        event: str,
        params: type[P],
        access: Access = Access.ADMIN,
        prepare: Callable[[Call[P]], object] | None = None,
        writes: bool | None = None,
    ) -> Callable[[Callable[[Call[P]], Outcome]], Callable[[Call[P]], Outcome]]:
        """Declare a route. ``writes`` says whether its unit of work writes; by default
        a route that answers only GET reads and any other writes, whatever method a
        request then uses (``GET /validate/check`` writes like its POST)."""
        method_tuple = (methods,) if isinstance(methods, str) else methods
        if writes is None:
            writes = any(method != "GET" for method in method_tuple)

        def register(handler: Callable[[Call[P]], Outcome]) -> Callable[[Call[P]], Outcome]:
            endpoint: Endpoint[Any] = pipeline.Endpoint(
                event=event,
                params=params,
                handler=handler,
                access=access,
                prepare=prepare,
                writes=writes,
            )
            summary = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
            self.specs.append(RouteSpec(method_tuple, paths, endpoint, summary, self.tag))
            return handler

        return register


def audit_rule(path: str) -> str:
    """``/token/disable/{serial}`` → ``/token/disable/<serial>``, as privacyIDEA audits it."""
    return path.replace("{", "<").replace("}", ">")
