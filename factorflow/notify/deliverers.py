"""The ``email`` and ``sms`` job kinds.

Payloads (what a handler passes to ``jobs.enqueue``):

* ``email``: ``{"smtp": "<SMTP server identifier>", "to": ["a@example.org"],
  "subject": "...", "body": "...", "mimetype": "plain" | "html", "reply_to": "",
  "images": [{"cid": "token_image", "filename": "S1.png", "data": "<base64>",
  "subtype": "png"}]}``
* ``sms``: ``{"gateway": "<SMS gateway identifier>", "phone": "+49...",
  "message": "..."}``

(as the deliverer gets them: a handler passes what is secret — subject, body, images,
message — in ``enqueue(secret=...)``, sealed in the job until delivery).

The configuration is read at delivery time, so a corrected configuration helps a
job that an admin retries. An unknown identifier is a permanent failure.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from factorflow.db.base import transaction, utcnow
from factorflow.errors import ResourceNotFoundError
from factorflow.jobs.base import Deliverer, JobView, PermanentDeliveryError
from factorflow.notify import sms, smtp
from factorflow.tokens.models import Challenge, Token
from factorflow.tokens.sent import OTP_SOURCE, fill_otp
from factorflow.tokens.types.hotp import HotpToken


def _text(payload: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = payload.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise PermanentDeliveryError(f"Job payload field {key!r} must be a non-empty string")
    return value


def email_from_payload(payload: dict[str, Any]) -> smtp.Email:
    to = payload.get("to", [])
    recipients = (to,) if isinstance(to, str) else tuple(str(a) for a in to)
    images = []
    for item in payload.get("images", []) or []:
        try:
            data = base64.b64decode(str(item["data"]), validate=True)
            images.append(
                smtp.InlineImage(
                    cid=str(item["cid"]),
                    filename=str(item.get("filename", "image.png")),
                    data=data,
                    subtype=str(item.get("subtype", "png")),
                )
            )
        except (KeyError, TypeError, binascii.Error) as exc:
            raise PermanentDeliveryError(f"Job payload has a bad image: {exc}") from None
    return smtp.Email(
        to=recipients,
        subject=_text(payload, "subject", required=False),
        body=_text(payload, "body", required=False),
        mimetype="html" if payload.get("mimetype") == "html" else "plain",
        reply_to=_text(payload, "reply_to", required=False),
        images=tuple(images),
    )


def resolved_payload(deliverer: Deliverer, job: JobView) -> dict[str, Any]:
    """The job's payload with a challenge OTP computed now, from the token's key and
    the counter the challenge reserved; a challenge that expired or was answered
    before delivery is not sent any more (a permanent failure, not a retry)."""
    if OTP_SOURCE not in job.payload:
        return job.payload
    with transaction(deliverer.services.sessions) as session:

        def otp_at(serial: str, counter: int) -> str:
            token = session.scalar(select(Token).where(Token.serial == serial))
            if token is None:
                raise PermanentDeliveryError("The token of this challenge no longer exists")
            challenge = session.scalar(
                select(Challenge).where(
                    Challenge.token_id == token.id, Challenge.otp_counter == counter
                )
            )
            if challenge is None or challenge.otp_valid or challenge.expiration <= utcnow():
                raise PermanentDeliveryError(
                    "The challenge expired or was answered before delivery"
                )
            kind = deliverer.services.tokens.type_of(token)
            if not isinstance(kind, HotpToken):
                raise PermanentDeliveryError(f"Token type {token.tokentype!r} sends no OTP")
            return kind.otp_at(counter)

        return fill_otp(job.payload, otp_at)


class EmailDeliverer(Deliverer):
    """Sends an email through a stored SMTP server; Message-ID = the job's key."""

    kind = "email"

    @classmethod
    def recipient(cls, payload: Mapping[str, Any]) -> str:
        to = payload.get("to")
        return to if isinstance(to, str) else ", ".join(map(str, to or []))

    def deliver(self, job: JobView) -> str:
        payload = resolved_payload(self, job)
        identifier = _text(payload, "smtp")
        email = email_from_payload(payload)
        try:
            with transaction(self.services.sessions) as session:
                config = self.services.notify.smtp_settings(session, identifier)
        except ResourceNotFoundError as exc:
            raise PermanentDeliveryError(exc.message) from None
        return smtp.send(config, email, job.idempotency_key)


class SmsDeliverer(Deliverer):
    """Sends an SMS through a stored HTTP gateway; Idempotency-Key = the job's key."""

    kind = "sms"

    @classmethod
    def recipient(cls, payload: Mapping[str, Any]) -> str:
        return str(payload.get("phone") or "")

    def deliver(self, job: JobView) -> str:
        payload = resolved_payload(self, job)
        identifier = _text(payload, "gateway")
        phone = _text(payload, "phone")
        message = _text(payload, "message", required=False)
        try:
            with transaction(self.services.sessions) as session:
                config = self.services.notify.sms_settings(session, identifier)
        except ResourceNotFoundError as exc:
            raise PermanentDeliveryError(exc.message) from None
        return sms.send(config, phone, message, job.idempotency_key)
