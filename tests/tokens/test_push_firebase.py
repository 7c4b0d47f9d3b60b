"""Push notifications through Firebase: a durable ``push`` job that posts the FCM v1
message to ``Settings.push_fcm_url`` — here a local HTTP stand-in that records it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.settings import Settings
from factorflow.worker.runner import Worker
from tests import factories
from tests.conftest import test_settings as make_settings
from tests.http_recorder import RecordingHttpServer
from tests.policies.conftest import policy_data
from tests.tokens.push_phone import PUSH_ENROLMENT, Phone

H = dict[str, str]
PIN = "push-pin"
USER = {"user": "alice", "realm": "realm1"}
PROJECT = "acme-push"


@pytest.fixture
def fcm() -> Iterator[RecordingHttpServer]:
    server = RecordingHttpServer(
        body='{"name": "projects/acme-push/messages/1"}', content_type="application/json"
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fcm: RecordingHttpServer) -> Settings:
    url = f"{fcm.url}/v1/projects/{{project_id}}/messages:send"
    return make_settings(tmp_path / "data", database_url, push_fcm_url=url)


@pytest.fixture
def phone(client: TestClient, admin_headers: H, flatfile_realm: str) -> Phone:
    action = {**PUSH_ENROLMENT, "push_firebase_configuration": PROJECT}
    data = policy_data({"scope": "enrollment", "action": action})
    factories.ok_value(client.post("/policy/push", data=data, headers=admin_headers))
    detail = factories.enrol(client, admin_headers, "push", genkey="1", pin=PIN, **USER)
    device = Phone(client)
    assert device.scan(detail)["projectid"] == PROJECT
    assert factories.ok_value(device.register(detail)) is True
    return device


def challenge(client: TestClient) -> str:
    body = client.post("/validate/check", data={**USER, "pass": PIN}).json()
    assert body["result"]["authentication"] == "CHALLENGE", body
    transaction_id: str = body["detail"]["transaction_id"]
    return transaction_id


def test_the_challenge_goes_to_firebase(
    client: TestClient, services: Services, fcm: RecordingHttpServer, phone: Phone
) -> None:
    """The challenge is a job delivered as the FCM v1 message to the phone's token,
    carrying the server-signed challenge; the phone answers from it."""
    transaction_id = challenge(client)
    assert fcm.requests == []  # enqueued in the request, sent by the worker
    assert Worker(services).drain() == 1
    [sent] = fcm.requests
    assert (sent.method, sent.path) == ("POST", f"/v1/projects/{PROJECT}/messages:send")
    assert sent.headers["idempotency-key"] == f"challenge:{transaction_id}:{phone.serial}"
    message: dict[str, Any] = sent.json["message"]
    assert message["token"] == "fcm-registration-token-of-the-phone"
    assert message["android"] == {"priority": "high"}
    data = message["data"]
    phone.verify_server(data)  # signed by the server's key
    assert data["serial"] == phone.serial
    assert factories.ok_value(phone.respond(data["nonce"])) is True
    body = client.post(
        "/validate/check", data={**USER, "transaction_id": transaction_id, "pass": ""}
    ).json()
    assert body["result"]["authentication"] == "ACCEPT", body


def test_polling_works_beside_firebase(
    client: TestClient, services: Services, fcm: RecordingHttpServer, phone: Phone
) -> None:
    challenge(client)
    Worker(services).drain()
    [sent] = fcm.requests
    assert [m["nonce"] for m in phone.challenges()] == [sent.json["message"]["data"]["nonce"]]


def test_a_refused_notification_is_dead_not_retried(
    client: TestClient, admin_headers: H, services: Services, fcm: RecordingHttpServer, phone: Phone
) -> None:
    """FCM's 4xx (an unregistered phone token) cannot be fixed by retrying."""
    fcm.status = 404
    challenge(client)
    Worker(services).drain()
    jobs = factories.ok_value(client.get("/jobs/", params={"kind": "push"}, headers=admin_headers))
    [job] = jobs["jobs"]
    assert job["state"] == "dead", job
    assert job["recipient"]
