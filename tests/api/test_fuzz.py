"""Schema-driven fuzzing: whatever the generated input, the API never answers 5xx and
always answers with the privacyIDEA envelope."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient

from factorflow.api.app import openapi_document

MAX_EXAMPLES = int(os.environ.get("FACTORFLOW_FUZZ_EXAMPLES", "15"))

schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(
    case: Any, client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    response = case.call(app=client.app, headers=admin_headers)
    assert response.status_code < 500, (case.method, case.path, response.text)
    content_type = str(response.headers.get("content-type") or "")
    if response.status_code == 200 and "application/json" not in content_type:
        # Documented non-envelope bodies: the YAML export and Prometheus metrics.
        assert case.path in ("/event/export", "/metrics"), (case.method, case.path)
        return
    if response.status_code != 204 and response.content:
        body = response.json()
        assert body["jsonrpc"] == "2.0"
        assert isinstance(body["result"]["status"], bool)
        if response.status_code >= 400:
            assert body["result"]["status"] is False
            assert body["result"]["error"]["message"]
