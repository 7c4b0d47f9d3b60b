"""``{recipient_givenname}`` / ``{recipient_surname}`` in a mail to the token owner."""

from __future__ import annotations

from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.notify.servers import Recorder, SmtpServer
from tests.notify.test_user_notification import add_smtp, defined, drain, init_token

H = dict[str, str]


def test_recipient_tags_name_the_token_owner(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
    recorder: Recorder,
) -> None:
    add_smtp(client, admin_headers, smtp_server)
    defined(client, admin_headers, name="welcome", event="token_init",
            handlermodule="UserNotification", action="sendmail",
            options={"emailconfig": "mail1", "To": "tokenowner",
                     "subject": "Hello {recipient_givenname} {recipient_surname}",
                     "body": "Your token {serial}."})  # fmt: skip
    init_token(client, admin_headers, type="spass", pin="1", user="alice", realm="realm1")
    assert drain(services) == 1
    assert recorder.messages[0].message["Subject"] == "Hello Alice Smith"
