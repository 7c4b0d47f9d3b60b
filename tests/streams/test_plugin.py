"""A broker kind from a third-party package, found through the entry-point group
``factorflow.stream_brokers`` like the built-ins: configured through /eventstream/,
published by the eventstream job kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.plugins import Plugin, install
from tests.streams.conftest import H, all_delivered, configure, deliver, trigger

SOURCE = '''
from pathlib import Path

from factorflow.events.streams.options import BrokerOptions


class FileOptions(BrokerOptions):
    """Appends each CloudEvent as one line to a file."""

    kind = "file"
    path: str

    def publish(self, event_id: str, body: bytes) -> str:
        with Path(self.path).open("ab") as out:
            out.write(body + b"\\n")
        return f"appended {event_id}"
'''


@pytest.fixture
def file_broker(plugin_site: Path) -> None:
    install(plugin_site, Plugin("acme_file_broker", SOURCE, "factorflow.stream_brokers",
                                {"file": "acme_file_broker:FileOptions"}))  # fmt: skip


def test_a_third_party_broker_kind(
    file_broker: None, client: TestClient, admin_headers: H, services: Services, tmp_path: Path
) -> None:
    assert "file" in services.streams.kinds
    out = tmp_path / "events.jsonl"
    configure(client, admin_headers, "f", kind="file", path=str(out), events="validate_check")
    trigger(client)
    deliver(services, all_delivered(services))
    (line,) = out.read_text().splitlines()
    assert json.loads(line)["type"] == "org.factorflow.event.validate_check"
    bad = client.post("/eventstream/g", data={"kind": "file"}, headers=admin_headers)
    assert bad.status_code == 400
