"""Node awareness as privacyIDEA 3.10+ has it: each node's name and UUID in the shared
``nodename`` table, ``GET /system/nodes``, the node in every audit entry and on every
Prometheus sample."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.db.base import transaction
from factorflow.settings import Settings
from factorflow.system.models import NodeName
from factorflow.system.nodes import UUID_FILE, NodeService, node_uuid
from tests import conftest
from tests.conftest import user_headers
from tests.tokens.helpers import assert_error, ok

H = dict[str, str]


def nodes(client: TestClient, headers: H) -> list[dict[str, str]]:
    value: list[dict[str, str]] = ok(client.get("/system/nodes", headers=headers))["result"][
        "value"
    ]
    return value


def test_every_registered_node_is_listed_with_name_and_uuid(
    services: Services, client: TestClient, admin_headers: H, tmp_path: Path
) -> None:
    services.nodes.register(services.sessions)
    url = services.settings.database_url
    other = NodeService(conftest.test_settings(tmp_path / "b", url, node_name="node-b"))
    other.register(services.sessions)
    listed = nodes(client, admin_headers)
    assert listed == [
        {"name": "node-b", "uuid": other.uuid},
        {"name": "testnode", "uuid": services.nodes.uuid},
    ]
    # A restarted node (same data directory) is the same node; a rename is kept.
    again = NodeService(conftest.test_settings(tmp_path / "b", url, node_name="node-b2"))
    assert again.uuid == other.uuid
    again.register(services.sessions)
    assert {"name": "node-b2", "uuid": other.uuid} in nodes(client, admin_headers)
    with transaction(services.sessions) as session:
        assert session.scalar(select(func.count()).select_from(NodeName)) == 2


def test_the_uuid_comes_from_the_setting_or_the_data_directory(tmp_path: Path) -> None:
    fixed = str(uuid.uuid4())
    assert node_uuid(Settings(data_dir=tmp_path, node_uuid=fixed.upper())) == fixed
    assert not (tmp_path / UUID_FILE).exists()
    made = node_uuid(Settings(data_dir=tmp_path))
    assert (tmp_path / UUID_FILE).read_text().strip() == made
    assert node_uuid(Settings(data_dir=tmp_path)) == made
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, node_uuid="not-a-uuid")


def test_node_name_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORFLOW_NODE_NAME", "pi-node-3")
    assert Settings(data_dir=tmp_path).node_name == "pi-node-3"


def test_only_administrators_list_nodes_and_bad_input_changes_nothing(
    services: Services, client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    services.nodes.register(services.sessions)
    assert_error(client.get("/system/nodes"), 401)
    assert_error(client.get("/system/nodes", headers=user_headers(client, "alice")), 401)
    assert_error(client.get("/system/nodes", headers={"Authorization": "garbage"}), 401)
    assert len(nodes(client, admin_headers)) == 1


def test_the_node_is_in_every_audit_entry_and_on_every_metric(
    services: Services, client: TestClient, admin_headers: H
) -> None:
    nodes(client, admin_headers)
    entries = ok(client.get("/audit/", params={"action": "*nodes*"}, headers=admin_headers))
    found = entries["result"]["value"]["auditdata"]
    assert found and all(entry["privacyidea_server"] == "testnode" for entry in found)
    text = client.get("/metrics", headers=admin_headers).text
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all('node="testnode"' in line for line in samples)


def test_a_node_that_cannot_register_still_starts(tmp_path: Path) -> None:
    """A database without the nodes table (not migrated yet): a warning, no failure."""
    from factorflow.db.base import make_engine, make_session_factory

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        NodeService(Settings(data_dir=tmp_path)).register(make_session_factory(engine))
    finally:
        engine.dispose()
