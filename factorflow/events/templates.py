"""Templates: the documentation's examples as definition bodies to start from.

A template is a definition body in the shape ``GET /event/<id>`` serializes one
(``event`` a list, ``options`` and ``conditions`` mappings), without id: the web UI's
editor opens it pre-filled and nothing is stored until the admin saves. Every template
starts **disabled** (backtest it, then enable it).

Some examples name configuration the installation must have: an SMTP server (the
installation's first one is filled in, ``emailconfig``), a script in the script
directory (named in ``requires``). :func:`templates` checks each body with the same
validation as ``POST /event`` (:meth:`EventService.transient`) and says whether it can
be saved as it is here (``valid``) and, if not, why (``problem``: the error
``POST /event`` would answer).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from factorflow.errors import FactorflowError

if TYPE_CHECKING:
    from collections.abc import Callable

    from factorflow.events.definition import Definition


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    description: str
    definition: dict[str, Any]
    #: What the installation must provide, in words (shown next to the template).
    requires: tuple[str, ...] = ()
    #: Options filled in from the installation: option name → configuration kind.
    fill: dict[str, str] = field(default_factory=dict)


def _body(**fields: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "position": "post",
        "ordering": 0,
        "active": False,
        "abort_on_error": False,
        "unknown_is_match": False,
        "condition_expression": "",
        "options": {},
        "conditions": {},
    }
    return {**defaults, **fields}


#: Script names the LDAP templates run (executables the admin puts in the script directory).
LDAP_LOCK, LDAP_UNLOCK = "ldap-lock-account", "ldap-unlock-account"

TEMPLATES: tuple[Template, ...] = (
    Template(
        "notify-guessed-password",
        "Notify the owner when the PIN was guessed",
        "A check failed although the PIN was right (only then does the check name the "
        "token; a wrong PIN names none and the condition is unknown): someone knows the "
        "PIN. Mails the token's owner.",
        _body(
            name="PIN guessed",
            event=["validate_check"],
            handlermodule="UserNotification",
            action="sendmail",
            options={
                "emailconfig": "",
                "To": "tokenowner",
                "subject": "Someone used the PIN of your token {serial}",
                "body": "Hello {givenname},\n\nat {time} on {date} the right PIN of your "
                "token {serial} was used with a wrong one-time password from {client_ip}. "
                "If that was not you, tell the help desk.\n",
            },
            conditions={"result_value": "False", "token_has_owner": "True"},
        ),
        requires=("an SMTP server",),
        fill={"emailconfig": "smtp_servers"},
    ),
    Template(
        "limit-token-usage",
        "Limit token usage",
        "Disables a token after its 100th successful authentication (the tokeninfo "
        "count_auth_success that every successful check counts).",
        _body(
            name="limit token usage",
            event=["validate_check"],
            handlermodule="Token",
            action="disable",
            conditions={"result_value": "True", "count_auth_success": ">=100"},
        ),
    ),
    Template(
        "ship-by-description",
        "Note the shipping date on new tokens",
        "Sets the description of every enrolled token to the date it must be shipped by: "
        "a week after enrolment.",
        _body(
            name="ship new tokens",
            event=["token_init"],
            handlermodule="Token",
            action="set description",
            options={"description": "This token needs to be shipped {now}+7d"},
            conditions={"result_status": "True"},
        ),
    ),
    Template(
        "ldap-lock-at-max-fail",
        "Lock the LDAP account when a token is locked",
        f"When a check leaves the token locked (its fail counter reached the maximum), "
        f"runs the script {LDAP_LOCK!r} with --user and --realm in the background, e.g. "
        f"an ldapmodify that sets the account's lock attribute.",
        _body(
            name="lock LDAP account at max fail",
            event=["validate_check"],
            handlermodule="Script",
            action=LDAP_LOCK,
            options={"background": "background", "user": "True", "realm": "True"},
            conditions={"result_value": "False", "token_locked": "True"},
        ),
        requires=(f"the script {LDAP_LOCK!r} in the script directory",),
    ),
    Template(
        "ldap-unlock-on-reset",
        "Unlock the LDAP account when the fail counter is reset",
        f"After a successful POST /token/reset, runs the script {LDAP_UNLOCK!r} with "
        f"--user and --realm: the counterpart of the lock template.",
        _body(
            name="unlock LDAP account on reset",
            event=["token_reset"],
            handlermodule="Script",
            action=LDAP_UNLOCK,
            options={"background": "background", "user": "True", "realm": "True"},
            conditions={"result_status": "True"},
        ),
        requires=(f"the script {LDAP_UNLOCK!r} in the script directory",),
    ),
    Template(
        "unlock-after-7-days",
        "Unlock tokens locked more than 7 days ago",
        "Every hour, sets the fail counter of each token locked for more than a week back "
        "to 0 (docs/events.md, scheduled definitions). A locked token without the "
        "timestamp stays locked.",
        _body(
            name="unlock after 7 days",
            event=["scheduled"],
            schedule="every 1h",
            sweep="tokens",
            handlermodule="Token",
            action="set failcounter",
            options={"fail counter": "0"},
            conditions={"token_locked": "True", "tokeninfo": "failcounter_exceeded < {now}-7d"},
        ),
    ),
    Template(
        "mail-unused-tokens",
        "Mail owners of tokens unused for 180 days",
        "Mondays at 06:00 UTC, mails the owner of each token not used successfully for 180 "
        "days (a token never used has no last_auth: unknown, no mail).",
        _body(
            name="unused tokens",
            event=["scheduled"],
            schedule="0 6 * * 1",
            sweep="tokens",
            handlermodule="UserNotification",
            action="sendmail",
            options={
                "emailconfig": "",
                "To": "tokenowner",
                "subject": "Your token {serial} is unused",
                "body": "Hello {givenname}, your token {serial} was not used for 180 days.",
            },
            conditions={"token_has_owner": "True", "last_auth": "180d"},
        ),
        requires=("an SMTP server",),
        fill={"emailconfig": "smtp_servers"},
    ),
)


def templates(
    configured: dict[str, list[str]], check: Callable[[dict[str, Any]], Definition]
) -> list[dict[str, Any]]:
    """Every template with the installation's configuration filled in (``configured``:
    kind → names, e.g. ``smtp_servers``) and the verdict of ``check`` (the validation of
    ``POST /event``, which raises a :class:`FactorflowError` for a body it refuses)."""
    out = []
    for template in TEMPLATES:
        body = copy.deepcopy(template.definition)
        for option, kind in template.fill.items():
            names = configured.get(kind) or []
            if names:
                body["options"][option] = names[0]
        try:
            check(body)
            valid, problem = True, ""
        except FactorflowError as exc:
            valid, problem = False, exc.message
        out.append(
            {
                "id": template.id,
                "title": template.title,
                "description": template.description,
                "requires": list(template.requires),
                "valid": valid,
                "problem": problem,
                "definition": body,
            }
        )
    return out
