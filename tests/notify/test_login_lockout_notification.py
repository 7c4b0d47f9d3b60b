"""A definition on the ``auth`` event mails the security team when an account is
locked: post conditions see the lockout's own error message (issue 12 item 3)."""

from __future__ import annotations

from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.auth.helpers import rules
from tests.notify.servers import Recorder, SmtpServer
from tests.notify.test_user_notification import add_smtp, defined, drain

H = dict[str, str]


def test_a_lockout_mails_the_security_team_once(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
    recorder: Recorder,
) -> None:
    services.logins.throttle.rules = rules(account=(0, 3), lockout=900, window=3600)
    add_smtp(client, admin_headers, smtp_server)
    defined(client, admin_headers, name="account locked", event="auth",
            handlermodule="UserNotification", action="sendmail",
            options={"emailconfig": "mail1", "To": "email",
                     "To email": "security@example.org",
                     "subject": "Login locked: {username} from {client_ip}",
                     "body": "Too many failed logins of {username}."},
            conditions={"result_status": "False",
                        "detail_error_message": "now temporarily locked"})  # fmt: skip
    codes = []
    for _ in range(5):
        response = client.post("/auth", data={"username": "alice", "password": "wrong-pw"})
        codes.append(response.json()["result"]["error"]["code"])
    assert codes == [4031, 4031, 4036, 4036, 4036]
    assert drain(services) == 1
    [message] = recorder.messages
    assert message.rcpt_tos == ["security@example.org"]
    assert message.message["Subject"] == "Login locked: alice from testclient"
