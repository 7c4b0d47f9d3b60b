"""Shared steps of the web UI scenarios."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD

#: The server under test shares the machine's two cores with the browser and, in CI, with
#: the other databases' suites: an answer can take seconds there. httpx's default of 5 s
#: would call that a hang; this is long enough not to and short enough to find one.
REQUEST_TIMEOUT = 30.0


def server_get(url: str, **kwargs: Any) -> httpx.Response:
    """A GET to the server under test, with :data:`REQUEST_TIMEOUT`."""
    return httpx.get(url, timeout=REQUEST_TIMEOUT, **kwargs)


def server_post(url: str, **kwargs: Any) -> httpx.Response:
    """A POST to the server under test, with :data:`REQUEST_TIMEOUT`."""
    return httpx.post(url, timeout=REQUEST_TIMEOUT, **kwargs)


def login(page: Page, username: str, password: str, realm: str = "") -> None:
    page.goto("/#/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    if realm:
        page.get_by_label("Realm").fill(realm)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def nav(page: Page, name: str) -> None:
    """Follow a link of the main navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name, exact=True, level=1)).to_be_visible()


def login_admin(page: Page) -> None:
    login(page, ADMIN_NAME, ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def session_token(page: Page) -> str:
    token: str = page.evaluate("JSON.parse(sessionStorage.getItem('factorflow.session')).token")
    return token


def hotp(secret_base32: str, counter: int, digits: int = 6) -> str:
    """RFC 4226 with SHA-1, computed independently of the server's code."""
    secret = secret_base32.replace(" ", "").upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


def totp(secret_base32: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238: HOTP of the time step."""
    return hotp(secret_base32, int((time.time() if at is None else at) // step), digits)


def wrong_otp(secret_base32: str, window: int = 100) -> str:
    """A six-digit value that no counter in the look-ahead window produces."""
    taken = {hotp(secret_base32, counter) for counter in range(window)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in taken)
