"""Fixtures for the web UI tests: a real server on a loopback port and Debian's
headless Chromium driven by Playwright.

The server runs ``create_app(services)`` under uvicorn in a thread, on the run's test
database (``services`` empties the tables first). Tests are marked ``browser`` and are
skipped, saying why, when ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from factorflow.api.app import create_app
from factorflow.bootstrap import Services, build_services
from factorflow.settings import Settings
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD
from tests.plugins import ACME_TOKEN_TYPE, install

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDE = ViewportSize(width=1280, height=900)
NARROW = ViewportSize(width=390, height=844)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: apt-get install chromium")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    services: Services


@contextmanager
def serving(services: Services) -> Iterator[LiveServer]:
    """The whole application on ``services``, with a first admin, on 127.0.0.1."""
    with services.sessions.begin() as session:
        services.admins.add(session, ADMIN_NAME, ADMIN_PASSWORD)
    port = free_port()
    config = uvicorn.Config(
        create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="webui-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", services)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(services: Services) -> Iterator[LiveServer]:
    """The whole application, with a first admin, listening on 127.0.0.1."""
    with serving(services) as server:
        yield server


@pytest.fixture
def acme_server(plugin_site: Path, settings: Settings, services: Services) -> Iterator[LiveServer]:
    """The application with the token type ``acme`` installed as a distribution (an
    entry point, no JavaScript): :data:`tests.plugins.ACME_TOKEN_TYPE`. A module takes
    it as its ``live_server`` to have its pages served with the plug-in."""
    install(plugin_site, ACME_TOKEN_TYPE)
    built = build_services(settings, migrate=False)
    try:
        assert "acme" in built.token_types
        with serving(built) as server:
            yield server
    finally:
        built.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport=WIDE, base_url=live_server.url)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot into docs/screenshots/<name>.png when
    FACTORFLOW_SCREENSHOTS=1 (``FACTORFLOW_SCREENSHOTS=1 pytest tests/webui`` renews
    them); otherwise the page is still rendered and screenshotted, to a temp file."""
    if os.environ.get("FACTORFLOW_SCREENSHOTS") != "1":
        page.screenshot(path=str(Path(tempfile.gettempdir()) / f"factorflow-{name}.png"))
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.getElementById('toast').hidden = true")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.evaluate("document.getElementById('toast').hidden = false")
