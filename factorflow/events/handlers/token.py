"""Token: act on the request's tokens (reference §4.2).

The tokens are those named by the request's serials (the ``serial`` parameter,
``detail.serial`` of the response, or the serials the request audited); without a
serial, the one token the conditions looked at — the request user's only token, so
that ``validate_check`` with user and password (pre or post) acts on the token the
check used. A user with several tokens and no serial: the action fails ("No token
serials found"), as in privacyIDEA. Unlike privacyIDEA, a misconfigured sub-action
(unknown realm or token group, a non-integer tokeninfo value) fails visibly in the
audit instead of logging a warning and reporting success. Texts may carry tags
describing the handled token and its owner. ``attach application`` is in
:mod:`factorflow.events.handlers.token_attach`.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.dates import VALIDITY_FORMAT, parse_moment
from factorflow.errors import TokenAdminError
from factorflow.events.errors import ActionError
from factorflow.events.facts import Facts
from factorflow.events.handlers.base import (
    CHOICES,
    CHOICES_FROM,
    ActionContext,
    ActionOptions,
    EventHandler,
    NoOptions,
    Template,
)
from factorflow.events.handlers.token_attach import (
    AttachOptions,
    attach,
    check_attach_references,
)
from factorflow.events.handlers.token_enroll import (
    EnrollOptions,
    check_enroll_references,
    enroll,
)
from factorflow.events.tags import render
from factorflow.tokens.info import delete_info, get_info, set_info
from factorflow.tokens.models import Token, TokenGroup, TokenGroupMember, TokenRealm
from factorflow.tokens.service import refuse_enabling_revoked
from factorflow.users.models import Realm

_SIGNED = re.compile(r"^\s*[+-]?\d{1,9}\s*$")
_VALIDITY_HELP = (
    "{}: a date (2016/12/23, 23.12.2016 9:30, 2016/12/23 9:30am, 2016-12-23T15:30+0600) "
    "or an offset from now (+30m, +24h, +30d)"
)


class RealmOptions(ActionOptions):
    realm: str = Field(
        title="Realm",
        min_length=1,
        max_length=120,
        description="The realm to add",
        json_schema_extra={CHOICES_FROM: "realms"},
    )
    only_realm: bool = Field(
        title="Replace all realms", default=False, description="Replace all realms of the token"
    )


class DescriptionOptions(ActionOptions):
    description: Template = Field(
        title="Description", default="", max_length=255, description="The description"
    )


class ValidityOptions(ActionOptions):
    valid_from: str = Field(
        title="Valid from",
        default="",
        alias="valid from",
        max_length=40,
        description=_VALIDITY_HELP.format("Start"),
    )
    valid_till: str = Field(
        title="Valid till",
        default="",
        alias="valid till",
        max_length=40,
        description=_VALIDITY_HELP.format("End"),
    )

    @field_validator("valid_from", "valid_till")
    @classmethod
    def _parses(cls, value: str) -> str:
        if value.strip():
            parse_moment(value)
        return value


class CountWindowOptions(ActionOptions):
    count_window: int = Field(
        title="Count window",
        default=50,
        alias="count window",
        ge=0,
        le=100_000,
        description="The HOTP look-ahead window",
    )


class InfoOptions(ActionOptions):
    key: str = Field(
        title="Tokeninfo key", min_length=1, max_length=255, description="The tokeninfo key"
    )
    value: Template = Field(
        title="Value", default="", max_length=2000, description="The value; tags allowed"
    )


class IncreaseInfoOptions(ActionOptions):
    key: str = Field(
        title="Tokeninfo key", min_length=1, max_length=255, description="The tokeninfo key"
    )
    increment: str = Field(
        title="Change by", default="1", max_length=12, description="e.g. +1 or -7"
    )

    @field_validator("increment")
    @classmethod
    def _integer(cls, value: str) -> str:
        if not _SIGNED.match(value):
            raise ValueError(f"{value!r} is not an integer like +1 or -7")
        return value


class DeleteInfoOptions(ActionOptions):
    key: str = Field(
        title="Tokeninfo key", min_length=1, max_length=255, description="The tokeninfo key"
    )


class FailCounterOptions(ActionOptions):
    fail_counter: int = Field(
        title="Fail counter",
        alias="fail counter",
        ge=0,
        le=1_000_000,
        description="The new fail counter",
    )


class ChangeFailCounterOptions(ActionOptions):
    change: str = Field(
        title="Change the fail counter by",
        alias="change fail counter",
        max_length=12,
        description="+n or -n",
    )

    @field_validator("change")
    @classmethod
    def _integer(cls, value: str) -> str:
        if not _SIGNED.match(value):
            raise ValueError(f"{value!r} is not an integer like +1 or -2")
        return value


class MaxFailOptions(ActionOptions):
    max_failcount: int = Field(
        title="Maximum fail counter",
        alias="max failcount",
        ge=0,
        le=1_000_000,
        description="The new maximum fail counter",
    )


class RandomPinOptions(ActionOptions):
    length: int = Field(
        title="PIN length",
        default=6,
        ge=1,
        le=31,
        description="Length of the random PIN",
        json_schema_extra={CHOICES: list(range(1, 32))},
    )


class TokenGroupOptions(ActionOptions):
    tokengroup: str = Field(
        title="Token group",
        min_length=1,
        max_length=120,
        description="The token group",
        json_schema_extra={CHOICES_FROM: "tokengroups"},
    )


def handled_tokens(facts: Facts) -> list[Token]:
    """The tokens an action works on (privacyIDEA's context, reference §3.1): those of
    the request's serials; else the one token the conditions looked at — the request
    user's only token, as on ``validate_check`` with user and password; none when
    the user has several."""
    if facts.serials:
        return facts.tokens
    token = facts.token
    return [token] if token is not None else []


def token_text(ctx: ActionContext, text: str, token: Token) -> str:
    """A description or tokeninfo value with its tags: those of the handled token and
    its owner, and ``{realm}`` = the realm of the user in the request (the Token
    handler's documentation; elsewhere ``{realm}`` is the logged-in principal's)."""
    user = ctx.facts.user
    return render(text, ctx.facts, token, {"realm": user.realm if user is not None else ""})


def _realm(ctx: ActionContext, name: str) -> Realm:
    realm = ctx.session.scalar(select(Realm).where(Realm.name == name))
    if realm is None:
        raise ActionError(f"realm {name!r} does not exist")
    return realm


def _group(ctx: ActionContext, name: str) -> TokenGroup:
    group = ctx.session.scalar(select(TokenGroup).where(TokenGroup.name == name))
    if group is None:
        raise ActionError(f"token group {name!r} does not exist")
    return group


def _refuse_revoked(token: Token) -> None:
    # The same rule as /token/enable: a definition cannot undo a revocation.
    try:
        refuse_enabling_revoked([token])
    except TokenAdminError as exc:
        raise ActionError(f"{token.serial}: {exc}") from None


def _performed(ctx: ActionContext, event: str, action: str, o: ActionOptions, token: Token) -> None:
    """The API request that does what ``action`` did to ``token``: its rule (as the
    audit names it), parameters and result, as the route would have them."""
    serial = token.serial
    params: dict[str, Any] = {"serial": serial}
    method, rule, value = "POST", f"/token/{action}/<serial>", 1
    if isinstance(o, RealmOptions):
        params["realms"] = o.realm
        rule = "/token/realm/<serial>"
    elif action == "delete":
        method, rule = "DELETE", "/token/<serial>"
    elif action == "unassign":
        rule = "/token/unassign"
    elif isinstance(o, DescriptionOptions):
        params["description"] = token.description
        rule = "/token/description/<serial>"
    elif isinstance(o, CountWindowOptions | MaxFailOptions):
        key = "count_window" if isinstance(o, CountWindowOptions) else "max_failcount"
        params[key] = str(token.count_window if key == "count_window" else token.maxfail)
        rule = "/token/set/<serial>"
    elif isinstance(o, InfoOptions | DeleteInfoOptions):
        params["key"] = o.key
        if isinstance(o, InfoOptions):
            params["value"] = get_info(token, o.key, "")
        else:
            method = "DELETE"
        rule, value = "/token/info/<serial>/<key>", True
    elif isinstance(o, TokenGroupOptions):
        params["groupname"] = o.tokengroup
        method = "POST" if action == "add tokengroup" else "DELETE"
        rule, value = "/token/group/<serial>/<groupname>", True
    ctx.performed_request(event, rule, params, method=method, value=value)


class TokenHandler(EventHandler):
    identifier = "Token"
    description = "Change the tokens of the request."
    actions = {
        "set tokenrealm": RealmOptions,
        "delete": NoOptions,
        "unassign": NoOptions,
        "disable": NoOptions,
        "enable": NoOptions,
        "enroll": EnrollOptions,
        "set description": DescriptionOptions,
        "set validity": ValidityOptions,
        "set countwindow": CountWindowOptions,
        "set tokeninfo": InfoOptions,
        "increase tokeninfo": IncreaseInfoOptions,
        "delete tokeninfo": DeleteInfoOptions,
        "set failcounter": FailCounterOptions,
        "change failcounter": ChangeFailCounterOptions,
        "set max failcount": MaxFailOptions,
        "set random pin": RandomPinOptions,
        "add tokengroup": TokenGroupOptions,
        "remove tokengroup": TokenGroupOptions,
        "attach application": AttachOptions,
    }
    #: The API event of the same call, for definitions with ``chain_events``.
    chained_events = {
        "set tokenrealm": "token_realm",
        "delete": "token_delete",
        "unassign": "token_unassign",
        "disable": "token_disable",
        "enable": "token_enable",
        "set description": "token_set",
        "set countwindow": "token_set",
        "set max failcount": "token_set",
        "set tokeninfo": "token_info",
        "delete tokeninfo": "token_info",
        "add tokengroup": "token_assign_group",
        "remove tokengroup": "token_unassign_group",
    }

    def check_references(self, session: Session, action: str, options: ActionOptions) -> None:
        if isinstance(options, EnrollOptions):
            check_enroll_references(session, options)
        elif isinstance(options, AttachOptions):
            check_attach_references(session, options)

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        if isinstance(options, EnrollOptions):
            enroll(ctx, options)
            return
        tokens = handled_tokens(ctx.facts)
        if not tokens:
            raise ActionError("No token serials found")
        if action == "set random pin":
            self._random_pin(ctx, tokens, options)
            return
        for token in tokens:
            self._one(ctx, action, options, token)
            if action in self.chained_events:
                _performed(ctx, self.chained_events[action], action, options, token)
        ctx.session.flush()

    def _one(self, ctx: ActionContext, action: str, o: ActionOptions, token: Token) -> None:
        if isinstance(o, RealmOptions):
            realm = _realm(ctx, o.realm)
            if o.only_realm:
                token.realms.clear()
                ctx.session.flush()
            if all(member.realm_id != realm.id for member in token.realms):
                token.realms.append(TokenRealm(realm_id=realm.id, realm=realm))
        elif action == "delete":
            ctx.session.delete(token)
        elif action == "unassign":
            token.owner = None
            token.pin_hash = ""
            token.failcount = 0
        elif action in ("disable", "enable"):
            if action == "enable":
                _refuse_revoked(token)
            token.active = action == "enable"
        elif isinstance(o, DescriptionOptions):
            token.description = token_text(ctx, o.description, token)[:255]
        elif isinstance(o, ValidityOptions):
            self._validity(ctx, o, token)
        elif isinstance(o, CountWindowOptions):
            token.count_window = o.count_window
        elif isinstance(o, InfoOptions):
            set_info(token, o.key, token_text(ctx, o.value, token))
        elif isinstance(o, IncreaseInfoOptions):
            try:
                current = int(get_info(token, o.key, "0") or "0")
            except ValueError:
                raise ActionError(f"tokeninfo {o.key!r} is not an integer") from None
            set_info(token, o.key, str(current + int(o.increment)))
        elif isinstance(o, DeleteInfoOptions):
            delete_info(token, o.key)
        elif isinstance(o, FailCounterOptions):
            token.failcount = o.fail_counter
            if o.fail_counter == 0:
                delete_info(token, "failcounter_exceeded")
        elif isinstance(o, ChangeFailCounterOptions):
            token.failcount = token.failcount + int(o.change)
        elif isinstance(o, MaxFailOptions):
            token.maxfail = o.max_failcount
        elif isinstance(o, TokenGroupOptions):
            self._tokengroup(ctx, action, o, token)
        elif isinstance(o, AttachOptions):
            attach(ctx, o, token)

    def _validity(self, ctx: ActionContext, o: ValidityOptions, token: Token) -> None:
        for text, key in (
            (o.valid_from, "validity_period_start"),
            (o.valid_till, "validity_period_end"),
        ):
            if text.strip():
                moment = parse_moment(text, ctx.facts.now)
                set_info(token, key, moment.strftime(VALIDITY_FORMAT))

    def _tokengroup(
        self, ctx: ActionContext, action: str, o: TokenGroupOptions, token: Token
    ) -> None:
        group = _group(ctx, o.tokengroup)
        present = [m for m in token.groups if m.tokengroup_id == group.id]
        if action == "add tokengroup" and not present:
            token.groups.append(TokenGroupMember(tokengroup_id=group.id, group=group))
        elif action == "remove tokengroup":
            for member in present:
                token.groups.remove(member)

    def _random_pin(self, ctx: ActionContext, tokens: list[Token], o: ActionOptions) -> None:
        assert isinstance(o, RandomPinOptions)
        reply = ctx.reply
        if reply is None or reply.outcome is None:
            raise ActionError("set random pin needs a successful response (post position)")
        alphabet = string.ascii_letters + string.digits
        pin = "".join(secrets.choice(alphabet) for _ in range(o.length))
        for token in tokens:
            try:
                ctx.ports.helpdesk.set_generated_pin(ctx.session, ctx.inv.actor, token, pin)
            except TokenAdminError as exc:
                raise ActionError(f"{token.serial}: {exc}") from None
        ctx.session.flush()
        reply.outcome.detail = {**reply.outcome.detail, "pin": pin}
