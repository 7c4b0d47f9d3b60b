"""The Federation handler forwards to a real second Factorflow (and, for what is only
visible on the wire, to a recording stand-in) and answers with its response."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from tests.federation.conftest import H, add_server, define_forward
from tests.federation.recorder import RecordingRemote
from tests.federation.remote import REMOTE_REALM, RemoteFactorflow
from tests.notify.servers import free_port
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, assert_error, init_token, ok


def validate(client: TestClient, **params: Any) -> Any:
    return client.post("/validate/check", data=params)


def forward_entries(services: Services) -> list[AuditEntry]:
    with services.sessions() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [row for row in rows if "Federation:forward" in row.action]


def local_audit_text(services: Services) -> str:
    with services.sessions() as session:
        return "\n".join(str(vars(row)) for row in session.scalars(select(AuditEntry)))


def test_the_remote_answers_for_a_user_unknown_here(
    client: TestClient, admin_headers: H, services: Services, remote: RemoteFactorflow
) -> None:
    serial = remote.enrol_hotp("dave")
    add_server(client, admin_headers, "child", remote.url)
    define_forward(client, admin_headers, name="ask the child", privacyIDEA="child")
    otp = remote.next_otp("dave")
    r = validate(client, user="dave", realm=REMOTE_REALM, **{"pass": otp})
    body = ok(r)
    assert body["result"]["value"] is True
    assert body["result"]["authentication"] == "ACCEPT"
    assert body["detail"]["serial"] == serial
    assert body["detail"]["origin"] == f"{remote.url}/validate/check"
    # The remote checked it: the same OTP again is a replay there.
    body = ok(validate(client, user="dave", realm=REMOTE_REALM, **{"pass": otp}))
    assert body["result"]["value"] is False
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["origin"] == f"{remote.url}/validate/check"
    body = ok(validate(client, user="dave", realm=REMOTE_REALM, **{"pass": "000000"}))
    assert body["result"]["value"] is False
    entries = forward_entries(services)
    assert len(entries) == 3 and all(e.success for e in entries)
    assert entries[0].info == "ask the child (forwarded to child: HTTP 200)"
    assert otp not in local_audit_text(services)
    # The remote saw the checks, coming from this server.
    checks = [e for e in remote.audit(user="dave") if e["action"] == "POST /validate/check"]
    assert [e["success"] for e in checks][:3] == [0, 0, 1]  # newest first


def test_only_failed_local_checks_are_forwarded(
    client: TestClient,
    admin_headers: H,
    flatfile_realm: str,
    remote: RemoteFactorflow,
) -> None:
    remote.enrol_hotp("dave")
    init_token(client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, user="alice",
               realm=flatfile_realm)  # fmt: skip
    add_server(client, admin_headers, "child", remote.url)
    define_forward(client, admin_headers, privacyIDEA="child", realm=REMOTE_REALM,
                   conditions=json.dumps({"result_value": "False"}))  # fmt: skip
    body = ok(validate(client, user="alice", **{"pass": RFC4226_OTPS[0]}))
    assert body["result"]["value"] is True
    assert "origin" not in body["detail"]  # answered here
    body = ok(validate(client, user="dave", **{"pass": remote.next_otp("dave")}))
    assert body["result"]["value"] is True
    assert body["detail"]["origin"] == f"{remote.url}/validate/check"


def test_the_realm_option_replaces_the_realm(
    client: TestClient, admin_headers: H, remote: RemoteFactorflow
) -> None:
    remote.enrol_hotp("erin")
    add_server(client, admin_headers, "child", remote.url)
    created = define_forward(client, admin_headers, privacyIDEA="child")
    # Without the option the remote does not know the realm: its error is the answer.
    r = validate(client, user="erin", realm="branch", **{"pass": remote.next_otp("erin")})
    body = assert_error(r, r.status_code)
    assert r.status_code >= 400
    assert body["detail"]["origin"] == f"{remote.url}/validate/check"
    remote.counters["erin"] -= 1  # that OTP was never checked
    definition_id = created["result"]["value"]
    ok(client.post("/event", data={"id": definition_id, "option.privacyIDEA": "child",
                                   "option.realm": REMOTE_REALM}, headers=admin_headers))  # fmt: skip
    body = ok(validate(client, user="erin", realm="branch", **{"pass": remote.next_otp("erin")}))
    assert body["result"]["value"] is True


def test_what_goes_on_the_wire(
    client: TestClient, admin_headers: H, recording_remote: RecordingRemote
) -> None:
    add_server(client, admin_headers, "rec", recording_remote.url + "/base/")
    define_forward(client, admin_headers, privacyIDEA="rec", realm="r2", resolver="res2",
                   forward_client_ip="True", forward_authorization_token="True")  # fmt: skip
    r = client.post("/validate/check", data={"user": "u1", "pass": "p1", "realm": "r1"},
                    headers={"Authorization": "the-token"})  # fmt: skip
    body = ok(r)
    assert body["result"]["value"] is True
    assert body["detail"]["serial"] == "REMOTE1"
    assert body["detail"]["origin"] == f"{recording_remote.url}/base/validate/check"
    seen = recording_remote.requests[-1]
    assert (seen.method, seen.path, seen.query) == ("POST", "/base/validate/check", {})
    assert seen.form == {"user": "u1", "pass": "p1", "realm": "r2", "resolver": "res2",
                         "client": "testclient"}  # fmt: skip
    assert seen.headers["pi-authorization"] == "the-token"


def test_without_the_options_nothing_extra_is_sent(
    client: TestClient, admin_headers: H, recording_remote: RecordingRemote
) -> None:
    add_server(client, admin_headers, "rec", recording_remote.url)
    define_forward(client, admin_headers, privacyIDEA="rec")
    ok(client.post("/validate/check", data={"user": "u1", "pass": "p1"},
                   headers={"Authorization": "the-token"}))  # fmt: skip
    seen = recording_remote.requests[-1]
    assert seen.form == {"user": "u1", "pass": "p1"}
    assert "pi-authorization" not in seen.headers


def test_get_requests_go_with_their_path_and_query(
    client: TestClient, admin_headers: H, recording_remote: RecordingRemote
) -> None:
    recording_remote.body = json.dumps({"result": {"status": True, "value": {"mail 1": {}}}})
    add_server(client, admin_headers, "rec", recording_remote.url)
    define_forward(client, admin_headers, event="smtpserver_list", privacyIDEA="rec")
    r = client.get("/smtpserver/mail.1", params={"x": "a b"}, headers=admin_headers)
    body = ok(r)
    assert body["result"]["value"] == {"mail 1": {}}
    seen = recording_remote.requests[-1]
    assert (seen.method, seen.path, seen.query, seen.form) == (
        "GET", "/smtpserver/mail.1", {"x": "a b"}, {}
    )  # fmt: skip


def test_an_unreachable_remote_fails_the_request_clearly(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    add_server(client, admin_headers, "gone", f"http://127.0.0.1:{free_port()}", timeout="3")
    define_forward(client, admin_headers, name="ask the child", privacyIDEA="gone")
    r = validate(client, user="dave", **{"pass": "secret-otp-1"})
    body = assert_error(r, 400, 903)
    message = body["result"]["error"]["message"]
    assert "'ask the child'" in message and "RemoteUnreachableError" in message
    assert "Traceback" not in r.text
    [entry] = forward_entries(services)
    assert not entry.success
    assert entry.info == "ask the child (RemoteUnreachableError)"
    assert "secret-otp-1" not in local_audit_text(services)


def test_without_abort_on_error_the_local_answer_stays(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    init_token(client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, user="alice",
               realm=flatfile_realm)  # fmt: skip
    add_server(client, admin_headers, "gone", f"http://127.0.0.1:{free_port()}", timeout="3")
    define_forward(client, admin_headers, privacyIDEA="gone", abort_on_error="0")
    body = ok(validate(client, user="alice", **{"pass": "000000"}))
    assert body["result"]["value"] is False
    assert "origin" not in body["detail"]
    body = ok(validate(client, user="alice", **{"pass": RFC4226_OTPS[0]}))
    assert body["result"]["value"] is True


def test_a_remote_without_json_or_too_slow_fails(
    client: TestClient, admin_headers: H, services: Services, recording_remote: RecordingRemote
) -> None:
    add_server(client, admin_headers, "rec", recording_remote.url, timeout="0.5")
    define_forward(client, admin_headers, name="html", privacyIDEA="rec")
    recording_remote.body, recording_remote.content_type = "<h1>Hello</h1>", "text/html"
    body = assert_error(validate(client, user="u1", **{"pass": "p1"}), 400, 903)
    assert "RemoteAnswerError" in body["result"]["error"]["message"]
    recording_remote.body = json.dumps(["not", "an", "envelope"])
    body = assert_error(validate(client, user="u1", **{"pass": "p1"}), 400, 903)
    assert "RemoteAnswerError" in body["result"]["error"]["message"]
    recording_remote.body, recording_remote.delay = json.dumps({"result": {"status": True}}), 2
    body = assert_error(validate(client, user="u1", **{"pass": "p1"}), 400, 903)
    assert "RemoteUnreachableError" in body["result"]["error"]["message"]
    assert [e.success for e in forward_entries(services)] == [False, False, False]
