"""The remote token against a second, real Factorflow (tests/tokens/remote_server.py):
the check forwarded for a user or a serial there, or the PIN checked here; a remote
that cannot be reached fails the check with a log line, never the request."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from tests import factories
from tests.federation.remote import REMOTE_REALM, RemoteFactorflow
from tests.notify.servers import free_port
from tests.tokens.helpers import assert_error, check, get_token, init_token
from tests.tokens.remote_server import REMOTE_PASSWORD, REMOTE_PIN, REMOTE_USER, shared_remote

H = dict[str, str]
RIGHT = REMOTE_PIN + REMOTE_PASSWORD


@pytest.fixture
def remote(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> tuple[RemoteFactorflow, str]:
    server, serial = shared_remote()
    factories.add_remote_server(client, admin_headers, "child", server.url)
    return server, serial


def enrol(client: TestClient, headers: H, **params: str) -> str:
    body = init_token(client, headers, type="remote", user="alice", realm="realm1",
                      **{"remote.server_id": "child", **params})  # fmt: skip
    return str(body["detail"]["serial"])


def alice(client: TestClient, passw: str) -> bool:
    value: bool = check(client, user="alice", realm="realm1", **{"pass": passw})["result"]["value"]
    return value


def test_the_check_goes_to_the_remote_user(
    client: TestClient, admin_headers: H, remote: tuple[RemoteFactorflow, str]
) -> None:
    server, remote_serial = remote
    serial = enrol(client, admin_headers, pin="local-unused",
                   **{"remote.user": REMOTE_USER, "remote.realm": REMOTE_REALM})  # fmt: skip
    assert serial.startswith("PIRE")
    assert alice(client, RIGHT) is True
    token = get_token(client, admin_headers, serial)
    assert token["info"]["last_matching_remote_serial"] == remote_serial
    assert token["info"]["remote.server_id"] == "child"
    assert alice(client, RIGHT[:-1] + "x") is False
    assert get_token(client, admin_headers, serial)["failcount"] == 1
    # The remote saw the checks for its user.
    entries = server.audit(action="*validate/check*", user=REMOTE_USER)
    assert entries, "the remote audited no check of dave"


def test_a_remote_serial_ignores_the_user(
    client: TestClient, admin_headers: H, remote: tuple[RemoteFactorflow, str]
) -> None:
    _, remote_serial = remote
    enrol(client, admin_headers, **{"remote.serial": remote_serial, "remote.user": "nobody"})
    assert alice(client, RIGHT) is True


def test_without_remote_user_the_owner_is_asked_for(
    client: TestClient, admin_headers: H, remote: tuple[RemoteFactorflow, str]
) -> None:
    serial = enrol(client, admin_headers, **{"remote.realm": REMOTE_REALM})
    # There is no alice at the remote: its error is a failed check here.
    assert alice(client, RIGHT) is False
    assert get_token(client, admin_headers, serial)["failcount"] == 1


def test_a_local_pin_is_checked_here_and_only_the_otp_forwarded(
    client: TestClient, admin_headers: H, remote: tuple[RemoteFactorflow, str]
) -> None:
    enrol(client, admin_headers, pin="lp", otplen=str(len(RIGHT)),
          **{"remote.user": REMOTE_USER, "remote.realm": REMOTE_REALM,
             "remote.local_checkpin": "1"})  # fmt: skip
    body = check(client, user="alice", realm="realm1", **{"pass": "xx" + RIGHT})
    assert body["detail"]["message"] == "wrong otp pin"
    assert alice(client, "lp" + RIGHT) is True
    assert alice(client, RIGHT) is False


def test_an_unreachable_remote_fails_the_check_with_a_log_line(
    client: TestClient, admin_headers: H, flatfile_realm: str, caplog: pytest.LogCaptureFixture
) -> None:
    factories.add_remote_server(client, admin_headers, "child", f"http://127.0.0.1:{free_port()}")
    serial = enrol(client, admin_headers, **{"remote.user": REMOTE_USER})
    with caplog.at_level(logging.WARNING, logger="factorflow.tokens.types.forwarding"):
        response = client.post("/validate/check",
                               data={"user": "alice", "realm": "realm1", "pass": RIGHT})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["result"]["value"] is False
    assert serial in caplog.text and "cannot be reached" in caplog.text
    assert RIGHT not in caplog.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"remote.server_id": ""}, "remote.server_id"),
        ({"remote.server_id": "nope"}, "remote.server_id"),
        ({"remote.serial": "x" * 100}, "remote.serial"),
        ({"otplen": "0"}, "otplen"),
    ],
)
def test_bad_enrolment_is_refused_and_stores_nothing(
    client: TestClient,
    admin_headers: H,
    flatfile_realm: str,
    params: dict[str, str],
    field: str,
) -> None:
    factories.add_remote_server(client, admin_headers, "child", "http://127.0.0.1:9")
    data = {"type": "remote", "user": "alice", "realm": "realm1",
            "remote.server_id": "child", **params}  # fmt: skip
    body = assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert field.rsplit(".", maxsplit=1)[-1] in body["result"]["error"]["message"]
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []
