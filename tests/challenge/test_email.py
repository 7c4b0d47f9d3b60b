"""Email token login through challenge-response, with a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.db.base import transaction
from factorflow.tokens.models import Challenge
from tests.challenge.conftest import PIN, check, deliver, jobs, otp_from_mail, set_system
from tests.notify.servers import Recorder
from tests.tokens.helpers import get_token, init_token

H = dict[str, str]


def test_pin_alone_answers_with_a_challenge_of_privacyideas_shape(
    client: TestClient, services: Services, email_token: str, recorder: Recorder
) -> None:
    body = check(client, user="alice", **{"pass": PIN})
    assert body["id"] == 2
    assert body["result"]["value"] is False
    assert body["result"]["authentication"] == "CHALLENGE"
    detail = body["detail"]
    tid = detail["transaction_id"]
    assert tid.isdigit() and len(tid) == 20
    assert detail["transaction_ids"] == [tid]
    assert detail["multi_challenge"] == [
        {
            "serial": email_token,
            "transaction_id": tid,
            "message": "Enter the OTP from the email",
            "type": "email",
            "client_mode": "interactive",
        }
    ]
    assert detail["messages"] == ["Enter the OTP from the email"]
    assert detail["message"] == "Enter the OTP from the email"
    assert detail["serial"] == email_token and detail["type"] == "email"
    assert detail["client_mode"] == "interactive"
    assert detail["preferred_client_mode"] == "interactive"
    # The mail is a durable job with the challenge's idempotency key; nothing is sent
    # inside the request.
    assert recorder.messages == []
    [job] = jobs(services)
    assert job.kind == "email" and job.state == "queued"
    assert job.idempotency_key == f"challenge:{tid}:{email_token}"
    assert deliver(services) == 1
    [mail] = recorder.messages
    assert mail.rcpt_tos == ["alice@example.net"]
    # The Message-ID carries the idempotency key (escaped by the mailer).
    assert tid in mail.message_id and email_token in mail.message_id


def test_answer_with_transaction_id_accepts_once(
    client: TestClient,
    admin_headers: H,
    email_token: str,
    recorder: Recorder,
    login: Callable[..., str],
) -> None:
    tid = login()
    otp = otp_from_mail(recorder)
    body = check(client, user="alice", transaction_id=tid, **{"pass": otp})
    assert body["result"]["value"] is True, body
    assert body["result"]["authentication"] == "ACCEPT"
    assert body["detail"]["message"] == "Found matching challenge"
    assert body["detail"]["serial"] == email_token
    # One-time: the same answer again is refused, and does not count as a failure.
    again = check(client, user="alice", transaction_id=tid, **{"pass": otp})
    assert again["result"]["authentication"] == "REJECT"
    assert again["detail"]["message"] == "The challenge has already been answered."
    token = get_token(client, admin_headers, email_token)
    assert token["failcount"] == 0
    assert "last_auth" in token["info"]


def test_answer_with_state_as_freeradius_sends_it(
    client: TestClient, email_token: str, recorder: Recorder, login: Callable[..., str]
) -> None:
    tid = login()
    body = check(client, user="alice", state=tid, **{"pass": otp_from_mail(recorder)})
    assert body["result"]["authentication"] == "ACCEPT"


def test_radiuscheck_leg_answers_204(
    client: TestClient, email_token: str, recorder: Recorder, login: Callable[..., str]
) -> None:
    tid = login()
    r = client.post(
        "/validate/radiuscheck",
        data={"user": "alice", "state": tid, "pass": otp_from_mail(recorder)},
    )
    assert r.status_code == 204


def test_wrong_otp_rejects_and_counts_a_failure(
    client: TestClient,
    admin_headers: H,
    email_token: str,
    recorder: Recorder,
    login: Callable[..., str],
) -> None:
    tid = login()
    otp = otp_from_mail(recorder)
    wrong = f"{(int(otp) + 1) % 1_000_000:06d}"
    body = check(client, user="alice", transaction_id=tid, **{"pass": wrong})
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["message"] == "Response did not match the challenge."
    assert get_token(client, admin_headers, email_token)["failcount"] == 1
    # The challenge stays open for the right answer.
    body = check(client, user="alice", transaction_id=tid, **{"pass": otp})
    assert body["result"]["authentication"] == "ACCEPT"
    assert get_token(client, admin_headers, email_token)["failcount"] == 0


def test_pin_plus_otp_without_transaction_is_refused(
    client: TestClient, email_token: str, recorder: Recorder, login: Callable[..., str]
) -> None:
    login()
    body = check(client, user="alice", **{"pass": PIN + otp_from_mail(recorder)})
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["message"] == "wrong otp value"


def test_expired_challenge_is_rejected(
    client: TestClient,
    services: Services,
    email_token: str,
    recorder: Recorder,
    login: Callable[..., str],
) -> None:
    tid = login()
    with transaction(services.sessions) as session:
        row = session.scalars(select(Challenge).where(Challenge.transaction_id == tid)).one()
        session.execute(
            update(Challenge)
            .where(Challenge.id == row.id)
            .values(expiration=row.created_at - timedelta(seconds=1))
        )
    body = check(client, user="alice", transaction_id=tid, **{"pass": otp_from_mail(recorder)})
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["message"] == "Challenge expired"


def test_validity_comes_from_the_email_validtime_setting(
    client: TestClient, services: Services, email_token: str, login: Callable[..., str]
) -> None:
    set_system(services, "email.validtime", "300")
    tid = login()
    with services.sessions() as session:
        row = session.scalars(select(Challenge).where(Challenge.transaction_id == tid)).one()
        assert (row.expiration - row.created_at).total_seconds() == 300


def test_each_challenge_sends_a_fresh_otp_and_only_its_own_counts(
    client: TestClient, email_token: str, recorder: Recorder, login: Callable[..., str]
) -> None:
    first = login()
    first_otp = otp_from_mail(recorder)
    second = login()
    second_otp = otp_from_mail(recorder)
    assert first_otp != second_otp
    # An OTP answers only its own transaction.
    body = check(client, user="alice", transaction_id=second, **{"pass": first_otp})
    assert body["result"]["authentication"] == "REJECT"
    body = check(client, user="alice", transaction_id=first, **{"pass": first_otp})
    assert body["result"]["authentication"] == "ACCEPT"


def test_wrong_pin_creates_no_challenge(
    client: TestClient, services: Services, email_token: str
) -> None:
    body = check(client, user="alice", **{"pass": "not-the-pin"})
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["message"] == "wrong otp pin"
    assert jobs(services) == []


def test_serial_check_and_enrolment_detail(
    client: TestClient, admin_headers: H, flatfile_realm: str, mail: object, recorder: Recorder,
    services: Services,
) -> None:  # fmt: skip
    body = init_token(client, admin_headers, type="email", email="ops@example.net", pin="p1")
    serial = body["detail"]["serial"]
    assert serial.startswith("PIEM")
    # The key stays on the server: no seed, no QR code.
    assert set(body["detail"]) <= {"serial", "rollout_state", "threadid"}
    info = get_token(client, admin_headers, serial)["info"]
    assert info["email"] == "ops@example.net" and info["dynamic_email"] == "False"
    challenge = check(client, serial=serial, **{"pass": "p1"})
    assert challenge["result"]["authentication"] == "CHALLENGE"
    deliver(services)
    tid = challenge["detail"]["transaction_id"]
    body = check(client, serial=serial, transaction_id=tid, **{"pass": otp_from_mail(recorder)})
    assert body["result"]["authentication"] == "ACCEPT"


def test_dynamic_email_reads_the_user_store_at_each_challenge(
    client: TestClient, admin_headers: H, flatfile_realm: str, mail: object, recorder: Recorder,
    services: Services, passwd_file: Path,
) -> None:  # fmt: skip
    init_token(
        client, admin_headers, type="email", dynamic_email="1", pin=PIN, user="bob",
        realm=flatfile_realm,
    )  # fmt: skip
    check(client, user="bob", **{"pass": PIN})
    deliver(services)
    assert recorder.messages[-1].rcpt_tos == ["bob@example.com"]
    passwd_file.write_text(
        passwd_file.read_text().replace("bob@example.com", "robert.jones@example.org")
    )
    tid = check(client, user="bob", **{"pass": PIN})["detail"]["transaction_id"]
    deliver(services)
    assert recorder.messages[-1].rcpt_tos == ["robert.jones@example.org"]
    body = check(client, user="bob", transaction_id=tid, **{"pass": otp_from_mail(recorder)})
    assert body["result"]["authentication"] == "ACCEPT"


def test_smtp_identifier_of_the_token_is_used(
    client: TestClient, admin_headers: H, flatfile_realm: str, mail: object, services: Services
) -> None:
    from tests.challenge.conftest import add_smtp

    add_smtp(services, 9, identifier="other")
    init_token(
        client, admin_headers, type="email", email="a@example.net", pin=PIN, user="alice",
        realm=flatfile_realm, smtp_identifier="other",
    )  # fmt: skip
    check(client, user="alice", **{"pass": PIN})
    [job] = jobs(services)
    assert job.payload["smtp"] == "other"
