"""privacyIDEA's policy file: ``GET /policy/export/<file>`` and ``POST /policy/import/<file>``.

The format is privacyIDEA's (a ConfigObj file): one section per policy, headed by
its name, with one ``key = value`` line per field of the policy object; lists,
the action object, booleans and numbers are Python literals::

    [helpdesk]
    name = helpdesk
    scope = admin
    action = {'enable': True, 'disable': True}
    realm = ['staff']
    priority = 1

Reading takes the fields a policy has (``action``, ``scope``, ``realm``,
``resolver``, ``user``, ``adminrealm``, ``adminuser``, ``client``, ``time``,
``priority``, ``active``, ``conditions``, ``description``) and ignores the others
(``id``, ``check_all_resolvers``, privacyIDEA's ``pinode`` ...). Literals are read
with :func:`ast.literal_eval`, which evaluates no code. A text that spans lines or
has surrounding blanks is written as a quoted literal, so that it reads back the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from factorflow.errors import ParameterError

#: Fields read from a file, and whether their value is a Python literal.
FIELDS = {
    "scope": False, "action": True, "realm": True, "resolver": True, "user": True,
    "adminrealm": True, "adminuser": True, "client": True, "time": False,
    "priority": True, "active": True, "conditions": True, "description": False,
}  # fmt: skip
MAX_POLICIES = 1000
MAX_LINE = 100_000


def export_text(policies: Iterable[Mapping[str, Any]]) -> str:
    """The policy file of ``policies`` (policy objects as ``GET /policy/`` answers)."""
    out: list[str] = []
    for policy in policies:
        out.append(f"[{policy['name']}]")
        out.extend(f"{key} = {_render(value)}" for key, value in policy.items())
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def _render(value: Any) -> str:
    if isinstance(value, str):
        plain = "\n" not in value and "\r" not in value and value == value.strip()
        return value if plain and value[:1] not in "'\"" else repr(value)
    return repr(value)


@dataclass
class FileEntry:
    """One policy of a file: its name and the fields to save."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


def parse_file(text: str) -> list[FileEntry]:
    """The policies of a policy file; a malformed line is a ParameterError naming it."""
    entries: list[FileEntry] = []
    current: FileEntry | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_LINE:
            raise ParameterError(f"Invalid policy file: line {number} is too long.")
        if line.startswith("[") and line.endswith("]"):
            current = FileEntry(line.strip("[]").strip())
            entries.append(current)
            if len(entries) > MAX_POLICIES:
                raise ParameterError(f"Invalid policy file: more than {MAX_POLICIES} policies.")
            continue
        key, sep, value = line.partition("=")
        if current is None or not sep:
            raise ParameterError(f"Invalid policy file: line {number} is not 'key = value'.")
        key = key.strip()
        if key in FIELDS:
            current.params[key] = _value(value.strip(), literal=FIELDS[key])
    return entries


def _value(text: str, *, literal: bool) -> Any:
    if not literal and text[:1] not in "'\"":
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        # privacyIDEA's own form of some fields: plain text ("enable, disable", "realm1").
        return text
