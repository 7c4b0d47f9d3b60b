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
job that an admin retries. An unknown identifier is a permanent failure. A
challenge's OTP is filled in at delivery by the ports' ``resolve_payload``
(:mod:`factorflow.tokens.delivery`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from factorflow.db.base import transaction
from factorflow.errors import ResourceNotFoundError
from factorflow.jobs.base import Deliverer, DeliveryPorts, JobView, PermanentDeliveryError
from factorflow.notify import sms, smtp
from factorflow.notify.service import NotifyService


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


class _MessageDeliverer(Deliverer):
    def __init__(self, ports: DeliveryPorts) -> None:
        super().__init__(ports)
        self.notify = NotifyService(ports.box)


class EmailDeliverer(_MessageDeliverer):
    """Sends an email through a stored SMTP server; Message-ID = the job's key."""

    kind = "email"

    @classmethod
    def recipient(cls, payload: Mapping[str, Any]) -> str:
        to = payload.get("to")
        return to if isinstance(to, str) else ", ".join(map(str, to or []))

    def deliver(self, job: JobView) -> str:
        payload = self.ports.resolve_payload(job.payload)
        identifier = _text(payload, "smtp")
        email = email_from_payload(payload)
        try:
            with transaction(self.ports.sessions) as session:
                config = self.notify.smtp_settings(session, identifier)
        except ResourceNotFoundError as exc:
            raise PermanentDeliveryError(exc.message) from None
        return smtp.send(config, email, job.idempotency_key)


class SmsDeliverer(_MessageDeliverer):
    """Sends an SMS through a stored HTTP gateway; Idempotency-Key = the job's key."""

    kind = "sms"

    @classmethod
    def recipient(cls, payload: Mapping[str, Any]) -> str:
        return str(payload.get("phone") or "")

    def deliver(self, job: JobView) -> str:
        payload = self.ports.resolve_payload(job.payload)
        identifier = _text(payload, "gateway")
        phone = _text(payload, "phone")
        message = _text(payload, "message", required=False)
        try:
            with transaction(self.ports.sessions) as session:
                config = self.notify.sms_settings(session, identifier)
        except ResourceNotFoundError as exc:
            raise PermanentDeliveryError(exc.message) from None
        return sms.send(config, phone, message, job.idempotency_key)
