"""The ``email`` and ``sms`` job kinds.

Payloads (what a handler passes to ``jobs.enqueue``):

* ``email``: ``{"smtp": "<SMTP server identifier>", "to": ["a@example.org"],
  "subject": "...", "body": "...", "mimetype": "plain" | "html", "reply_to": "",
  "images": [{"cid": "token_image", "filename": "S1.png", "data": "<base64>",
  "subtype": "png"}]}``
* ``sms``: ``{"gateway": "<SMS gateway identifier>", "phone": "+49...",
  "message": "..."}``

The configuration is read at delivery time, so a corrected configuration helps a
job that an admin retries. An unknown identifier is a permanent failure.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from factorflow.db.base import transaction
from factorflow.errors import ResourceNotFoundError
from factorflow.jobs.base import Deliverer, JobView, PermanentDeliveryError
from factorflow.notify import sms, smtp


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


class EmailDeliverer(Deliverer):
    """Sends an email through a stored SMTP server; Message-ID = the job's key."""

    kind = "email"

    def deliver(self, job: JobView) -> str:
        identifier = _text(job.payload, "smtp")
        email = email_from_payload(job.payload)
        try:
            with transaction(self.services.sessions) as session:
                config = self.services.notify.smtp_settings(session, identifier)
        except ResourceNotFoundError as exc:
            raise PermanentDeliveryError(exc.message) from None
        return smtp.send(config, email, job.idempotency_key)


class SmsDeliverer(Deliverer):
    """Sends an SMS through a stored HTTP gateway; Idempotency-Key = the job's key."""

    kind = "sms"

    def deliver(self, job: JobView) -> str:
        identifier = _text(job.payload, "gateway")
        phone = _text(job.payload, "phone")
        message = _text(job.payload, "message", required=False)
        try:
            with transaction(self.services.sessions) as session:
                config = self.services.notify.sms_settings(session, identifier)
        except ResourceNotFoundError as exc:
            raise PermanentDeliveryError(exc.message) from None
        return sms.send(config, phone, message, job.idempotency_key)
