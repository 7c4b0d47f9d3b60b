from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from factorflow.bootstrap import Services
from factorflow.cli.main import app
from factorflow.jobs.queue import JobQueue
from factorflow.worker import Worker
from tests.jobs.conftest import add_smtp, enqueue_email, load_job
from tests.notify.servers import Recorder, SmtpServer, free_port

Api = Callable[..., Any]


def dead_job(services: Services) -> int:
    add_smtp(services, free_port())
    job_id = enqueue_email(services, max_attempts=1)
    Worker(services).run_once()
    assert load_job(services, job_id).state == "dead"
    return job_id


def test_list_filters_and_paging(api: Api, services: Services) -> None:
    dead = dead_job(services)
    queued = [enqueue_email(services, definition="mail-owner") for _ in range(3)]
    with services.sessions.begin() as session:
        services.jobs.enqueue(
            session, kind="sms", payload={"gateway": "g", "phone": "+1", "message": "m"}
        )
    value = api("GET", "/jobs/").json()["result"]["value"]
    assert value["count"] == 5
    assert [j["id"] for j in value["jobs"]] == sorted([dead, *queued, 5], reverse=True)
    assert "payload" not in value["jobs"][0]
    by_state = api("GET", "/jobs/", params={"state": "dead"}).json()["result"]["value"]
    assert [j["id"] for j in by_state["jobs"]] == [dead]
    by_kind = api("GET", "/jobs/", params={"kind": "sms"}).json()["result"]["value"]
    assert [j["kind"] for j in by_kind["jobs"]] == ["sms"]
    by_def = api("GET", "/jobs/", params={"definition": "mail-owner"}).json()["result"]["value"]
    assert sorted(j["id"] for j in by_def["jobs"]) == queued
    page = api("GET", "/jobs/", params={"page": 2, "page_size": 2}).json()["result"]["value"]
    assert (page["count"], len(page["jobs"]), page["prev"], page["next"]) == (5, 2, 1, 3)
    bad = api("GET", "/jobs/", params={"state": "lost"})
    assert bad.status_code == 400 and "'state'" in bad.json()["result"]["error"]["message"]


def test_show_retry_and_discard(
    api: Api, services: Services, recorder: Recorder, smtp_server: SmtpServer
) -> None:
    job_id = dead_job(services)
    shown = api("GET", f"/jobs/{job_id}").json()["result"]["value"]
    assert shown["state"] == "dead" and shown["recipient"] == "al***@example.org"
    assert shown["attempt_log"][0]["outcome"] == "failed"
    assert "unreachable" in shown["last_error"]
    # Point the configuration at a live server, then retry: a fresh attempt budget.
    add_smtp(services, smtp_server.port)
    retried = api("POST", f"/jobs/{job_id}/retry").json()["result"]["value"]
    assert (retried["state"], retried["attempts"]) == ("queued", 0)
    assert Worker(services).run_once()
    job = load_job(services, job_id)
    assert job.state == "delivered"
    assert [a.number for a in job.attempt_log] == [1, 2]
    assert len(recorder.messages) == 1
    refused = api("POST", f"/jobs/{job_id}/discard")
    assert refused.status_code == 400
    assert "delivered" in refused.json()["result"]["error"]["message"]
    waiting = enqueue_email(services)
    assert api("POST", f"/jobs/{waiting}/discard").json()["result"]["value"]["state"] == "discarded"
    assert Worker(services).run_once() is False
    assert api("POST", f"/jobs/{waiting}/retry").json()["result"]["value"]["state"] == "queued"
    assert api("GET", "/jobs/999").status_code == 404
    assert api("POST", "/jobs/999/retry").status_code == 404
    assert api("GET", "/jobs/abc").status_code == 400


def test_a_running_job_cannot_be_retried_or_discarded(api: Api, services: Services) -> None:
    job_id = enqueue_email(services)
    assert JobQueue(services.sessions, services.settings).claim("w1") is not None
    for verb in ("retry", "discard"):
        r = api("POST", f"/jobs/{job_id}/{verb}")
        assert r.status_code == 400
        assert "running" in r.json()["result"]["error"]["message"]


def test_jobs_api_is_admin_only(client: TestClient, flatfile_realm: str) -> None:
    from tests.conftest import user_headers

    headers = user_headers(client, "alice")
    assert client.get("/jobs/", headers=headers).status_code == 401
    assert client.post("/jobs/1/retry", headers=headers).status_code == 401
    assert client.get("/jobs/").status_code == 401


@pytest.fixture
def cli_env(services: Services, database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FACTORFLOW_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("FACTORFLOW_DATABASE_URL", database_url)
    return CliRunner()


def test_cli_list_show_retry_discard(cli_env: CliRunner, services: Services) -> None:
    dead = dead_job(services)
    waiting = enqueue_email(services)
    listing = cli_env.invoke(app, ["jobs", "list", "--state", "dead"])
    assert listing.exit_code == 0, listing.output
    assert "dead" in listing.output and "1 jobs" in listing.output
    shown = cli_env.invoke(app, ["jobs", "show", str(dead)])
    assert shown.exit_code == 0, shown.output
    assert "unreachable" in shown.output and "failed" in shown.output
    retried = cli_env.invoke(app, ["jobs", "retry", str(dead)])
    assert retried.exit_code == 0 and "queued" in retried.output
    discarded = cli_env.invoke(app, ["jobs", "discard", str(waiting)])
    assert discarded.exit_code == 0 and "discarded" in discarded.output
    assert load_job(services, waiting).state == "discarded"
    missing = cli_env.invoke(app, ["jobs", "show", "999"])
    assert missing.exit_code == 1 and "no job 999" in missing.output
    again = cli_env.invoke(app, ["jobs", "discard", str(waiting)])
    assert again.exit_code == 1
