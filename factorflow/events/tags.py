"""Tags in texts (``{serial}``, ``{username}``, ``{now}+7d`` ...), substituted safely.

A regular expression finds ``{name}`` (a plain identifier) and looks the name up in
a dictionary of strings. Nothing is ever passed to ``str.format``: ``{user.__class__}``,
``{0}`` or a stray brace stay text, so a template can neither reach attributes nor
run code. ``{now}`` / ``{current_time}`` may carry an offset, glued or with blanks
(``{now}+7d``, ``{now} - 12h``). Unknown tags are refused when a definition is saved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from factorflow.core.compare import ComparisonError, check_now_offsets
from factorflow.core.dates import NOW_TAG, TIMESTAMP_FORMAT

if TYPE_CHECKING:
    from factorflow.events.facts import Facts
    from factorflow.tokens.models import Token
    from factorflow.users.identity import User

TAG = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

KNOWN_TAGS = frozenset(
    {
        "serial",
        "user",
        "givenname",
        "surname",
        "username",
        "userrealm",
        "realm",
        "admin",
        "action",
        "tokentype",
        "tokendescription",
        "now",
        "current_time",
        "time",
        "date",
        "client_ip",
        "ua_browser",
        "ua_string",
        "registrationcode",
        "googleurl_value",
        "googleurl_img",
        "pin",
        "url",
        "pushurl_value",
        "pushurl_img",
        "container_serial",
        "container_url_value",
        "container_url_img",
        "recipient_givenname",
        "recipient_surname",
        "challenge",
    }
)
#: ``<serial>`` in a route template, filled from the parameters for ``{action}``.
_PATH_VARIABLE = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")


def unknown_tags(text: str, known: Iterable[str] = KNOWN_TAGS) -> list[str]:
    allowed = frozenset(known)
    return [name for name in TAG.findall(text) if name not in allowed]


def check_template(text: str) -> str:
    """Pydantic validator for option texts: refuse unknown tags, naming them, and
    ``{now}`` offsets beyond 100 years."""
    try:
        check_now_offsets(text)
    except ComparisonError as exc:
        raise ValueError(str(exc)) from None
    bad = unknown_tags(text)
    if bad:
        names = ", ".join("{" + name + "}" for name in dict.fromkeys(bad))
        raise ValueError(f"unknown tag {names}; known tags: {', '.join(sorted(KNOWN_TAGS))}")
    return text


def _detail(facts: Facts) -> dict[str, Any]:
    detail = (facts.response or {}).get("detail")
    return detail if isinstance(detail, dict) else {}


def _nested(detail: dict[str, Any], key: str, sub: str) -> str:
    holder = detail.get(key)
    return str(holder.get(sub) or "") if isinstance(holder, dict) else ""


def request_path(facts: Facts) -> str:
    """The request's path (``/token/disable/ABC``): its route with the path variables."""
    params = facts.params

    def fill(match: re.Match[str]) -> str:
        value = params.get(match.group(1))
        return str(value) if isinstance(value, str | int) else match.group(0)

    return _PATH_VARIABLE.sub(fill, facts.inv.rule)


def tag_values(facts: Facts, token: Token | None = None) -> dict[str, str]:
    """The tag dictionary for one text (reference §4.0). With ``token``, the token tags
    and the user tags describe that token and its owner; otherwise the request's token
    and user. ``{realm}`` and ``{admin}`` are the logged-in principal's; the Token
    handler's texts replace ``{realm}`` by the request user's realm, as its
    documentation says. The push and container tags are empty (no such tokens yet),
    ``{recipient_*}`` too unless a notification fills them."""
    tokens = [token] if token is not None else facts.tokens
    owner: User | None = facts.owner_of(token) if token is not None else facts.user
    first = tokens[0] if tokens else None
    serial = token.serial if token is not None else ",".join(facts.serials)
    if not serial and tokens:
        serial = ",".join(t.serial for t in tokens)
    detail = _detail(facts)
    actor = facts.inv.actor
    given = owner.attribute("givenname") if owner else ""
    local = facts.now.astimezone()
    return {
        "serial": serial,
        "user": given,
        "givenname": given,
        "surname": owner.attribute("surname") if owner else "",
        "username": owner.login if owner else "",
        "userrealm": owner.realm if owner else "",
        "realm": actor.realm,
        # privacyIDEA: the logged-in principal's name, whatever its role.
        "admin": actor.username if actor.role != "none" else "",
        "action": request_path(facts),
        "tokentype": first.tokentype if first else "",
        "tokendescription": first.description if first else "",
        "time": local.strftime("%H:%M:%S"),
        "date": local.strftime("%Y-%m-%d"),
        "client_ip": facts.inv.client_ip,
        "ua_browser": facts.inv.user_agent.partition("/")[0].strip(),
        "ua_string": facts.inv.user_agent,
        "registrationcode": str(detail.get("registrationcode") or ""),
        "googleurl_value": _nested(detail, "googleurl", "value"),
        "googleurl_img": _nested(detail, "googleurl", "img"),
        "pin": str(detail.get("pin") or ""),
        "url": facts.base_url,
        "pushurl_value": _nested(detail, "pushurl", "value"),
        "pushurl_img": _nested(detail, "pushurl", "img"),
        "container_serial": facts.param("container_serial"),
        "container_url_value": _container_url(facts, "value"),
        "container_url_img": _container_url(facts, "img"),
        "recipient_givenname": "",
        "recipient_surname": "",
        "challenge": "",
    }


def _container_url(facts: Facts, sub: str) -> str:
    value = ((facts.response or {}).get("result") or {}).get("value")
    return _nested(value, "container_url", sub) if isinstance(value, dict) else ""


def render(
    text: str,
    facts: Facts,
    token: Token | None = None,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """Substitute the tags of ``text`` (``overrides`` replace some values); unknown tags
    stay as they are."""

    def now(match: re.Match[str]) -> str:
        moment = facts.now
        try:
            if match.group(1):
                delta = timedelta(**{_UNIT[match.group(3)]: int(match.group(2))})
                moment = moment + delta if match.group(1) == "+" else moment - delta
        except OverflowError:  # refused on save; an old definition keeps the text
            return match.group(0)
        return moment.strftime(TIMESTAMP_FORMAT)

    text = NOW_TAG.sub(now, text)
    if not TAG.search(text):
        return text
    values = {**tag_values(facts, token), **(overrides or {})}
    return TAG.sub(lambda m: values.get(m.group(1), m.group(0)), text)


__all__ = ["KNOWN_TAGS", "check_template", "render", "tag_values", "unknown_tags"]
