from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.federation.recorder import RecordingRemote
from tests.federation.remote import RemoteFactorflow, running_remote

H = dict[str, str]


@pytest.fixture(scope="session")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteFactorflow]:
    """A second Factorflow server process, provisioned with realm ``fedrealm``."""
    with running_remote(tmp_path_factory.mktemp("remote")) as server:
        yield server


@pytest.fixture
def recording_remote() -> Iterator[RecordingRemote]:
    server = RecordingRemote()
    server.start()
    yield server
    server.stop()


def add_server(client: TestClient, headers: H, identifier: str, url: str, **extra: Any) -> None:
    response = client.post(
        f"/privacyideaserver/{identifier}", data={"url": url, **extra}, headers=headers
    )
    assert response.status_code == 200, response.text


def define_forward(
    client: TestClient,
    headers: H,
    *,
    name: str = "to remote",
    event: str = "validate_check",
    expect: int = 200,
    **options: Any,
) -> Any:
    """POST /event: a Federation ``forward`` definition (abort_on_error per module
    default unless given as option ``abort_on_error``)."""
    data: dict[str, Any] = {"name": name, "event": event, "handlermodule": "Federation",
                            "action": "forward", "position": "post"}  # fmt: skip
    if "abort_on_error" in options:
        data["abort_on_error"] = options.pop("abort_on_error")
    if "conditions" in options:
        data["conditions"] = options.pop("conditions")
    data.update({f"option.{key}": value for key, value in options.items()})
    response = client.post("/event", data=data, headers=headers)
    assert response.status_code == expect, response.text
    return response.json()
