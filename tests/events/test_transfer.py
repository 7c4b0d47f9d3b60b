"""Definitions as configuration: export / import in YAML with stable uids, through the
API and the CLI; privacyIDEA exports; all-or-nothing validation; bad input."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import delete, func, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from factorflow.bootstrap import Services
from factorflow.cli.main import app
from factorflow.events.cache import read_version
from factorflow.events.models import EventDefinition, EventDefinitionHistory
from factorflow.events.transfer import dump_yaml
from tests.events.conftest import DefinitionMaker

Headers = dict[str, str]


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["result"]["error"]["message"]
    return message


def seed(define: DefinitionMaker) -> list[int]:
    return [
        define(name="lock notice", event="validate_check,token_init", handlermodule="Logging",
               action="logging", ordering=10,
               options={"message": "locked {serial} 50%", "level": "WARNING"},
               conditions={"token_locked": "True", "realm": "staff"}),
        define(name="ship", event="token_init", handlermodule="Token", action="set description",
               options={"description": "This token needs to be shipped {now}+7d"},
               unknown_is_match="0", conditions={"tokentype": "hotp", "serial": "^OATH"},
               condition_expression="tokentype OR serial"),
        define(name="count", event="validate_check", handlermodule="Counter",
               action="increase_counter", options={"counter_name": "fails"}, active="0",
               position="pre", abort_on_error="1"),
    ]  # fmt: skip


def export_text(client: TestClient, headers: Headers, **params: Any) -> str:
    response = client.get("/event/export", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/yaml")
    return response.text


def import_(client: TestClient, headers: Headers, data: Any, **extra: Any) -> Any:
    return client.post("/event/import", json={"data": data, **extra}, headers=headers)


def definitions(client: TestClient, headers: Headers) -> list[dict[str, Any]]:
    return list(ok(client.get("/event/", headers=headers)))


def without_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k != "id"} for item in items]


def history_rows(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(EventDefinitionHistory)) or 0)


def wipe_definitions(services: Services) -> None:
    with services.sessions.begin() as session:
        session.execute(delete(EventDefinitionHistory))
        session.execute(delete(EventDefinition))


def config_version(services: Services) -> str:
    with services.sessions() as session:
        return read_version(session)


def test_export_import_round_trip_on_an_empty_database(
    client: TestClient, admin_headers: Headers, define: DefinitionMaker, services: Services
) -> None:
    seed(define)
    before = definitions(client, admin_headers)
    text = export_text(client, admin_headers)
    document = yaml.safe_load(text)
    assert document["format"] == "factorflow-events" and document["version"] == 1
    assert [d["uid"] for d in document["definitions"]] == [d["uid"] for d in before]
    assert "id" not in document["definitions"][0]  # database ids are local
    # Option values stay strings ('True' is not turned into a boolean).
    by_name = {d["name"]: d for d in document["definitions"]}
    assert by_name["lock notice"]["conditions"]["token_locked"] == "True"

    wipe_definitions(services)
    assert definitions(client, admin_headers) == []
    report = ok(import_(client, admin_headers, text))
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 0, 0)
    after = definitions(client, admin_headers)
    assert without_ids(after) == without_ids(before)
    assert export_text(client, admin_headers) == text
    # Each import is recorded with who and when.
    history = ok(client.get(f"/event/{after[0]['id']}/history", headers=admin_headers))
    assert [(h["version"], h["change"], h["who"]) for h in history] == [(1, "import", "admin")]
    assert history[0]["at"]


def test_importing_twice_changes_nothing(
    client: TestClient, admin_headers: Headers, define: DefinitionMaker, services: Services
) -> None:
    seed(define)
    text = export_text(client, admin_headers)
    before = definitions(client, admin_headers)
    rows, version = history_rows(services), config_version(services)
    for _ in range(2):
        report = ok(import_(client, admin_headers, text))
        assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 3)
        assert {d["result"] for d in report["definitions"]} == {"unchanged"}
    assert history_rows(services) == rows
    assert config_version(services) == version  # no cache reload anywhere
    assert definitions(client, admin_headers) == before


def test_a_modified_file_updates_by_uid(
    client: TestClient, admin_headers: Headers, define: DefinitionMaker, services: Services
) -> None:
    ids = seed(define)
    document = yaml.safe_load(export_text(client, admin_headers))
    by_name = {d["name"]: d for d in document["definitions"]}
    first, second, third = by_name["lock notice"], by_name["ship"], by_name["count"]
    first["options"]["level"] = "ERROR"
    first["name"] = "lock notice v2"
    del second["conditions"]  # the file is the whole definition: omitted = default
    second["condition_expression"] = ""
    rows = history_rows(services)
    report = ok(import_(client, admin_headers, yaml.safe_dump(document)))
    assert sorted((d["id"], d["result"]) for d in report["definitions"]) == [
        (ids[0], "updated"), (ids[1], "updated"), (ids[2], "unchanged"),
    ]  # fmt: skip
    assert history_rows(services) == rows + 2
    one = ok(client.get(f"/event/{ids[0]}", headers=admin_headers))[0]
    assert one["name"] == "lock notice v2" and one["options"]["level"] == "ERROR"
    assert one["uid"] == first["uid"]
    assert ok(client.get(f"/event/{ids[1]}", headers=admin_headers))[0]["conditions"] == {}
    history = ok(client.get(f"/event/{ids[0]}/history", headers=admin_headers))
    assert history[-1]["change"] == "import" and history[-1]["version"] == 2
    # A rollback restores the version before the import.
    ok(client.post(f"/event/{ids[0]}/rollback/1", headers=admin_headers))
    assert ok(client.get(f"/event/{ids[0]}", headers=admin_headers))[0]["name"] == "lock notice"
    # A new uid in the file creates a definition; the others are left alone.
    third["uid"] = "hand-written-1"
    report = ok(import_(client, admin_headers, {"definitions": [third]}))
    assert report["created"] == 1 and report["definitions"][0]["uid"] == "hand-written-1"
    assert len(definitions(client, admin_headers)) == 4


def test_dry_run_reports_and_changes_nothing(
    client: TestClient, admin_headers: Headers, define: DefinitionMaker, services: Services
) -> None:
    seed(define)
    document = yaml.safe_load(export_text(client, admin_headers))
    document["definitions"][0]["ordering"] = 99
    document["definitions"].append({**copy.deepcopy(document["definitions"][1]), "uid": "new"})
    before, rows = definitions(client, admin_headers), history_rows(services)
    report = ok(import_(client, admin_headers, yaml.safe_dump(document), dry_run=True))
    assert report["dry_run"] is True
    assert [d["result"] for d in report["definitions"]] == [
        "updated", "unchanged", "unchanged", "created",
    ]  # fmt: skip
    assert report["definitions"][3]["id"] is None
    assert definitions(client, admin_headers) == before and history_rows(services) == rows


PI_EXPORT = [
    {"id": 3, "name": "notify on lock", "active": True, "ordering": 0, "position": "post",
     "abort_on_error": False, "handlermodule": "Logging", "action": "logging",
     "condition": "", "event": ["validate_check", "auth"],
     "options": {"message": "{user} locked", "level": "INFO"},
     "conditions": {"token_locked": "True", "realm": "r1,r2"}},
    {"id": 7, "name": "storage realm", "active": False, "ordering": 2, "position": "",
     "handlermodule": "Token", "action": "set tokenrealm", "condition": "",
     "event": "token_init", "options": {"realm": "storage", "only_realm": "True"},
     "conditions": {}},
]  # fmt: skip


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_privacyidea_export_imports(
    client: TestClient, admin_headers: Headers, services: Services, wrapped: bool
) -> None:
    # pi-manage config export writes {"event": [...], <other config types>: ...}.
    data = {"event": PI_EXPORT, "policy": {}} if wrapped else PI_EXPORT
    text = yaml.safe_dump(data) if wrapped else json.dumps(data)
    report = ok(import_(client, admin_headers, text))
    assert report["created"] == 2
    stored = {d["uid"]: d for d in definitions(client, admin_headers)}
    assert set(stored) == {"privacyidea-3", "privacyidea-7"}
    notify, realm = stored["privacyidea-3"], stored["privacyidea-7"]
    assert notify["unknown_is_match"] is True and realm["unknown_is_match"] is True
    assert notify["event"] == ["validate_check", "auth"]
    assert notify["conditions"] == {"token_locked": "True", "realm": "r1,r2"}
    assert realm["position"] == "post" and realm["active"] is False and realm["ordering"] == 2
    assert realm["options"] == {"realm": "storage", "only_realm": "True"}
    rows = history_rows(services)
    again = ok(import_(client, admin_headers, text))
    assert again["unchanged"] == 2 and history_rows(services) == rows


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"handlermodule": "Nope"}, "definition 2 ('ship'): Unknown handler module: 'Nope'"),
        ({"action": "explode"}, "definition 2 ('ship'): Invalid parameter 'action'"),
        ({"options": {"colour": "red"}}, "definition 2 ('ship'): Unknown option 'colour'"),
        ({"conditions": {"moon_phase": "full"}}, "definition 2 ('ship'): Unknown condition"),
        ({"conditions": {"serial": "(["}}, "definition 2 ('ship'): Invalid condition 'serial'"),
        ({"position": "middle"}, "definition 2 ('ship'): Invalid parameter 'position'"),
        ({"event": ["no_such_event"]}, "definition 2 ('ship'): Invalid parameter 'event'"),
        ({"ordering": "first"}, "definition 2 ('ship'): Invalid parameter 'ordering'"),
        ({"active": [1]}, "definition 2 ('ship'): Invalid parameter 'active'"),
        ({"options": {"description": {"a": 1}}}, "'options.description': must be a text"),
        ({"options": "description=x"}, "Invalid parameter 'options': must be a mapping"),
        ({"colour": "red"}, "definition 2 ('ship'): Unknown field 'colour'"),
        ({"uid": "bad uid!"}, "definition 2 ('ship'): Invalid parameter 'uid'"),
        ({"uid": None, "id": None}, "definition 2 ('ship'): Missing parameter: 'uid'"),
        ({"uid": "one"}, "'uid': 'one' is also used by definition 1"),
        ({"name": ""}, "definition 2: Missing parameter: 'name'"),
        ({"action": None}, "definition 2 ('ship'): Missing parameter: 'action'"),
        ({"condition_expression": "serial AND"}, "'condition_expression'"),
    ],
)
def test_an_invalid_entry_refuses_the_whole_file(
    client: TestClient,
    admin_headers: Headers,
    services: Services,
    change: dict[str, Any],
    expected: str,
) -> None:
    good = {
        "uid": "one",
        "name": "fine",
        "event": ["token_init"],
        "handlermodule": "Logging",
        "action": "logging",
        "options": {"message": "hi"},
    }
    bad = {"uid": "two", "name": "ship", "event": ["token_init"], "handlermodule": "Token",
           "action": "set description", "options": {"description": "x"},
           "conditions": {"serial": "^OATH"}}  # fmt: skip
    bad.update(change)
    message = error(import_(client, admin_headers, yaml.safe_dump([good, bad])))
    assert expected in message
    assert definitions(client, admin_headers) == [] and history_rows(services) == 0


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("a: [b", "not valid YAML or JSON"),
        ('{"a": ', "not valid YAML or JSON"),
        ("just some text", "expected a list of definitions"),
        ("42", "expected a list of definitions"),
        ("colour: red", "expected a list of definitions"),
        ("definitions: {a: 1}", "'definitions' must be a list"),
        ("format: other\ndefinitions: []", "unknown format"),
        ("format: factorflow-events\nversion: 9\ndefinitions: []", "unsupported version"),
        ("- just text", "definition 1: must be a mapping"),
        ("- [1, 2]", "definition 1: must be a mapping"),
        ("!!python/object/apply:os.system ['true']", "not valid YAML or JSON"),
        ("a: &x [1]\nb: *x", "aliases are not allowed"),
        ("[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
        (["not", "mappings"], "definition 1: must be a mapping"),
        (17, "expected a list of definitions"),
    ],
)
def test_bad_input_is_a_clear_400(
    client: TestClient, admin_headers: Headers, data: Any, expected: str
) -> None:
    assert expected in error(import_(client, admin_headers, data))
    assert definitions(client, admin_headers) == []


def test_billion_laughs_and_huge_bodies_are_refused(
    client: TestClient, admin_headers: Headers
) -> None:
    laughs = "a: &a ['lol','lol']\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(9)
    )
    assert "aliases" in error(import_(client, admin_headers, laughs))
    huge = "- " + "x" * (2 * 1024 * 1024)
    response = import_(client, admin_headers, huge)
    assert response.status_code == 413
    response = client.post(
        "/event/import", files={"file": ("events.yaml", huge.encode())}, headers=admin_headers
    )
    assert response.status_code == 413
    assert error(client.post("/event/import", data={}, headers=admin_headers)).startswith(
        "ERR905: Missing parameter: 'data'"
    )
    not_utf8 = client.post(
        "/event/import", files={"file": ("e.yaml", b"\xff\xfe")}, headers=admin_headers
    )
    assert "UTF-8" in error(not_utf8)


def test_uploaded_file_and_form_parameter(
    client: TestClient, admin_headers: Headers, define: DefinitionMaker, services: Services
) -> None:
    seed(define)
    text = export_text(client, admin_headers)
    wipe_definitions(services)
    uploaded = client.post(
        "/event/import", files={"file": ("events.yaml", text.encode())}, headers=admin_headers
    )
    assert ok(uploaded)["created"] == 3
    # A form parameter works as well (the '%' in an option survives privacyIDEA's
    # second URL-decoding because it is not followed by two hex digits).
    again = ok(client.post("/event/import", data={"data": text}, headers=admin_headers))
    assert again["unchanged"] == 3 and len(definitions(client, admin_headers)) == 3


def test_export_filters_and_json_format(
    client: TestClient, admin_headers: Headers, define: DefinitionMaker
) -> None:
    ids = seed(define)
    by_name = yaml.safe_load(export_text(client, admin_headers, name="ship"))
    assert [d["name"] for d in by_name["definitions"]] == ["ship"]
    by_ids = yaml.safe_load(export_text(client, admin_headers, ids=f"{ids[0]},{ids[2]}"))
    assert [d["name"] for d in by_ids["definitions"]] == ["count", "lock notice"]
    uid = by_name["definitions"][0]["uid"]
    assert len(yaml.safe_load(export_text(client, admin_headers, uid=uid))["definitions"]) == 1
    as_json = ok(client.get("/event/export", params={"format": "json"}, headers=admin_headers))
    assert as_json == yaml.safe_load(export_text(client, admin_headers))
    assert "'format'" in error(
        client.get("/event/export", params={"format": "xml"}, headers=admin_headers)
    )
    assert "'ids'" in error(client.get("/event/export", params={"ids": "x"}, headers=admin_headers))


def test_export_and_import_are_admin_only(client: TestClient, flatfile_realm: str) -> None:
    from tests.conftest import user_headers

    assert client.get("/event/export").status_code == 401
    assert client.post("/event/import", json={"data": "[]"}).status_code == 401
    alice = user_headers(client, "alice")
    assert client.get("/event/export", headers=alice).status_code == 401
    assert client.post("/event/import", json={"data": "[]"}, headers=alice).status_code == 401


# -- CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli(services: Services, database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FACTORFLOW_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("FACTORFLOW_DATABASE_URL", database_url)
    return CliRunner()


def test_cli_export_and_import(
    cli: CliRunner,
    client: TestClient,
    admin_headers: Headers,
    define: DefinitionMaker,
    services: Services,
    tmp_path: Path,
) -> None:
    seed(define)
    before = definitions(client, admin_headers)
    target = tmp_path / "events.yaml"
    result = cli.invoke(app, ["event", "export", "--file", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text() == export_text(client, admin_headers)
    stdout = cli.invoke(app, ["event", "export", "--name", "ship"])
    assert (
        stdout.exit_code == 0 and yaml.safe_load(stdout.stdout)["definitions"][0]["name"] == "ship"
    )

    wipe_definitions(services)
    dry = cli.invoke(app, ["event", "import", str(target), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "created 3, updated 0, unchanged 0 (dry run" in dry.output
    assert definitions(client, admin_headers) == []
    result = cli.invoke(app, ["event", "import", str(target)])
    assert result.exit_code == 0, result.output
    assert "created 3, updated 0, unchanged 0" in result.output
    assert without_ids(definitions(client, admin_headers)) == without_ids(before)
    again = cli.invoke(app, ["event", "import", str(target)])
    assert "created 0, updated 0, unchanged 3" in again.output
    first = definitions(client, admin_headers)[0]
    history = ok(client.get(f"/event/{first['id']}/history", headers=admin_headers))
    assert len(history) == 1 and history[0]["who"].startswith("cli")


def test_cli_import_refuses_an_invalid_file(
    cli: CliRunner, client: TestClient, admin_headers: Headers, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            [
                {
                    "uid": "a",
                    "name": "ok",
                    "event": ["token_init"],
                    "handlermodule": "Logging",
                    "action": "logging",
                    "options": {"message": "m"},
                },
                {
                    "uid": "b",
                    "name": "typo",
                    "event": ["token_iint"],
                    "handlermodule": "Logging",
                    "action": "logging",
                },
            ]
        )
    )
    result = cli.invoke(app, ["event", "import", str(bad)])
    assert result.exit_code == 1
    assert "definition 2 ('typo')" in result.output and "token_iint" in result.output
    assert definitions(client, admin_headers) == []
    missing = cli.invoke(app, ["event", "import", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2


def test_dump_yaml_never_writes_aliases() -> None:
    shared = {"level": "INFO", "message": "{now}+7d: True"}
    document = {"definitions": [{"options": shared}, {"options": shared}]}
    text = dump_yaml(document)
    assert "&" not in text and "*" not in text
    assert re.search(r"message: '\{now\}\+7d: True'", text)


def test_a_deleted_definition_restored_by_rollback_keeps_its_uid(
    client: TestClient, admin_headers: Headers, define: DefinitionMaker
) -> None:
    definition_id = seed(define)[1]
    uid = ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]["uid"]
    ok(client.delete(f"/event/{definition_id}", headers=admin_headers))
    ok(client.post(f"/event/{definition_id}/rollback/1", headers=admin_headers))
    assert ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]["uid"] == uid
