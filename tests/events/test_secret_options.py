"""Secret options (issue 12, item 6): sealed at rest, censored in every answer, the
export, the history and the audit; kept when the placeholder comes back; the real
value reaches the receiver."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, text, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from factorflow.bootstrap import Services, build_services
from factorflow.cli.main import app
from factorflow.events.models import EventDefinition, EventDefinitionHistory
from factorflow.notify.models import SmsGateway
from factorflow.settings import Settings
from factorflow.worker import Worker
from tests.events.conftest import DefinitionMaker
from tests.events.test_webhook import SECRET, Receiver, receiver, settings  # noqa: F401
from tests.jobs.conftest import wait_for

H = dict[str, str]
CENSORED = "__CENSORED__"
BEARER = "Bearer tok-7f3a9c"
HEADERS = json.dumps({"Authorization": BEARER})
OTHER_SECRET = "whsec_" + base64.b64encode(b"another key of thirty-two bytes!").decode()


def table_text(services: Services, table: str) -> str:
    """Every stored value of ``table``, read directly, as one text."""
    with services.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT * FROM {table}")).all()
    return " ".join(str(value) for row in rows for value in row)


def hook(define: DefinitionMaker, url: str, **options: str) -> int:
    return define(
        name="hook",
        event="token_init",
        handlermodule="WebHook",
        action="post_webhook",
        options={"URL": url, "data": "{}", "secret": SECRET, "headers": HEADERS, **options},
    )


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def enrol_and_deliver(client: TestClient, headers: H, services: Services, r: Receiver) -> Any:
    """Fire the token_init definitions and deliver until the receiver has a request."""
    before = len(r.received)
    ok(client.post("/token/init", data={"type": "spass", "pin": "1"}, headers=headers))
    worker = Worker(services)

    def step() -> bool:
        worker.drain()
        return len(r.received) > before

    wait_for(step, timeout=20)
    return r.received[-1]


def test_secrets_are_sealed_at_rest_and_censored_in_every_answer(
    client: TestClient, admin_headers: H, services: Services, define: DefinitionMaker
) -> None:
    definition_id = hook(define, "http://127.0.0.1:9/hook")
    ok(client.post("/event", data={"id": definition_id, "name": "hook 2"}, headers=admin_headers))
    for table in ("event_definition", "event_definition_history", "audit"):
        stored = table_text(services, table)
        assert SECRET not in stored and "tok-7f3a9c" not in stored, table
    assert "v1:" in table_text(services, "event_definition")

    listed = ok(client.get("/event/", headers=admin_headers))[0]["options"]
    one = ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]["options"]
    history = ok(client.get(f"/event/{definition_id}/history", headers=admin_headers))
    exported = ok(client.get("/event/export", params={"format": "json"}, headers=admin_headers))
    yaml_text = client.get("/event/export", headers=admin_headers).text
    for options in (listed, one, *(h["definition"]["options"] for h in history)):
        assert options["secret"] == CENSORED and options["headers"] == CENSORED
        assert options["URL"] == "http://127.0.0.1:9/hook"  # not a secret
    assert exported["definitions"][0]["options"]["secret"] == CENSORED
    assert SECRET not in yaml_text and "tok-7f3a9c" not in yaml_text
    assert yaml.safe_load(yaml_text)["definitions"][0]["options"]["headers"] == CENSORED


def test_actions_metadata_marks_the_secret_options(client: TestClient, admin_headers: H) -> None:
    options = ok(client.get("/event/actions/WebHook", headers=admin_headers))["post_webhook"]
    assert options["secret"]["secret"] is True and options["headers"]["secret"] is True
    assert "secret" not in options["URL"] and "secret" not in options["data"]


def test_the_placeholder_keeps_the_secret_and_the_receiver_gets_the_real_one(
    client: TestClient,
    admin_headers: H,
    services: Services,
    define: DefinitionMaker,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.start()
    definition_id = hook(define, "http://127.0.0.1:9/old")
    # The web UI sends back what it read: the placeholders, with a changed URL.
    (shown,) = ok(client.get(f"/event/{definition_id}", headers=admin_headers))
    form = {f"option.{k}": v for k, v in shown["options"].items()}
    ok(
        client.post(
            "/event",
            data={**form, "option.URL": receiver.url, "id": definition_id},
            headers=admin_headers,
        )
    )
    got = enrol_and_deliver(client, admin_headers, services, receiver)
    assert got["verified"] is True  # signed with the real secret
    assert got["headers"]["authorization"] == BEARER
    stored = table_text(services, "event_definition") + table_text(services, "job")
    assert CENSORED not in stored and SECRET not in stored and "tok-7f3a9c" not in stored


def test_rollback_restores_the_real_secret_of_the_version(
    client: TestClient,
    admin_headers: H,
    services: Services,
    define: DefinitionMaker,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.start()
    definition_id = hook(define, receiver.url)
    update = {"id": definition_id, "option.URL": receiver.url, "option.secret": OTHER_SECRET}
    ok(client.post("/event", data=update, headers=admin_headers))
    assert enrol_and_deliver(client, admin_headers, services, receiver)["verified"] != True  # noqa: E712
    ok(client.post(f"/event/{definition_id}/rollback/1", headers=admin_headers))
    got = enrol_and_deliver(client, admin_headers, services, receiver)
    assert got["verified"] is True and got["headers"]["authorization"] == BEARER
    assert SECRET not in table_text(services, "event_definition_history")


def test_a_placeholder_with_nothing_stored_is_refused(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    data = {
        "name": "hook",
        "event": "token_init",
        "handlermodule": "WebHook",
        "action": "post_webhook",
        "option.URL": "http://127.0.0.1:9/hook",
        "option.secret": CENSORED,
    }
    r = client.post("/event", data=data, headers=admin_headers)
    assert r.status_code == 400
    message = r.json()["result"]["error"]["message"]
    assert "'secret'" in message and "send the secret itself" in message
    assert table_text(services, "event_definition") == ""


def test_import_of_a_censored_export_keeps_the_secret_or_says_why_it_cannot(
    client: TestClient, admin_headers: H, services: Services, define: DefinitionMaker
) -> None:
    definition_id = hook(define, "http://127.0.0.1:9/hook")
    exported = client.get("/event/export", headers=admin_headers).text
    report = ok(client.post("/event/import", data={"data": exported}, headers=admin_headers))
    assert (report["unchanged"], report["updated"]) == (1, 0)
    with services.sessions() as session:
        row = session.get(EventDefinition, definition_id)
        assert row is not None
        assert services.events.compile(row).options.secret == SECRET  # type: ignore[attr-defined]
    # Another database (no definition with this uid): refused, naming entry and option.
    ok(client.delete(f"/event/{definition_id}", headers=admin_headers))
    r = client.post("/event/import", data={"data": exported}, headers=admin_headers)
    assert r.status_code == 400
    message = r.json()["result"]["error"]["message"]
    assert "definition 1 ('hook')" in message and "there is no stored definition" in message
    assert table_text(services, "event_definition") == ""


def test_cli_backup_with_secrets_restores_them_elsewhere(
    client: TestClient,
    admin_headers: H,
    services: Services,
    define: DefinitionMaker,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FACTORFLOW_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("FACTORFLOW_DATABASE_URL", database_url)
    definition_id = hook(define, "http://127.0.0.1:9/hook")
    runner = CliRunner()
    plain = runner.invoke(app, ["event", "export"])
    assert plain.exit_code == 0 and SECRET not in plain.stdout and CENSORED in plain.stdout
    backup = tmp_path / "backup.yaml"
    result = runner.invoke(app, ["event", "export", "--with-secrets", "--file", str(backup)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert SECRET in backup.read_text() and BEARER in backup.read_text()
    ok(client.delete(f"/event/{definition_id}", headers=admin_headers))
    restored = runner.invoke(app, ["event", "import", str(backup)])
    assert restored.exit_code == 0, restored.output
    with services.sessions() as session:
        [row] = session.scalars(select(EventDefinition)).all()
        assert SECRET not in json.dumps(row.options)
        assert services.events.compile(row).options.secret == SECRET  # type: ignore[attr-defined]


def test_dry_runs_do_not_reveal_secrets(
    client: TestClient, admin_headers: H, define: DefinitionMaker
) -> None:
    definition_id = hook(define, "http://127.0.0.1:9/hook")
    stored = client.post("/event/test", data={"eventid": definition_id}, headers=admin_headers)
    (shown,) = ok(client.get(f"/event/{definition_id}", headers=admin_headers))
    # The Test panel sends the form as it is: placeholders standing for the stored secrets.
    placeholders = {**shown["options"], "secret": CENSORED, "headers": CENSORED}
    inline = client.post(
        "/event/test",
        data={"definition": json.dumps({**shown, "event": "token_init", "options": placeholders})},
        headers=admin_headers,
    )
    for response in (stored, inline):
        assert response.status_code == 200, response.text
        assert SECRET not in response.text and "tok-7f3a9c" not in response.text
    options = ok(inline)["definitions"][0]["action"] or {}
    assert options == {} or options["options"]["secret"] == "***"


def test_plaintext_secrets_of_an_older_version_are_sealed_on_upgrade(
    client: TestClient,
    admin_headers: H,
    services: Services,
    settings: Settings,  # noqa: F811
) -> None:
    options = {"URL": "http://127.0.0.1:9/hook", "secret": SECRET, "headers": HEADERS}
    with services.sessions.begin() as session:
        row = EventDefinition(uid="legacy-1", name="old", events=["token_init"],
                              handlermodule="WebHook", action="post_webhook", options=options)  # fmt: skip
        session.add(row)
        session.flush()
        session.add(EventDefinitionHistory(definition_id=row.id, version=1, change="create",
                                           snapshot={"uid": "legacy-1", "handlermodule": "WebHook",
                                                     "action": "post_webhook", "options": options}))  # fmt: skip
    gateway = {"name": "gw1", "option.URL": "http://127.0.0.1:9/send", "header.X-Api-Key": "k-1"}
    ok(client.post("/smsgateway", data=gateway, headers=admin_headers))
    with services.sessions.begin() as session:  # as an older version stored it
        session.execute(update(SmsGateway).values(headers={"X-Api-Key": "k-1"}))
    assert SECRET in table_text(services, "event_definition")

    upgraded = build_services(settings)  # the start after the upgrade
    upgraded.close()
    for table in ("event_definition", "event_definition_history", "sms_gateway"):
        stored = table_text(services, table)
        assert SECRET not in stored and "tok-7f3a9c" not in stored and "k-1" not in stored, table
    with services.sessions() as session:
        [row] = session.scalars(select(EventDefinition)).all()
        compiled = services.events.compile(row).options
        assert compiled.secret == SECRET and compiled.headers == HEADERS  # type: ignore[attr-defined]
        assert services.notify.sms_settings(session, "gw1").headers == {"X-Api-Key": "k-1"}
    assert ok(client.get("/event/", headers=admin_headers))[0]["options"]["secret"] == CENSORED
