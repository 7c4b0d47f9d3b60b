"""/metrics: Prometheus text, per-definition counters and latency, request counters,
access (admin JWT or the scrape token), no state shared between Services."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.events.metrics import EventMetrics, token_accepted
from tests.events.conftest import DefinitionMaker

Headers = dict[str, str]


def scrape(
    client: TestClient, headers: Headers
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert not response.text.startswith("{")  # not the JSON envelope
    samples = {}
    node = client.app.state.services.settings.node_name  # type: ignore[attr-defined]
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = dict(sample.labels)
            # Every sample carries this node's name (several nodes behind a balancer).
            assert labels.pop("node") == node, sample
            samples[(sample.name, frozenset(labels.items()))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_counters_move_when_a_definition_matches_and_when_an_action_fails(
    client: TestClient, admin_headers: Headers, define: DefinitionMaker
) -> None:
    hit = define(
        name="count lists",
        event="event_list",
        handlermodule="Counter",
        action="increase_counter",
        options={"counter_name": "lists"},
    )
    miss = define(
        name="never",
        event="event_list",
        handlermodule="Counter",
        action="increase_counter",
        options={"counter_name": "n"},
        conditions={"result_status": "False"},
    )
    broken = define(name="no serial", event="event_list", handlermodule="Token",
                    action="disable")  # fmt: skip
    before = scrape(client, admin_headers)
    for _ in range(3):
        assert client.get("/event/", headers=admin_headers).status_code == 200
    after = scrape(client, admin_headers)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    def of(definition_id: int, name: str) -> dict[str, str]:
        return {"definition_id": str(definition_id), "definition": name}

    # The scrapes themselves are event_list requests: 3 GETs + 1 scrape in between.
    assert delta("factorflow_event_definition_evaluated_total", **of(hit, "count lists")) == 4
    assert delta("factorflow_event_definition_matched_total", **of(hit, "count lists")) == 4
    assert delta("factorflow_event_definition_skipped_total", **of(hit, "count lists")) == 0
    assert delta("factorflow_event_definition_skipped_total", **of(miss, "never")) == 4
    assert delta("factorflow_event_definition_matched_total", **of(miss, "never")) == 0
    assert delta("factorflow_event_definition_actions_total", **of(hit, "count lists"),
                 result="ok") == 4  # fmt: skip
    assert delta("factorflow_event_definition_actions_total", **of(broken, "no serial"),
                 result="failed") == 4  # fmt: skip
    assert delta("factorflow_event_definition_actions_total", **of(broken, "no serial"),
                 result="ok") == 0  # fmt: skip
    assert delta("factorflow_event_definition_action_seconds_count", **of(hit, "count lists")) == 4
    assert delta("factorflow_event_definition_action_seconds_count", **of(miss, "never")) == 0
    assert delta("factorflow_requests_total", event="event_list", status="200") == 4
    assert delta("factorflow_request_seconds_count", event="event_list") == 4
    assert value(after, "factorflow_request_seconds_sum", event="event_list") > 0


def test_request_counters_per_event_and_status(
    client: TestClient, admin_headers: Headers, flatfile_realm: str
) -> None:
    client.post("/validate/check", data={"user": "alice", "pass": "wrong"})
    client.post("/validate/check", data={"user": "alice", "pass": "wrong"})
    client.get("/token/")  # no JWT: 401
    client.delete("/event/42", headers=admin_headers)  # 404
    samples = scrape(client, admin_headers)
    assert value(samples, "factorflow_requests_total", event="validate_check", status="200") == 2
    assert value(samples, "factorflow_requests_total", event="token_list", status="401") == 1
    assert value(samples, "factorflow_requests_total", event="event_delete", status="404") == 1
    assert value(samples, "factorflow_request_seconds_count", event="validate_check") == 2
    bucket = value(samples, "factorflow_request_seconds_bucket", event="validate_check", le="+Inf")
    assert bucket == 2


def test_abort_on_error_counts_the_failed_request(
    client: TestClient, admin_headers: Headers, define: DefinitionMaker
) -> None:
    aborting = define(name="must work", event="token_list", handlermodule="Token",
                      action="disable", abort_on_error="1")  # fmt: skip
    assert client.get("/token/", headers=admin_headers).status_code == 400
    samples = scrape(client, admin_headers)
    assert value(samples, "factorflow_requests_total", event="token_list", status="400") == 1
    assert value(samples, "factorflow_requests_total", event="token_list", status="200") == 0
    labels = {"definition_id": str(aborting), "definition": "must work", "result": "failed"}
    assert value(samples, "factorflow_event_definition_actions_total", **labels) == 1


def test_metrics_need_an_admin_or_the_scrape_token(
    client: TestClient, admin_headers: Headers, services: Services, flatfile_realm: str
) -> None:
    from tests.conftest import user_headers

    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.json()["result"]["status"] is False
    assert client.get("/metrics", headers=user_headers(client, "alice")).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
    token_file = services.settings.data_dir / "metrics.token"
    token_file.write_text("s3cret-scrape-token\n")
    assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
    good = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert good.status_code == 200 and "factorflow_requests_total" in good.text
    token_file.write_text("")
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_token_accepted(tmp_path: Path) -> None:
    assert not token_accepted(tmp_path, "Bearer x")  # no file
    (tmp_path / "metrics.token").write_text("abc")
    assert token_accepted(tmp_path, "Bearer abc") and token_accepted(tmp_path, "abc")
    assert not token_accepted(tmp_path, None) and not token_accepted(tmp_path, "Bearer abd")


def test_each_services_has_its_own_registry(services: Services) -> None:
    one, two = EventMetrics(), EventMetrics()
    one.definition(1, "a").matched.inc()
    one.request("auth", 200, 0.01)
    assert b'definition="a"' in one.render()
    assert b'definition="a"' not in two.render()
    assert b"factorflow_requests_total{" not in two.render()
    assert services.events.metrics.registry is not one.registry
    # Renamed definitions get their own series; the same labels reuse one child.
    assert one.definition(1, "a") is one.definition(1, "a")
    assert one.definition(1, "b") is not one.definition(1, "a")
    # Nothing in prometheus-client's global registry.
    from prometheus_client import REGISTRY

    assert not any(family.name.startswith("factorflow_") for family in REGISTRY.collect())


def test_multiprocess_mode_sums_over_processes(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set before start (as for ``serve --workers N``),
    each process writes its values there and any process's render() serves the sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = (
        "from factorflow.events.metrics import EventMetrics\n"
        "m = EventMetrics()\n"
        "m.request('auth', 200, 0.01)\n"
        "m.definition(7, 'notify').matched.inc()\n"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=60)
    render = (
        "import sys\n"
        "from factorflow.events.metrics import EventMetrics\n"
        "sys.stdout.write(EventMetrics().render().decode())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", render], env=env, check=True, timeout=60, capture_output=True
    )
    text = done.stdout.decode()
    assert 'factorflow_requests_total{event="auth",status="200"} 2.0' in text
    matched = 'factorflow_event_definition_matched_total{definition="notify",definition_id="7"}'
    assert f"{matched} 2.0" in text
