"""GET /machine/applications: the applications a token can be attached for, with the
descriptors of their options (what the web UI's Attach application form is made of)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests import factories


def test_the_applications_and_their_options_are_described(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    value = factories.ok_value(client.get("/machine/applications", headers=admin_headers))
    assert sorted(value) == ["base", "luks", "offline", "ssh"]
    assert sorted(value["ssh"]["options"]) == ["service_id", "user"]
    assert value["ssh"]["token_types"] == ["sshkey"]
    assert value["offline"]["options"]["count"] == {
        "type": "int", "required": False, "default": 100,
        "description": "How many future OTP values the machine keeps.",
    }  # fmt: skip
    assert value["offline"]["options"]["rounds"]["default"] == 6549
    assert sorted(value["luks"]["options"]) == ["partition", "slot"]
    assert value["base"]["options"] == {}
    assert all(entry["description"] for entry in value.values())
