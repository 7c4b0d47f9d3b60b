"""ASGI entry for ``uvicorn --factory`` (used by ``factorflow serve --workers N``).

A worker process of ``--workers N`` ends with the supervisor that started it
(:mod:`factorflow.api.lifeline`). With ``Settings.embedded_worker`` each API process
also runs a delivery worker (threads) for the durable job queue, started and stopped
with the application.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from factorflow.api.app import create_app
from factorflow.api.lifeline import die_with_parent
from factorflow.bootstrap import Services, build_services
from factorflow.settings import Settings


def create() -> FastAPI:
    die_with_parent()
    services = build_services(Settings(), migrate=False)
    app = create_app(services)
    services.nodes.register(services.sessions)
    if services.settings.embedded_worker:
        attach_worker(app, services)
    return app


def attach_worker(app: FastAPI, services: Services) -> None:
    """Run a :class:`~factorflow.worker.Worker` for the application's lifetime."""
    from factorflow.worker import Worker

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Mapping[str, Any]]:
        worker = Worker(services)
        worker.start()
        try:
            async with inner(application) as state:
                yield dict(state or {})
        finally:
            await run_in_threadpool(worker.stop)

    app.router.lifespan_context = lifespan
