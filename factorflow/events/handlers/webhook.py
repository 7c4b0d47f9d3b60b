"""WebHook: send an HTTP request to a receiver as a durable job (reference §4.10).

Unlike privacyIDEA (fire once, any HTTP status counts), the request is a job of kind
``webhook`` enqueued in the request's transaction: the worker sends it after the
request committed, and a network error or a non-2xx answer is retried with backoff.

The body template ``data`` is parsed first and tags are substituted inside it: for
JSON in every key and string value of the parsed document (a value containing quotes
cannot break the JSON), for form bodies in every decoded name and value, which are
then encoded again. Besides the tags of §4.0 the legacy WebHook aliases work:
``{logged_in_user}``, ``{token_serial}``, ``{token_owner}``, ``{user_realm}``.

With a signing secret (``whsec_...``) the request carries the Standard Webhooks
headers ``webhook-id`` (the job's idempotency key, the same on every attempt),
``webhook-timestamp`` and ``webhook-signature``. The secret and the custom headers
are secret options (sealed at rest, censored in answers); they and the body travel
encrypted in the job payload and are redacted in the audit.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import Field, field_validator, model_validator
from standardwebhooks.webhooks import Webhook

from factorflow.core.dates import NOW_TAG, TIMESTAMP_FORMAT
from factorflow.core.untrusted import json_loads
from factorflow.events.handlers.base import ActionContext, ActionOptions, EventHandler, Secret
from factorflow.events.limits import control_character
from factorflow.events.tags import KNOWN_TAGS, TAG, tag_values
from factorflow.jobs.base import Deliverer, DeliveryError, JobView, PermanentDeliveryError

JOB_KIND = "webhook"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
_LEGACY_TYPES = {"json": JSON, "urlencoded": FORM}
LEGACY_TAGS = frozenset({"logged_in_user", "token_serial", "token_owner", "user_realm"})
WEBHOOK_TAGS = KNOWN_TAGS | LEGACY_TAGS
_PURPOSE = "webhook-job"
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)


def parse_headers(text: str) -> dict[str, str]:
    """The ``headers`` option: a JSON object of header names to string values."""
    if not text.strip():
        return {}
    try:
        value = json_loads(text, "headers")
    except ValueError:
        raise ValueError("headers must be a JSON object of header names to values") from None
    if not isinstance(value, dict):
        raise ValueError("headers must be a JSON object of header names to values")
    out: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(item, str) or not _HEADER_NAME.match(name):
            raise ValueError(f"header {name!r} needs a valid name and a string value")
        if control_character(item) is not None:
            raise ValueError(f"header {name!r} must not contain line breaks or control characters")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by Factorflow")
        out[name] = item
    return out


class WebHookOptions(ActionOptions):
    URL: str = Field(
        title="Receiver URL", min_length=1, max_length=2000, description="The receiver's URL"
    )
    method: Literal["POST", "PUT"] = Field(
        title="HTTP method", default="POST", description="The HTTP method"
    )
    content_type: Literal[
        "application/json", "application/x-www-form-urlencoded", "json", "urlencoded"
    ] = Field(
        title="Content type", default="application/json", description="The body's content type"
    )
    replace: bool = Field(
        title="Substitute tags", default=False, description="Substitute tags in the body"
    )
    data: str = Field(
        title="Body",
        default="",
        max_length=20000,
        description="The body; with replace, tags are substituted inside its values",
        json_schema_extra={"ui_type": "text"},
    )
    headers: Secret = Field(
        title="Headers",
        default="",
        max_length=4000,
        description='Custom headers as a JSON object, e.g. {"Authorization": "Bearer ..."}',
        json_schema_extra={"ui_type": "text"},
    )
    secret: Secret = Field(
        title="Signing secret",
        default="",
        max_length=500,
        description="Standard Webhooks signing secret (whsec_...); empty: unsigned",
    )
    timeout: int = Field(
        title="Timeout (seconds)", default=10, ge=1, le=120, description="Seconds per attempt"
    )

    @field_validator("URL")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("URL must be an http:// or https:// URL")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: str) -> str:
        parse_headers(value)
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if value:
            if not value.startswith("whsec_"):
                raise ValueError("secret must be a Standard Webhooks secret (whsec_...)")
            try:
                Webhook(value)
            except Exception:
                raise ValueError("secret is not a valid whsec_ base64 secret") from None
        return value

    @model_validator(mode="after")
    def _body(self) -> WebHookOptions:
        if self.replace:
            bad = [n for n in TAG.findall(self.data) if n not in WEBHOOK_TAGS]
            if bad:
                names = ", ".join("{" + n + "}" for n in dict.fromkeys(bad))
                raise ValueError(f"unknown tag {names} in data")
        if self.mime == JSON and self.data.strip():
            try:
                json_loads(self.data, "data")
            except ValueError as exc:
                raise ValueError(f"data is not valid JSON: {exc}") from None
        return self

    @property
    def mime(self) -> str:
        return _LEGACY_TYPES.get(self.content_type, self.content_type)


def webhook_values(ctx: ActionContext) -> dict[str, str]:
    values = tag_values(ctx.facts)
    user = ctx.facts.user
    actor = ctx.inv.actor
    values["logged_in_user"] = user.login if user else actor.username
    values["realm"] = user.realm if user else actor.realm
    values["user_realm"] = values["userrealm"]
    values["token_serial"] = values["serial"]
    values["token_owner"] = values["givenname"]
    return values


def substitute(text: str, values: Mapping[str, str], now: datetime) -> str:
    """One pass over ``text``: ``{now}`` offsets, then the tags (unknown ones stay)."""

    def moment(match: re.Match[str]) -> str:
        at = now
        if match.group(1):
            delta = timedelta(**{_UNIT[match.group(3)]: int(match.group(2))})
            at = at + delta if match.group(1) == "+" else at - delta
        return at.strftime(TIMESTAMP_FORMAT)

    text = NOW_TAG.sub(moment, text)
    return TAG.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _walk(value: Any, fill: Any) -> Any:
    if isinstance(value, str):
        return fill(value)
    if isinstance(value, list):
        return [_walk(v, fill) for v in value]
    if isinstance(value, dict):
        return {fill(k): _walk(v, fill) for k, v in value.items()}
    return value


def render_body(options: WebHookOptions, values: Mapping[str, str], now: datetime) -> str:
    """The request body: tags substituted inside the parsed document, never pasted."""
    if not options.replace or not options.data:
        return options.data

    def fill(text: str) -> str:
        return substitute(text, values, now)

    if options.mime == JSON:
        return json.dumps(_walk(json.loads(options.data), fill), ensure_ascii=False)
    pairs = parse_qsl(options.data, keep_blank_values=True)
    return urlencode([(fill(k), fill(v)) for k, v in pairs])


class WebHookHandler(EventHandler):
    identifier = "WebHook"
    description = "Send an HTTP request (a retried, optionally signed job)."
    actions = {"post_webhook": WebHookOptions}

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        assert isinstance(options, WebHookOptions)
        body = render_body(options, webhook_values(ctx), ctx.facts.now)
        box = ctx.ports.box
        headers = options.headers
        payload: dict[str, Any] = {
            "url": options.URL,
            "method": options.method,
            "content_type": options.mime,
            "timeout": options.timeout,
            "headers": box.encrypt_text(headers, _PURPOSE) if headers else "",
            "secret": box.encrypt_text(options.secret, _PURPOSE) if options.secret else "",
        }
        job_id = ctx.ports.jobs.enqueue(
            ctx.session,
            kind=JOB_KIND,
            payload=payload,
            # The body may carry {pin} or {googleurl_value}: sealed until delivery.
            secret={"body": body},
            idempotency_key=f"msg_{uuid.uuid4().hex}",
            request_id=ctx.inv.request_id,
            definition=ctx.definition_name,
        )
        ctx.run_details = f"queued as job {job_id}"


def signature_headers(secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


class WebHookDeliverer(Deliverer):
    """Sends a ``webhook`` job; 2xx is success, anything else is retried."""

    kind = JOB_KIND

    @classmethod
    def recipient(cls, payload: Mapping[str, Any]) -> str:
        url = payload.get("url")
        return (urlsplit(url).hostname or "") if isinstance(url, str) else ""

    def deliver(self, job: JobView) -> str:
        p = job.payload
        url, method, body = p.get("url"), p.get("method", "POST"), p.get("body", "")
        if not isinstance(url, str) or method not in ("POST", "PUT") or not isinstance(body, str):
            raise PermanentDeliveryError("Job payload needs url, method POST/PUT and a body")
        box = self.ports.box
        try:
            raw_headers = box.decrypt_text(p["headers"], _PURPOSE) if p.get("headers") else ""
            custom = parse_headers(raw_headers)
            secret = box.decrypt_text(p["secret"], _PURPOSE) if p.get("secret") else ""
        except Exception as exc:
            name = type(exc).__name__
            raise PermanentDeliveryError(f"Job payload cannot be read: {name}") from None
        headers = {**custom, "Content-Type": str(p.get("content_type") or JSON)}
        if secret:
            headers.update(signature_headers(secret, job.idempotency_key, body, datetime.now(UTC)))
        timeout = float(p.get("timeout") or 10)
        import httpx  # here, not at the top: a worker that sends none carries no client

        try:
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                response = client.request(method, url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"receiver answered HTTP {response.status_code}")
        return f"HTTP {response.status_code}"


__all__ = [
    "JOB_KIND",
    "WebHookDeliverer",
    "WebHookHandler",
    "WebHookOptions",
    "parse_headers",
    "render_body",
    "signature_headers",
    "substitute",
]
