"""Stories: the mail server is down when the challenge is created; concurrent
answers; HOTP switched to challenge-response through the selector."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.tokens.base import TokenType
from factorflow.users.identity import User
from factorflow.validate.service import ValidateService
from factorflow.worker import Worker
from tests.challenge.conftest import PIN, add_smtp, check, deliver, jobs, otp_from_mail, wait_for
from tests.notify.servers import Recorder, SmtpServer
from tests.tokens.helpers import RFC_KEY_HEX, hotp, init_token

H = dict[str, str]


def test_mail_server_down_at_challenge_time_the_login_still_completes(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services,
    recorder: Recorder,
) -> None:  # fmt: skip
    smtp = SmtpServer(recorder)  # configured, not started: connections are refused
    add_smtp(services, smtp.port)
    init_token(
        client, admin_headers, type="email", email="alice@example.net", pin=PIN, user="alice",
        realm=flatfile_realm,
    )  # fmt: skip
    body = check(client, user="alice", **{"pass": PIN})
    assert body["result"]["authentication"] == "CHALLENGE"
    tid = body["detail"]["transaction_id"]
    worker = Worker(services, threads=1)
    worker.start()
    try:
        # The worker tries, fails and keeps the job for a retry.
        wait_for(lambda: jobs(services)[0].attempts >= 2)
        assert jobs(services)[0].state in {"queued", "running"}
        assert jobs(services)[0].last_error
        smtp.start()
        wait_for(lambda: recorder.messages)
    finally:
        worker.stop()
        smtp.stop()
    assert wait_for(lambda: jobs(services)[0].state == "delivered")
    assert len(recorder.messages) == 1
    answer = check(client, user="alice", transaction_id=tid, **{"pass": otp_from_mail(recorder)})
    assert answer["result"]["authentication"] == "ACCEPT"


def test_concurrent_right_answers_accept_exactly_once(
    client: TestClient, services: Services, email_token: str, recorder: Recorder
) -> None:
    body = check(client, user="alice", **{"pass": PIN})
    tid = body["detail"]["transaction_id"]
    deliver(services)
    otp = otp_from_mail(recorder)

    def answer(_: int) -> str:
        r = client.post(
            "/validate/check", data={"user": "alice", "transaction_id": tid, "pass": otp}
        )
        assert r.status_code == 200, r.text
        result: str = r.json()["result"]["authentication"]
        return result

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(answer, range(16)))
    assert results.count("ACCEPT") == 1, results
    assert set(results) == {"ACCEPT", "REJECT"}


def test_hotp_runs_challenge_response_when_the_selector_says_so(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    """The hook the ``challenge_response`` policy (issue 8) will use."""

    def hotp_too(session: Session, ttype: TokenType, user: User | None) -> bool:
        return ttype.challenge_response or ttype.type_name == "hotp"

    validate: Any = services.validate
    services.validate = ValidateService(
        tokens=validate.tokens,
        users=validate.users,
        hasher=validate.hasher,
        jobs=services.jobs,
        selector=hotp_too,
    )
    init_token(
        client, admin_headers, otpkey=RFC_KEY_HEX, pin=PIN, user="alice", realm=flatfile_realm
    )
    body = check(client, user="alice", **{"pass": PIN})
    assert body["result"]["authentication"] == "CHALLENGE"
    assert body["detail"]["multi_challenge"][0]["type"] == "hotp"
    assert body["detail"]["message"] == "please enter otp: "
    assert jobs(services) == []  # nothing to send: the OTP is on the user's token
    tid = body["detail"]["transaction_id"]
    answer = check(client, user="alice", transaction_id=tid, **{"pass": hotp(0)})
    assert answer["result"]["authentication"] == "ACCEPT"
    # PIN + OTP in one go still works for HOTP.
    direct = check(client, user="alice", **{"pass": PIN + hotp(1)})
    assert direct["result"]["authentication"] == "ACCEPT"
