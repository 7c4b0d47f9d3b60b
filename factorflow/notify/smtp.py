"""Sending one email through an SMTP server (RFC 5321), with implicit TLS (SMTPS,
RFC 8314) or STARTTLS (RFC 3207), optional AUTH and a timeout.

Every message carries ``Message-ID: <idempotency key>`` (RFC 5322 §3.6.4), so a
receiver (or a human) can tell a redelivery after a lost acknowledgement from a
new message. Failures are classified for the job queue: 5xx replies, refused
credentials and TLS certificate errors are permanent; everything else (connection
refused, timeouts, 4xx replies) is worth another attempt.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate

from factorflow.jobs.base import DeliveryError, PermanentDeliveryError

_ADDRESS = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+$")


@dataclass(frozen=True)
class SmtpSettings:
    """A stored SMTP server configuration with its password in plain text."""

    server: str
    port: int
    sender: str
    tls: bool = False
    starttls: bool = False
    tls_verify: bool = True
    username: str = ""
    password: str = ""
    timeout: float = 10.0


@dataclass(frozen=True)
class InlineImage:
    """An image shown in an HTML body via ``cid:<cid>`` (multipart/related)."""

    cid: str
    filename: str
    data: bytes
    subtype: str = "png"


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    subject: str
    body: str
    mimetype: str = "plain"  # or "html"
    reply_to: str = ""
    images: tuple[InlineImage, ...] = field(default_factory=tuple)


def is_address(value: str) -> bool:
    return bool(_ADDRESS.match(value)) and len(value) <= 254


def message_id(idempotency_key: str) -> str:
    """The Message-ID for a job: ``<key>`` when the key is a valid ``local@domain``
    msg-id (RFC 5322 §3.6.4); otherwise characters outside dot-atom text are
    percent-encoded (one-to-one, so distinct keys stay distinct) and a key without a
    domain gets ``@factorflow``."""
    local, at, domain = idempotency_key.strip("<>").rpartition("@")
    if not at:
        local, domain = domain, "factorflow"
    return f"<{_dot_atom(local)}@{_dot_atom(domain)}>"


_ATEXT = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&'*+-/=?^_`{|}~."
)


def _dot_atom(text: str) -> str:
    encoded = "".join(c if c in _ATEXT else "".join(f"%{b:02X}" for b in c.encode()) for c in text)
    # A dot-atom neither starts nor ends with a dot, nor holds two in a row.
    encoded = encoded.replace("..", ".%2E")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if encoded.endswith("."):
        encoded = encoded[:-1] + "%2E"
    return encoded or "%00"


def _one_line(value: str) -> str:
    # Header injection guard: a subject from a template must not add headers.
    return " ".join(value.splitlines()).strip()


def build_message(config: SmtpSettings, email: Email, idempotency_key: str) -> EmailMessage:
    """The MIME message for ``email``; raises PermanentDeliveryError for bad addresses."""
    bad = [addr for addr in email.to if not is_address(addr)]
    if not email.to:
        raise PermanentDeliveryError("The email has no recipient")
    if bad:
        raise PermanentDeliveryError(f"Invalid recipient address: {', '.join(bad)}")
    if email.reply_to and not all(is_address(a.strip()) for a in email.reply_to.split(",")):
        raise PermanentDeliveryError(f"Invalid Reply-To address: {email.reply_to}")
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = ", ".join(email.to)
    msg["Subject"] = _one_line(email.subject)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(idempotency_key)
    if email.reply_to:
        msg["Reply-To"] = email.reply_to
    subtype = "html" if email.mimetype == "html" else "plain"
    msg.set_content(email.body, subtype=subtype)
    for image in email.images:
        if subtype == "html":
            # multipart/related: the HTML body shows the image via cid:<cid>.
            msg.add_related(
                image.data,
                maintype="image",
                subtype=image.subtype,
                cid=f"<{image.cid}>",
                filename=image.filename,
            )
        else:
            msg.add_attachment(
                image.data, maintype="image", subtype=image.subtype, filename=image.filename
            )
    return msg


def _tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _connect(config: SmtpSettings) -> smtplib.SMTP:
    if config.tls:
        return smtplib.SMTP_SSL(
            config.server,
            config.port,
            timeout=config.timeout,
            context=_tls_context(config.tls_verify),
        )
    conn = smtplib.SMTP(config.server, config.port, timeout=config.timeout)
    if config.starttls:
        conn.starttls(context=_tls_context(config.tls_verify))
    return conn


def send(config: SmtpSettings, email: Email, idempotency_key: str) -> str:
    """Send ``email``; return a note naming any refused recipients. Raises
    :class:`DeliveryError` (retry) or :class:`PermanentDeliveryError` (do not)."""
    message = build_message(config, email, idempotency_key)
    where = f"{config.server}:{config.port}"
    try:
        with _connect(config) as conn:
            if config.username:
                conn.login(config.username, config.password)
            refused = conn.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentDeliveryError(
            f"SMTP server {where} refused the credentials: {_reply(exc)}"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        text = "; ".join(
            f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in exc.recipients.items()
        )
        error_type = PermanentDeliveryError if all(c >= 500 for c in codes) else DeliveryError
        raise error_type(f"SMTP server {where} refused every recipient: {text}") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise PermanentDeliveryError(f"SMTP server {where}: {exc}") from None
    except smtplib.SMTPResponseException as exc:
        error_type = PermanentDeliveryError if exc.smtp_code >= 500 else DeliveryError
        raise error_type(f"SMTP server {where} answered {_reply(exc)}") from None
    except ssl.SSLCertVerificationError as exc:
        raise PermanentDeliveryError(
            f"TLS certificate of SMTP server {where} not trusted: {exc.verify_message}"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        raise DeliveryError(f"SMTP server {where} unreachable: {reason}") from None
    if refused:
        return "refused recipients: " + ", ".join(sorted(refused))
    return f"accepted by {where}"


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else raw


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"
