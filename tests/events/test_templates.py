"""GET /event/templates: the documentation's examples, each saved by POST /event as it is."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.events.templates import LDAP_LOCK, LDAP_UNLOCK, TEMPLATES
from tests import factories

NEEDS_CONFIGURATION = {"notify-guessed-password", "mail-unused-tokens", "ldap-lock-at-max-fail",
                       "ldap-unlock-on-reset"}  # fmt: skip


def value(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def listed(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = value(client.get("/event/templates", headers=headers))
    return answer


def test_without_the_configuration_they_name_templates_say_why(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    answer = listed(client, admin_headers)
    assert [t["id"] for t in answer] == [t.id for t in TEMPLATES]
    assert len({t["id"] for t in answer}) == len(answer)
    assert {t["id"] for t in answer if not t["valid"]} == NEEDS_CONFIGURATION
    problems = {t["id"]: t["problem"] for t in answer}
    assert "emailconfig" in problems["notify-guessed-password"]
    assert "action" in problems["ldap-lock-at-max-fail"], problems
    assert all(t["requires"] for t in answer if t["id"] in NEEDS_CONFIGURATION)
    assert all(t["definition"]["active"] is False for t in answer)


def test_every_template_is_saved_by_post_event_as_it_is(
    client: TestClient, admin_headers: dict[str, str], services: Services
) -> None:
    factories.add_smtp_server(client, admin_headers, "mail1", 2525)
    scripts = services.settings.effective_script_directory
    scripts.mkdir(parents=True, exist_ok=True)
    for name in (LDAP_LOCK, LDAP_UNLOCK):
        (scripts / name).write_text("#!/bin/sh\nexit 0\n")
        (scripts / name).chmod(0o755)
    answer = listed(client, admin_headers)
    assert [(t["id"], t["problem"]) for t in answer if not t["valid"]] == []
    for template in answer:
        body = template["definition"]
        assert body["options"].get("emailconfig", "mail1") == "mail1"
        form = {**body, "event": ",".join(body["event"]), "active": str(body["active"])}
        form.update(unknown_is_match=str(body["unknown_is_match"]),
                    abort_on_error=str(body["abort_on_error"]))  # fmt: skip
        saved = factories.save_definition(client, admin_headers, **form)
        assert saved.status_code == 200, (template["id"], saved.text)
        [stored] = value(client.get(f"/event/{saved.json()['result']['value']}",
                                    headers=admin_headers))  # fmt: skip
        for key in ("name", "event", "handlermodule", "action", "position", "conditions",
                    "active", "unknown_is_match", "options"):  # fmt: skip
            assert stored[key] == body[key], (template["id"], key, stored[key])
        assert stored.get("schedule", "") == body.get("schedule", ""), template["id"]
    # The inline form (the web UI's Test and Backtest panels) takes them too.
    inline = json.dumps(answer[1]["definition"])
    assert value(client.post("/event/backtest", json={"definition": inline, "days": 1},
                             headers=admin_headers))["fired"] == 0  # fmt: skip


def test_templates_need_a_login(client: TestClient) -> None:
    assert client.get("/event/templates").status_code == 401
