"""Schema-driven fuzzing: whatever the generated input, the API never answers 5xx and
always answers with the privacyIDEA envelope."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.internal import lambda_sources
from starlette.testclient import TestClient

from factorflow.api.app import openapi_document

_describe_lambda = lambda_sources._lambda_description


def _lambda_description_or_unknown(function: Any) -> str:
    # CPython 3.11's AST constructor can lose track of its recursion depth when
    # ast.parse runs on a large module from a deep stack ("SystemError: AST constructor
    # recursion depth mismatch"). Hypothesis parses schemathesis' sources that way only
    # to describe a lambda in a label; the description is cosmetic, the error made
    # this test fail once in four full runs.
    try:
        return str(_describe_lambda(function))
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _lambda_description_or_unknown

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
        # Documented non-envelope bodies: the YAML exports, Prometheus metrics, the
        # audit CSV download, the configuration document, privacyIDEA's policy file,
        # a CA's CRL and the PSKC token export.
        downloads = (
            "/event/export", "/eventstream/export", "/metrics", "/audit/{csvfile}",
            "/system/documentation", "/policy/export/{filename}", "/caconnector/{name}/crl",
            "/token/export",
        )  # fmt: skip
        assert case.path in downloads, (case.method, case.path)
        return
    if response.status_code != 204 and response.content:
        body = response.json()
        assert body["jsonrpc"] == "2.0"
        assert isinstance(body["result"]["status"], bool)
        if response.status_code >= 400:
            assert body["result"]["status"] is False
            assert body["result"]["error"]["message"]
