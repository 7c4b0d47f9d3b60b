"""What one request is, free of HTTP: the event, its parameters, who asks, and the reply.

The API layer turns an HTTP request into an :class:`Invocation`; the scheduler and
the dry run build the same object without HTTP. Everything downstream (pipeline,
services, conditions, handlers) sees only this.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["admin", "user", "none"]


@dataclass(frozen=True)
class Actor:
    """The authenticated principal: an internal admin, a realm user, or nobody."""

    role: Role = "none"
    username: str = ""
    realm: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_user(self) -> bool:
        return self.role == "user"


NOBODY = Actor()


@dataclass
class Invocation:
    event: str
    method: str
    #: The route template as privacyIDEA audits it, e.g. ``/token/disable/<serial>``.
    rule: str
    params: dict[str, Any]
    client_ip: str = ""
    user_agent: str = ""
    #: The ``Origin`` header (WebAuthn ceremonies compare it with the client data's).
    origin: str = ""
    authorization: str | None = None
    actor: Actor = NOBODY
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class Outcome:
    """What a service call produced: ``result.value``, ``detail`` and, for
    authentication-type answers, ``result.authentication``."""

    value: Any
    detail: dict[str, Any] = field(default_factory=dict)
    authentication: str | None = None
    #: privacyIDEA's top-level ``auth_items`` (offline values after /validate/check).
    auth_items: dict[str, Any] | None = None
    #: An HTTP status other than 200 (``/validate/radiuscheck`` answers 204/400).
    status: int = 200
    #: A body that is not the JSON envelope (``/validate/radiuscheck``, CSV export).
    raw_body: bytes | None = None
    raw_media_type: str = "application/json"
    #: A body sent as it is produced (a download too large to build in memory); it
    #: runs after the request's transaction and must open its own.
    raw_stream: Iterator[bytes] | None = None
    #: Extra response headers of a raw body, e.g. ``Content-Disposition``.
    raw_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ErrorReply:
    code: int
    message: str
    status: int
    detail: dict[str, Any] | None = None


@dataclass
class Reply:
    """The response as the pipeline hands it to post definitions and the renderer."""

    outcome: Outcome | None = None
    error: ErrorReply | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> int:
        if self.error is not None:
            return self.error.status
        assert self.outcome is not None
        return self.outcome.status
