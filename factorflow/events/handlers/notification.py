"""UserNotification: sendmail, sendsms, savefile (reference §4.1), as durable jobs.

Differences from privacyIDEA, on purpose:

* Each email / SMS is a job (:mod:`factorflow.jobs`) written in the request's
  transaction, one per recipient, with an idempotency key derived from the request
  id, the definition and the recipient: a retried request does not send twice. The
  action's audit entry says ``queued``; delivered / failed is in ``/jobs``.
* A notification without any recipient is a failure (:class:`NoRecipientError`),
  not a silent success.
* ``body`` may be ``file:<name>``: a template inside
  ``Settings.effective_template_directory`` only (no absolute paths, no ``..``, no
  symbolic links), checked when the definition is saved and read at each run.
* With ``mimetype`` html every tag value is HTML-escaped; ``attach_qrcode`` sends the
  enrolment QR code (``detail.googleurl.img``) as inline image ``cid:token_image``
  (``{googleurl_img}`` then renders as ``cid:token_image``).
* ``savefile`` writes only inside the spool directory; ``{random}`` in the file
  name is 16 random letters and digits.
* Flood control: ``flood_limit`` (N, 0 = off) notifications per recipient per
  ``flood_window`` seconds and definition; the rest are not sent, counted in the
  event counter ``flood:<definition>`` and summarised in the audit entry.
* What a message says (subject, body, the QR code image) travels in the job's sealed
  part: it may hold ``{pin}``, ``{googleurl_value}`` or ``{registrationcode}``, which
  exist only at request time and must never be stored readable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import os
import re
import secrets
import string
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from factorflow.core.dates import NOW_TAG
from factorflow.db.base import utcnow
from factorflow.events.errors import ActionError
from factorflow.events.handlers.base import (
    ActionContext,
    ActionOptions,
    EventHandler,
)
from factorflow.events.handlers.counter import _add as add_to_counter
from factorflow.events.handlers.notification_options import (
    FILE_PREFIX,
    PHONE,
    QR_CID,
    RANDOM_TAG,
    TEMPLATE_DIRECTORY,
    FloodOptions,
    NoRecipientError,
    SavefileOptions,
    SendmailOptions,
    SendsmsOptions,
    TemplateError,
    confined,
    read_template,
    split_list,
    valid_address,
)
from factorflow.events.tags import KNOWN_TAGS, TAG, tag_values
from factorflow.notify.service import sms_gateway_exists, smtp_server_exists

if TYPE_CHECKING:
    from factorflow.settings import Settings
    from factorflow.tokens.models import Token
    from factorflow.users.identity import User


def render_text(
    ctx: ActionContext,
    text: str,
    token: Token | None,
    *,
    escape: bool = False,
    overrides: dict[str, str] | None = None,
) -> str:
    """Tags substituted; with ``escape`` every tag value is HTML-escaped."""
    text = NOW_TAG.sub(lambda m: ctx.render(m.group(0), token), text)
    if not TAG.search(text):
        return text
    values = tag_values(ctx.facts, token)
    values.update(overrides or {})

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return html.escape(values[name]) if escape else values[name]

    return TAG.sub(value, text)


def recipient_names(ctx: ActionContext, to: str) -> dict[str, str]:
    """``{recipient_givenname}`` / ``{recipient_surname}``: the token owner's names when
    the mail goes to the token owner (other recipients: empty)."""
    owner = ctx.facts.user if to == "tokenowner" else None
    if owner is None:
        return {}
    return {
        "recipient_givenname": owner.attribute("givenname"),
        "recipient_surname": owner.attribute("surname"),
    }


def qr_image(ctx: ActionContext) -> bytes | None:
    detail = (ctx.facts.response or {}).get("detail")
    if not isinstance(detail, dict):
        return None
    for key in ("googleurl", "pushurl", "container_url"):
        holder = detail.get(key)
        img = holder.get("img") if isinstance(holder, dict) else None
        if isinstance(img, str) and img.startswith("data:image/png;base64,"):
            try:
                return base64.b64decode(img.split(",", 1)[1], validate=True)
            except binascii.Error:
                return None
    return None


def _item_serial(ctx: ActionContext) -> str:
    serial = ctx.inv.params.get("serial")
    return serial[:64] if isinstance(serial, str) else ""


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


# -- the handler -------------------------------------------------------------------------


class UserNotificationHandler(EventHandler):
    identifier = "UserNotification"
    description = "Notify users and admins by email or SMS (queued as jobs), or write a file."
    actions = {
        "sendmail": SendmailOptions,
        "sendsms": SendsmsOptions,
        "savefile": SavefileOptions,
    }

    def __init__(self, template_directory: Path, spool_directory: Path) -> None:
        #: Where ``file:`` bodies are read from.
        self.template_directory = template_directory
        #: Where ``savefile`` writes.
        self.spool_directory = spool_directory

    @classmethod
    def create(cls, settings: Settings) -> UserNotificationHandler:
        return cls(settings.effective_template_directory, settings.effective_spool_directory)

    def options_context(self) -> dict[str, Any]:
        """The template directory, against which ``file:`` bodies are checked."""
        return {TEMPLATE_DIRECTORY: self.template_directory}

    def check_references(self, session: Session, action: str, options: ActionOptions) -> None:
        """On save: the SMTP / SMS configuration named must exist (ValueError naming it)."""
        del action
        if isinstance(options, SendmailOptions) and not smtp_server_exists(
            session, options.emailconfig
        ):
            raise ValueError(
                f"Invalid option 'emailconfig': no SMTP server {options.emailconfig!r}"
            )
        if isinstance(options, SendsmsOptions) and not sms_gateway_exists(
            session, options.smsconfig
        ):
            raise ValueError(f"Invalid option 'smsconfig': no SMS gateway {options.smsconfig!r}")

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        if isinstance(options, SendmailOptions):
            self.sendmail(ctx, options)
        elif isinstance(options, SendsmsOptions):
            self.sendsms(ctx, options)
        else:
            assert isinstance(options, SavefileOptions)
            self.savefile(ctx, options)

    # -- shared ----------------------------------------------------------------------

    def _body(self, text: str) -> str:
        if not text.startswith(FILE_PREFIX):
            return text
        try:
            return read_template(self.template_directory, text)
        except ValueError as exc:
            raise TemplateError(str(exc)) from None

    def _owner(self, ctx: ActionContext) -> User | None:
        user = ctx.facts.user
        if user is None and ctx.facts.token is not None:
            user = ctx.facts.owner_of(ctx.facts.token)
        return user

    def _addresses(
        self,
        ctx: ActionContext,
        kind: str,
        *,
        attribute: str,
        admins: str,
        realm: str,
        emails: str,
    ) -> tuple[list[str], str]:
        """Addresses of a recipient type, and why there are none."""
        session = ctx.session
        if kind == "tokenowner":
            user = self._owner(ctx)
            if user is None:
                return [], "the request has no token owner"
            found = user.attribute(attribute or "email")
            return ([found] if found else []), f"user {user.login!r} has no {attribute or 'email'}"
        if kind == "logged_in_user":
            actor = ctx.inv.actor
            if actor.is_admin:
                found_emails = ctx.ports.admins.emails(session, [actor.username])
                return found_emails, f"admin {actor.username!r} has no email"
            if actor.is_user:
                user = ctx.ports.users.resolve(session, actor.username, actor.realm)
                found = user.attribute(attribute or "email")
                return ([found] if found else []), f"user {actor.username!r} has no email"
            return [], "nobody is logged in"
        if kind == "internal admin":
            names = split_list(admins)
            if not names:
                return [], "no internal admin configured"
            return ctx.ports.admins.emails(session, names), "the internal admins have no email"
        if kind == "admin realm":
            if not realm:
                return [], "no admin realm configured"
            listing = ctx.ports.users.list_users(session, realm=realm)
            return [str(u["email"]) for u in listing.users if u.get("email")], (
                f"no user of realm {realm!r} has an email"
            )
        return split_list(emails), "no email address configured"

    def _flood(
        self, ctx: ActionContext, options: FloodOptions, kind: str, recipient: str
    ) -> tuple[str, bool]:
        """The recipient's key digest, and whether flood control lets it through."""
        # Keyed by the definition's id: two definitions may share a name.
        digest = _digest(str(ctx.definition_id), ctx.definition_name, kind, recipient.lower())
        if not options.flood_limit:
            return digest, True
        since = utcnow() - timedelta(seconds=options.flood_window)
        sent = ctx.ports.jobs.count_since(ctx.session, ctx.definition_name, f"un:%:{digest}", since)
        return digest, sent < options.flood_limit

    def _queue(
        self,
        ctx: ActionContext,
        options: FloodOptions,
        job_kind: str,
        recipients: list[str],
        make_payload: Any,
        *,
        secret: dict[str, Any],
    ) -> None:
        queued: list[int] = []
        flooded: list[str] = []
        for recipient in recipients:
            digest, allowed = self._flood(ctx, options, job_kind, recipient)
            if not allowed:
                flooded.append(recipient)
                continue
            queued.append(
                ctx.ports.jobs.enqueue(
                    ctx.session,
                    kind=job_kind,
                    payload=make_payload(recipient),
                    secret=secret,
                    # The serial keeps the tokens of one scheduled run (one request id)
                    # apart: an owner of three unused tokens hears about all three.
                    idempotency_key=f"un:{ctx.inv.request_id}:{_item_serial(ctx)}:{digest}",
                    request_id=ctx.inv.request_id,
                    definition=ctx.definition_name,
                )
            )
        summary = f"queued {job_kind} job(s) {', '.join(map(str, queued))}" if queued else ""
        if flooded:
            add_to_counter(
                ctx.session,
                f"flood:{ctx.definition_name}"[:80],
                ctx.ports.settings.node_name,
                len(flooded),
            )
            note = (
                f"flood control: {len(flooded)} not sent (limit {options.flood_limit} "
                f"per {options.flood_window}s): {', '.join(flooded)}"
            )
            summary = f"{summary}; {note}" if summary else note
        # Suppressed by flood control is intended, not a failure: the audit info says so.
        ctx.run_details = summary

    # -- actions ---------------------------------------------------------------------

    def sendmail(self, ctx: ActionContext, options: SendmailOptions) -> None:
        found, why = self._addresses(
            ctx,
            options.to,
            attribute=options.to_tokenowner
            if options.to == "tokenowner"
            else options.to_logged_in_user,
            admins=options.to_internal_admin,
            realm=options.to_admin_realm,
            emails=options.to_email,
        )
        recipients: list[str] = []
        for address in found:
            try:
                normal = valid_address(address)
            except ValueError:
                continue
            if normal.lower() not in (r.lower() for r in recipients):
                recipients.append(normal)
        if not recipients:
            raise NoRecipientError(f"no recipient for {options.to}: {why}")
        reply_to = ""
        if options.reply_to:
            replies, _ = self._addresses(
                ctx,
                options.reply_to,
                attribute=options.reply_to_tokenowner
                if options.reply_to == "tokenowner"
                else options.reply_to_logged_in_user,
                admins=options.reply_to_internal_admin,
                realm=options.reply_to_admin_realm,
                emails=options.reply_to_email,
            )
            if options.reply_to == "email":
                replies = replies[:1]
            reply_to = ", ".join(replies)
        token = ctx.facts.token
        image = qr_image(ctx) if options.attach_qrcode else None
        overrides = {"googleurl_img": f"cid:{QR_CID}"} if image is not None else {}
        overrides.update(recipient_names(ctx, options.to))
        escape = options.mimetype == "html"
        subject = render_text(ctx, options.subject, token, overrides=overrides)
        body = render_text(ctx, self._body(options.body), token, escape=escape, overrides=overrides)
        images = []
        if image is not None:
            serial = token.serial if token is not None else "token"
            images.append(
                {
                    "cid": QR_CID,
                    "filename": f"{serial}.png",
                    "data": base64.b64encode(image).decode("ascii"),
                    "subtype": "png",
                }
            )

        def payload(recipient: str) -> dict[str, Any]:
            return {
                "smtp": options.emailconfig,
                "to": [recipient],
                "mimetype": options.mimetype,
                "reply_to": reply_to,
            }

        secret = {"subject": subject, "body": body, "images": images}
        self._queue(ctx, options, "email", recipients, payload, secret=secret)

    def sendsms(self, ctx: ActionContext, options: SendsmsOptions) -> None:
        user = self._owner(ctx)
        if user is None:
            raise NoRecipientError("no recipient: the request has no token owner")
        phone = user.attribute("mobile").strip()
        if not phone:
            raise NoRecipientError(f"no recipient: user {user.login!r} has no mobile number")
        if not PHONE.match(phone):
            raise NoRecipientError(f"no recipient: {phone!r} is not a phone number")
        message = render_text(ctx, self._body(options.body), ctx.facts.token)
        self._queue(
            ctx,
            options,
            "sms",
            [phone],
            lambda recipient: {"gateway": options.smsconfig, "phone": recipient},
            secret={"message": message},
        )

    def savefile(self, ctx: ActionContext, options: SavefileOptions) -> None:
        spool = self.spool_directory
        alphabet = string.ascii_letters + string.digits
        random_part = "".join(secrets.choice(alphabet) for _ in range(16))
        name = render_text(ctx, options.filename.replace(RANDOM_TAG, random_part), ctx.facts.token)
        content = render_text(ctx, self._body(options.body), ctx.facts.token)
        spool.mkdir(parents=True, exist_ok=True)
        try:
            path = confined(spool, name, "filename")
        except ValueError as exc:
            raise ActionError(str(exc)) from None
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path = confined(spool, name, "filename")  # again, after creating directories
        except ValueError as exc:
            raise ActionError(str(exc)) from None
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o640)
        except OSError as exc:
            raise ActionError(f"cannot write {name!r}: {exc.strerror}") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        ctx.run_details = f"saved {path.relative_to(spool.resolve()).as_posix()}"


#: Tags a savefile filename may use besides the standard ones.
FILENAME_TAGS = KNOWN_TAGS | {"random"}

__all__ = [
    "NoRecipientError",
    "SavefileOptions",
    "SendmailOptions",
    "SendsmsOptions",
    "TemplateError",
    "UserNotificationHandler",
]
