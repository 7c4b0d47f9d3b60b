"""ASGI entry for ``uvicorn --factory`` (used by ``factorflow serve --workers N``)."""

from __future__ import annotations

from fastapi import FastAPI

from factorflow.api.app import create_app
from factorflow.bootstrap import build_services
from factorflow.settings import Settings


def create() -> FastAPI:
    return create_app(build_services(Settings(), migrate=False))
