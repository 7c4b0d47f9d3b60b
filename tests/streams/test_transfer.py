"""Event streams exported to YAML and imported again: secrets censored on the way out and
kept on the way in, matched by identifier, idempotent, all or nothing, bad input a 400."""

from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.events.streams.models import EventStream
from factorflow.events.streams.service import stored_options
from tests.streams.conftest import H, configure

REDIS = {"kind": "redis", "url": "redis://127.0.0.1:6379/0", "stream_key": "ff-transfer"}
#: The same stream as an entry of the file: the broker's options under ``options``.
ENTRY = {"kind": "redis", "options": {"url": REDIS["url"], "stream_key": REDIS["stream_key"]}}


def import_(client: TestClient, headers: H, text: str, **extra: str) -> dict[str, object]:
    response = client.post("/eventstream/import", json={"data": text, **extra}, headers=headers)
    assert response.status_code == 200, response.text
    value: dict[str, object] = response.json()["result"]["value"]
    return value


def rows(services: Services) -> list[tuple[str, str, str]]:
    with services.sessions() as session:
        return [
            (r.identifier, r.description, json.dumps(r.options, sort_keys=True))
            for r in session.scalars(select(EventStream).order_by(EventStream.identifier))
        ]


def test_export_and_import_round_trip(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    configure(client, admin_headers, "siem", **REDIS, password="s3cret", description="SIEM",
              events="validate_check", conditions=json.dumps({"result_value": "False"}))  # fmt: skip
    configure(client, admin_headers, "lake", kind="mqtt", host="127.0.0.1", topic="ff/events")
    response = client.get("/eventstream/export", headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/yaml")
    assert "s3cret" not in response.text
    document = yaml.safe_load(response.text)
    assert document["format"] == "factorflow-eventstreams"
    siem = {s["identifier"]: s for s in document["streams"]}["siem"]
    assert siem["options"]["password"] == "__CENSORED__"
    assert (siem["events"], siem["conditions"]) == (["validate_check"], {"result_value": "False"})

    before = rows(services)
    report = import_(client, admin_headers, response.text)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 2)
    assert rows(services) == before  # nothing written: no new ciphertext either

    siem["description"] = "SIEM (changed)"
    document["streams"] = [siem, {"identifier": "copy", **ENTRY}]
    report = import_(client, admin_headers, yaml.safe_dump(document))
    assert report["streams"] == [{"identifier": "siem", "result": "updated"},
                                 {"identifier": "copy", "result": "created"}]  # fmt: skip
    with services.sessions() as session:
        options = stored_options(session, services.box, "siem")
        assert options is not None and options.password == "s3cret"  # the censored kept
    listing = client.get("/eventstream/", headers=admin_headers).json()["result"]["value"]
    assert listing["siem"]["description"] == "SIEM (changed)" and set(listing) == {
        "siem", "lake", "copy",
    }  # fmt: skip  # "lake" was not in the file: left alone
    as_json = client.get("/eventstream/export", params={"format": "json", "identifier": "lake"},
                         headers=admin_headers).json()["result"]["value"]  # fmt: skip
    assert [s["identifier"] for s in as_json["streams"]] == ["lake"]


def test_a_dry_run_changes_nothing(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    text = yaml.safe_dump({"streams": [{"identifier": "new", **ENTRY}]})
    report = import_(client, admin_headers, text, dry_run="1")
    assert (report["created"], report["dry_run"]) == (1, True)
    assert rows(services) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "streams: [{identifier: a, kind: redis, url: 'redis://127.0.0.1', stream_key: k,"
            " colour: red}]",
            "unknown field 'colour'",
        ),
        ("streams: [{identifier: a, kind: kafka}]", "'kind'"),
        (
            "streams: [{identifier: a, kind: redis, options: {url: 'http://x', stream_key: k}}]",
            "stream 2 ('a'): Invalid parameter 'url'",
        ),
        (
            "streams: [{identifier: a, kind: redis, options: {password: __CENSORED__,"
            " url: 'redis://127.0.0.1', stream_key: k}}]",
            "nothing is stored",
        ),
        ("streams: [{identifier: a, kind: redis, options: {url: [1, 2]}}]", "'options'"),
        ("streams: [{identifier: a, kind: redis, options: {events: x}}]", "stream fields"),
        ("streams: [{kind: redis}]", "'identifier'"),
        ("format: factorflow-events\nstreams: []", "unknown format"),
        ("streams: 3", "expected a list"),
        ("a: &x [1]\nb: *x", "aliases"),
        ("!!python/object:os.system {}", "YAML"),
        ("", "empty"),
    ],
)
def test_bad_files_are_refused_whole(
    client: TestClient, admin_headers: H, services: Services, text: str, message: str
) -> None:
    good = {"identifier": "good", **ENTRY}
    configure(client, admin_headers, "kept", **REDIS, description="before")
    before = rows(services)
    if text.startswith("streams: [{"):  # a good entry first: all or nothing
        text = text.replace("streams: [", f"streams: [{json.dumps(good)}, ", 1)
    response = client.post("/eventstream/import", json={"data": text}, headers=admin_headers)
    assert response.status_code == 400, response.text
    assert message in response.json()["result"]["error"]["message"], response.text
    assert rows(services) == before


def test_reserved_paths_and_rights(client: TestClient, admin_headers: H) -> None:
    bad = client.get("/eventstream/export", params={"format": "xml"}, headers=admin_headers)
    assert bad.status_code == 400
    assert client.get("/eventstream/export").status_code == 401
    assert client.post("/eventstream/import", json={"data": "[]"}).status_code == 401
    missing = client.post("/eventstream/import", json={}, headers=admin_headers)
    assert missing.status_code == 400
