"""The web UI: static ES modules served by the API process, calling only the REST API.

:func:`mount_webui` adds ``/static`` (the assets) and ``/`` (the single page) to an
application whose API routes are already declared, so the API keeps precedence. The
UI routes on the URL fragment (``/#/tokens``), so no server path is ever ambiguous
between a page and an API endpoint. See ``docs/adr/0002-web-ui.md``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(str(files("factorflow.webui") / "static"))

#: Everything comes from this server; QR codes arrive as data: URIs from the API.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def index_response() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=SECURITY_HEADERS)


def mount_webui(app: FastAPI) -> None:
    """Serve the UI at ``/`` and its assets under ``/static``."""

    async def index() -> FileResponse:
        return index_response()

    app.add_api_route("/", index, methods=["GET"], include_in_schema=False, name="webui")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="webui-static")


__all__ = ["STATIC_DIR", "mount_webui"]
