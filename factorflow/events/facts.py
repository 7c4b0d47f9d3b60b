"""The facts conditions, tags and actions look at, loaded lazily once per request.

One :class:`Facts` is built per pipeline hook (pre or post) and shared by every
definition it runs, so ten definitions that look at the token cost one query; a
definition that needs no token costs none. How the context is determined
follows privacyIDEA (reference §3.1):

* the **user**: a user-role caller is the user; else the ``user`` (or, on ``auth``,
  ``username``) parameter with ``realm``; else the owner of the ``serial`` parameter's
  token; a user that cannot be resolved is no user;
* the **serials**: the ``serial`` parameter, else ``detail.serial`` of the response,
  else the serial the request wrote into its audit entry (may be a comma list);
* the **tokens**: those serials' tokens, else all tokens of the user;
* the **token**: only when exactly one token was found.

One deliberate difference: after ``/validate/check`` (post position) the token is
what the check named — ``serial``, ``detail.serial`` or the audit's serial. A check
names a token only when its PIN was right, so a wrong PIN identifies none and
conditions about the token are unknown (not a match, not even for
privacyIDEA-compatible definitions): "notify the user when his password was
guessed" must not fire for a wrong guess. Actions still find the user's tokens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factorflow.audit.record import AuditRecord
from factorflow.core.invocation import Invocation, Reply
from factorflow.errors import FactorflowError
from factorflow.events.models import EventCounter
from factorflow.tokens.models import Token, TokenOwner
from factorflow.users.identity import User

if TYPE_CHECKING:
    from factorflow.users.service import UserService

log = logging.getLogger(__name__)

#: Events whose answer names the token the request used: after them the token of a
#: request is only the one the answer (or the request) names.
CHECK_EVENTS = frozenset({"validate_check"})


def response_view(reply: Reply | None) -> dict[str, Any] | None:
    """The reply as privacyIDEA's JSON envelope shows it (``result``, ``detail``);
    None before the service call (pre position)."""
    if reply is None:
        return None
    if reply.error is not None:
        return {
            "result": {
                "status": False,
                "error": {"code": reply.error.code, "message": reply.error.message},
            },
            "detail": reply.error.detail,
        }
    assert reply.outcome is not None
    result: dict[str, Any] = {"status": True, "value": reply.outcome.value}
    if reply.outcome.authentication is not None:
        result["authentication"] = reply.outcome.authentication
    return {"result": result, "detail": dict(reply.outcome.detail)}


def split_serials(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@dataclass
class Facts:
    """Everything about one request that definitions may ask, computed on demand.

    ``reply`` is the live reply for post definitions (actions may replace it);
    ``now`` is fixed for the request so that all definitions agree on the time.
    """

    #: The user directory the request's user and token owners are resolved in.
    users: UserService
    session: Session
    inv: Invocation
    audit: AuditRecord
    reply: Reply | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The server's public base URL (the ``{url}`` tag).
    base_url: str = ""

    @property
    def params(self) -> dict[str, Any]:
        return self.inv.params

    @property
    def response(self) -> dict[str, Any] | None:
        # Not cached: post actions may replace the reply between definitions.
        return response_view(self.reply)

    def param(self, name: str) -> str:
        value = self.params.get(name)
        return value.strip() if isinstance(value, str) else ("" if value is None else str(value))

    # -- user --------------------------------------------------------------------

    @cached_property
    def user(self) -> User | None:
        users = self.users
        try:
            if self.inv.actor.is_user:
                return users.resolve(self.session, self.inv.actor.username, self.inv.actor.realm)
            login = self.param("user") or (
                self.param("username") if self.inv.event == "auth" else ""
            )
            if login:
                return users.resolve(self.session, login, self.param("realm"))
        except FactorflowError as exc:
            log.debug("event facts: no user for %r: %s", self.inv.event, exc.message)
            return None
        serial = self.param("serial")
        if serial and "," not in serial:
            token = self.session.scalar(select(Token).where(Token.serial == serial))
            if token is not None:
                return self.owner_of(token)
        return None

    def owner_of(self, token: Token) -> User | None:
        """The resolved owner of a token; None if unassigned or no longer resolvable."""
        owner = token.owner
        if owner is None:
            return None
        try:
            return self.users.get_user(
                self.session, owner.realm.name, owner.resolver, owner.user_id
            )
        except FactorflowError:
            return None

    def reset_user(self) -> None:
        """Forget the user (a RequestMangler changed ``user``/``realm``)."""
        for name in ("user", "tokens", "user_token_count"):
            self.__dict__.pop(name, None)

    def forget_tokens(self) -> None:
        """Reload tokens on next use (an action's SAVEPOINT was rolled back)."""
        for name in ("tokens", "user_token_count"):
            self.__dict__.pop(name, None)

    # -- serials and tokens ---------------------------------------------------------

    @property
    def serials(self) -> list[str]:
        serial = self.param("serial")
        if not serial:
            detail = (self.response or {}).get("detail") or {}
            serial = str(detail.get("serial") or "") if isinstance(detail, dict) else ""
        if not serial:
            serial = self.audit.serial
        return split_serials(serial)

    @cached_property
    def tokens(self) -> list[Token]:
        serials = self.serials
        if serials:
            rows = self.session.scalars(select(Token).where(Token.serial.in_(serials)))
            return sorted(rows, key=lambda t: serials.index(t.serial))
        user = self.user
        if user is None:
            return []
        return self.tokens_of(user)

    def tokens_of(self, user: User) -> list[Token]:
        query = (
            select(Token)
            .join(TokenOwner, TokenOwner.token_id == Token.id)
            .where(TokenOwner.resolver == user.resolver, TokenOwner.user_id == user.uid)
            .order_by(Token.id)
        )
        return list(self.session.scalars(query))

    @property
    def token_unidentified(self) -> bool:
        """A check answered without naming a token (a wrong PIN, a locked token, an
        unknown user): conditions about the token must not fall back to the
        user's tokens, as privacyIDEA does."""
        return self.reply is not None and self.inv.event in CHECK_EVENTS and not self.serials

    @property
    def token(self) -> Token | None:
        tokens = self.tokens
        return tokens[0] if len(tokens) == 1 else None

    def explain_context(self) -> dict[str, str]:
        """Which user and token the conditions looked at, and where each came from,
        in words for a dry run's reader ("the request's serial parameter")."""
        user = self.user
        out = {
            "user": f"{user.login}@{user.realm}" if user is not None else "",
            "user_from": _user_source(self, user),
        }
        serials = self.serials
        if self.param("serial"):
            source = "the request's serial parameter"
        elif serials and self.audit.serial and serials == split_serials(self.audit.serial):
            source = "the token the request named (its audit entry)"
        elif serials:
            source = "detail.serial of the response"
        else:
            source = "the user's tokens"
        tokens = self.tokens
        token = self.token
        if token is not None:
            why = source
        elif self.token_unidentified:
            why = "none: the check named no token (a wrong PIN, a locked token or an unknown user)"
        elif not tokens:
            why = f"none: no token found from {source}"
        else:
            why = f"none: {len(tokens)} tokens from {source}, not one"
        out["token"] = token.serial if token is not None else ""
        out["token_from"] = why
        return out

    @cached_property
    def user_token_count(self) -> int | None:
        user = self.user
        if user is None:
            return None
        return int(
            self.session.scalar(
                select(func.count(TokenOwner.id)).where(
                    TokenOwner.resolver == user.resolver, TokenOwner.user_id == user.uid
                )
            )
            or 0
        )

    # -- counters ------------------------------------------------------------------

    def counter(self, name: str) -> int:
        """The logical value of an event counter: the sum over all nodes (0 if none)."""
        total = self.session.scalar(
            select(func.sum(EventCounter.value)).where(EventCounter.counter_name == name)
        )
        return int(total or 0)


def _user_source(facts: Facts, user: User | None) -> str:
    if user is None:
        return "none: the request names no user that resolves"
    if facts.inv.actor.is_user:
        return "the logged-in user"
    if facts.param("user") or (facts.inv.event == "auth" and facts.param("username")):
        return "the request's user parameter"
    return "the owner of the request's serial"


__all__ = ["Facts", "response_view", "split_serials"]
