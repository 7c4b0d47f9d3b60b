"""Fixtures of the challenge-response tests: a real SMTP server (aiosmtpd) and a local
HTTP SMS gateway from :mod:`tests.notify.servers`, fast queue settings, and helpers
that enrol tokens, run the delivery worker and read the OTP out of what arrived."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.db.base import transaction
from factorflow.jobs.models import Job
from factorflow.settings import Settings
from factorflow.worker import Worker
from tests.conftest import test_settings
from tests.jobs.conftest import FAST, wait_for
from tests.notify.conftest import recorder, sms_gateway, smtp_server  # noqa: F401
from tests.notify.servers import Recorder, SmsGatewayServer, SmtpServer
from tests.tokens.helpers import init_token, ok

H = dict[str, str]
PIN = "mypin"
OTP = re.compile(r"\b(\d{6})\b")

__all__ = ["FAST", "wait_for"]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return test_settings(tmp_path / "data", database_url, **{**FAST, "job_max_attempts": 20})


def add_smtp(services: Services, port: int, identifier: str = "mail1") -> None:
    with transaction(services.sessions) as session:
        services.notify.save_smtp(
            session,
            identifier,
            {"server": "127.0.0.1", "port": port, "sender": "mfa@example.org", "timeout": 5},
        )


def add_gateway(services: Services, url: str, identifier: str = "gw1") -> None:
    with transaction(services.sessions) as session:
        services.notify.save_sms(
            session,
            identifier,
            {
                "module": "http",
                "option.URL": url,
                "option.HTTP_METHOD": "POST",
                "option.to": "{phone}",
                "option.text": "Your code: {otp}",
            },
        )


def set_system(services: Services, key: str, value: str) -> None:
    from factorflow.db.models import ConfigSetting

    with transaction(services.sessions) as session:
        session.add(ConfigSetting(key=key, value=value))


def deliver(services: Services) -> int:
    """Run the delivery worker until no job is due (synchronously)."""
    return Worker(services, threads=1).drain()


def jobs(services: Services) -> list[Job]:
    with services.sessions() as session:
        return list(session.query(Job).order_by(Job.id))


def otp_from_mail(received: Recorder, index: int = -1) -> str:
    body = received.messages[index].message.get_body(("plain",))
    assert body is not None
    found = OTP.search(body.get_content())
    assert found, body.get_content()
    return found.group(1)


def otp_from_sms(gateway: SmsGatewayServer, index: int = -1) -> str:
    text = gateway.requests[index].form["text"]
    found = OTP.search(text)
    assert found, text
    return found.group(1)


def check(client: TestClient, **params: Any) -> dict[str, Any]:
    return ok(client.post("/validate/check", data=params))


@pytest.fixture
def mail(services: Services, smtp_server: SmtpServer) -> SmtpServer:  # noqa: F811
    add_smtp(services, smtp_server.port)
    return smtp_server


@pytest.fixture
def email_token(client: TestClient, admin_headers: H, flatfile_realm: str, mail: SmtpServer) -> str:
    """An email token of alice with PIN ``mypin`` and a static address."""
    body = init_token(
        client, admin_headers, type="email", email="alice@example.net", pin=PIN,
        user="alice", realm=flatfile_realm,
    )  # fmt: skip
    serial: str = body["detail"]["serial"]
    return serial


@pytest.fixture
def login(services: Services, client: TestClient, recorder: Recorder) -> Callable[..., str]:  # noqa: F811
    """PIN-only check → CHALLENGE, deliver, return the transaction id (the OTP is in
    the last received mail)."""

    def start(user: str = "alice", pin: str = PIN) -> str:
        body = check(client, user=user, **{"pass": pin})
        assert body["result"]["authentication"] == "CHALLENGE", body
        deliver(services)
        tid: str = body["detail"]["transaction_id"]
        return tid

    return start
