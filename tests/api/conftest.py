"""Fixtures of the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from factorflow.api.app import create_app
from factorflow.bootstrap import Services, build_services
from factorflow.settings import Settings


@dataclass
class Node:
    services: Services
    client: TestClient


@pytest.fixture
def second_node(settings: Settings, services: Services) -> Iterator[Node]:
    """Another API process on the test's database (its own engine and services)."""
    other = build_services(settings, migrate=False)
    with TestClient(create_app(other), raise_server_exceptions=False) as client:
        yield Node(other, client)
    other.close()
