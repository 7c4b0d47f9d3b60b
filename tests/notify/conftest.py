from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify.servers import Recorder, SmsGatewayServer, SmtpServer, self_signed_cert


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def smtp_server(recorder: Recorder) -> Iterator[SmtpServer]:
    server = SmtpServer(recorder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path)


@pytest.fixture
def sms_gateway() -> Iterator[SmsGatewayServer]:
    gateway = SmsGatewayServer()
    gateway.start()
    yield gateway
    gateway.stop()
