"""The OTP of a challenge is computed when the message is delivered: the job table
and /jobs/ never hold it, and a challenge that is over before delivery sends nothing."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.db.base import transaction
from factorflow.tokens.models import Challenge
from tests.challenge.conftest import PIN, check, deliver, jobs, otp_from_mail
from tests.notify.servers import Recorder
from tests.tokens.helpers import ok


def test_the_queued_job_holds_no_otp(
    client: TestClient,
    services: Services,
    admin_headers: dict[str, str],
    email_token: str,
    recorder: Recorder,
) -> None:
    tid = check(client, user="alice", **{"pass": PIN})["detail"]["transaction_id"]
    [job] = jobs(services)
    shown = ok(client.get(f"/jobs/{job.id}", headers=admin_headers))["result"]["value"]
    assert deliver(services) == 1
    otp = otp_from_mail(recorder)
    assert otp not in json.dumps(job.payload)
    assert otp not in json.dumps(shown)
    accepted = check(client, user="alice", transaction_id=tid, **{"pass": otp})
    assert accepted["result"]["authentication"] == "ACCEPT"


def test_a_challenge_over_before_delivery_is_not_sent(
    client: TestClient, services: Services, email_token: str, recorder: Recorder
) -> None:
    tid = check(client, user="alice", **{"pass": PIN})["detail"]["transaction_id"]
    with transaction(services.sessions) as session:
        row = session.scalars(select(Challenge).where(Challenge.transaction_id == tid)).one()
        session.execute(
            update(Challenge)
            .where(Challenge.id == row.id)
            .values(expiration=row.created_at - timedelta(seconds=1))
        )
    deliver(services)
    assert recorder.messages == []
    [job] = jobs(services)
    assert job.state == "dead"
    assert "expired" in (job.last_error or "")
