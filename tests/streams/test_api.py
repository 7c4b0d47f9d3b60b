"""/eventstream/: configuration, censored secrets, bad input as 4xx, the filter."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.events.streams.models import EventStream
from tests.streams.conftest import H, configure, jobs, trigger

REDIS = {"kind": "redis", "url": "redis://127.0.0.1:6379/0", "stream_key": "ff-api"}


def test_crud_with_censored_secrets(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    configure(client, admin_headers, "siem", **REDIS, password="s3cret", description="SIEM")
    listing = client.get("/eventstream/", headers=admin_headers).json()["result"]["value"]
    stream = listing["siem"]
    assert stream["kind"] == "redis" and stream["description"] == "SIEM"
    assert stream["options"]["password"] == "__CENSORED__"
    assert stream["options"]["stream_key"] == "ff-api" and stream["events"] == []
    with services.sessions() as session:
        row = session.scalar(select(EventStream))
        assert row is not None and "s3cret" not in json.dumps(row.options)
    # The censored value sent back keeps the stored secret.
    configure(client, admin_headers, "siem", **REDIS, password="__CENSORED__", maxlen="100")
    with services.sessions() as session:
        from factorflow.events.streams.service import stored_options

        options = stored_options(session, services.box, "siem")
        assert options is not None and options.password == "s3cret"
        assert getattr(options, "maxlen", None) == 100
    options_doc = client.get("/eventstream/options", headers=admin_headers).json()
    assert set(options_doc["result"]["value"]) == {"nats", "amqp", "redis", "mqtt"}
    assert client.delete("/eventstream/siem", headers=admin_headers).status_code == 200
    assert client.get("/eventstream/", headers=admin_headers).json()["result"]["value"] == {}
    missing = client.delete("/eventstream/siem", headers=admin_headers)
    assert missing.status_code == 404 and missing.json()["result"]["status"] is False


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "kafka", "url": "kafka://x"},
        {"kind": "redis", "url": "http://127.0.0.1", "stream_key": "k"},
        {"kind": "redis", "url": "redis://u:p@127.0.0.1", "stream_key": "k"},
        {"kind": "redis", "url": "redis://127.0.0.1"},
        {"kind": "redis", "url": "redis://127.0.0.1", "stream_key": "k", "maxlen": "-1"},
        {"kind": "nats", "url": "nats://127.0.0.1:4222", "subject": "a b"},
        {"kind": "amqp", "url": "amqp://127.0.0.1:99999", "exchange": "x"},
        {"kind": "mqtt", "host": "127.0.0.1", "topic": "a/#"},
        {"kind": "mqtt", "host": "127.0.0.1", "topic": "a", "qos": "3"},
        {"kind": "mqtt", "host": "127.0.0.1", "topic": "a", "nonsense": "1"},
        {**REDIS, "events": "no_such_event"},
        {**REDIS, "conditions": "{not json"},
        {**REDIS, "conditions": json.dumps({"no_such_condition": "1"})},
        {**REDIS, "conditions": json.dumps({"result_status": "maybe"})},
        {**REDIS, "password": "__CENSORED__"},
        {**REDIS, "active": "perhaps"},
    ],
)
def test_bad_configuration_is_a_4xx_and_changes_nothing(
    client: TestClient, admin_headers: H, services: Services, fields: dict[str, str]
) -> None:
    r = client.post("/eventstream/bad", data=fields, headers=admin_headers)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["result"]["status"] is False and body["result"]["error"]["message"]
    with services.sessions() as session:
        assert session.scalar(select(EventStream)) is None


def test_bad_identifier(client: TestClient, admin_headers: H) -> None:
    r = client.post("/eventstream/bad%20name", data=REDIS, headers=admin_headers)
    assert r.status_code == 400


def test_events_and_filter_select_what_is_enqueued(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    configure(client, admin_headers, "all", **REDIS)
    configure(client, admin_headers, "checks", **REDIS, events="validate_check")
    # Only failed checks: the definitions' own condition.
    configure(
        client, admin_headers, "failed", **REDIS, events="validate_check",
        conditions=json.dumps({"result_value": "False"}),
    )  # fmt: skip
    configure(client, admin_headers, "off", **REDIS, active="false")
    trigger(client)
    client.get("/realm/", headers=admin_headers)
    by_stream: dict[str, list[str]] = {}
    for job in jobs(services):
        by_stream.setdefault(job.payload["stream"], []).append(job.payload["type"])
    assert by_stream["all"] == [
        "org.factorflow.event.validate_check",
        "org.factorflow.event.realm_list",
    ]
    assert by_stream["checks"] == ["org.factorflow.event.validate_check"]
    assert by_stream["failed"] == ["org.factorflow.event.validate_check"]
    assert "off" not in by_stream
    # The event's body is sealed in the job, as messages are.
    assert all("cloudevent" not in job.payload for job in jobs(services))
    configure(
        client, admin_headers, "failed", **REDIS, events="validate_check",
        conditions=json.dumps({"result_value": "True"}),
    )  # fmt: skip
    before = len(jobs(services))
    trigger(client)
    streams = [job.payload["stream"] for job in jobs(services)[before:]]
    assert sorted(streams) == ["all", "checks"]


def test_rights_in_the_policy_catalog(client: TestClient, admin_headers: H) -> None:
    r = client.get("/policy/defs/admin", headers=admin_headers)
    assert r.status_code == 200
    value = r.json()["result"]["value"]
    names = set(value) if isinstance(value, dict) else set()
    assert {"eventstream_read", "eventstream_write"} <= names


def test_a_failed_request_is_published_with_its_error(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    from tests.streams.test_brokers import job_body

    configure(client, admin_headers, "all", **REDIS, events="token_disable")
    r = client.post("/token/disable", data={"serial": "NOSUCH"}, headers=admin_headers)
    assert r.status_code >= 400
    assert len(jobs(services)) == 1
    event = json.loads(job_body(services)[1])
    assert event["type"] == "org.factorflow.event.token_disable"
    outcome = event["data"]["outcome"]
    assert outcome["success"] is False and outcome["status"] == r.status_code
    assert outcome["error"]["code"] == r.json()["result"]["error"]["code"]
    assert event["data"]["actor"] == {"role": "admin", "username": "admin", "realm": ""}


def test_a_deleted_stream_sends_its_queued_events_to_the_dead_letters(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    from tests.streams.conftest import deliver

    configure(client, admin_headers, "gone", **REDIS, events="validate_check")
    trigger(client)
    assert client.delete("/eventstream/gone", headers=admin_headers).status_code == 200
    deliver(services, lambda: jobs(services)[0].state == "dead")
    assert "no longer exists" in jobs(services)[0].last_error


@pytest.mark.parametrize(
    "body",
    [
        {"kind": ["redis"], "url": "redis://127.0.0.1", "stream_key": "k"},
        {**REDIS, "events": [1, 2]},
        {**REDIS, "events": {"a": 1}},
        {**REDIS, "conditions": ["serial"]},
        {**REDIS, "conditions": {"serial": {"nested": 1}}},
        {**REDIS, "maxlen": "1e400"},
        {**REDIS, "timeout": "abc"},
        {**REDIS, "description": {"a": 1}},
        {**REDIS, "condition_expression": "serial AND ("},
        {**REDIS, "unknown_is_match": [True]},
        {"kind": "mqtt", "host": "x", "topic": "t", "port": 10**30},
        {"kind": None},
    ],
)
def test_odd_json_is_a_4xx(
    client: TestClient, admin_headers: H, services: Services, body: dict[str, object]
) -> None:
    r = client.post("/eventstream/odd", json=body, headers=admin_headers)
    assert 400 <= r.status_code < 500, r.text
    with services.sessions() as session:
        assert session.scalar(select(EventStream)) is None
