"""Bounds on what a definition may carry, checked on every save (``POST /event``,
import, rollback) and when the cache loads a stored definition.

A definition runs on every request of its events, so whatever it carries is paid for
on every such request: these bounds keep one definition from making each request
slow or making its action fail every time.

* **events**: each event at most once (a repeated name is dropped: privacyIDEA keeps
  the string but runs the definition once per request, since it tests membership),
  at most :data:`MAX_EVENTS` names of at most :data:`MAX_EVENT_NAME` characters;
* **texts**: the name, event names, condition values and single-line options hold no
  control characters (CR/LF in a URL, a header or a mail recipient would break every
  delivery, and in the name every log line); multi-line options (``text`` in the
  option descriptor) allow only tab, CR and LF;
* **sizes**: a condition value at most :data:`MAX_CONDITION_VALUE` characters
  (privacyIDEA's column), an option value at most :data:`MAX_OPTION_VALUE` unless its
  model says less, all options together at most :data:`MAX_OPTIONS_TOTAL`, the
  condition expression at most :data:`MAX_EXPRESSION` characters;
* **dates**: offsets (``{now}-7d``, ``+30d``, durations like ``1y``) at most
  :data:`MAX_OFFSET` (``{now}-99999999d`` is before year 1 and fails every time);
* **count**: at most :data:`MAX_DEFINITIONS` definitions in all.

Regular expressions are bounded by :mod:`factorflow.core.safe_regex`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from factorflow.core.dates import MAX_OFFSET

MAX_EVENTS = 200
MAX_EVENT_NAME = 100
MAX_CONDITION_VALUE = 2000
MAX_OPTION_VALUE = 20_000
MAX_OPTIONS_TOTAL = 65_536
MAX_EXPRESSION = 2000
MAX_DEFINITIONS = 10_000

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first forbidden control character of ``text`` (``\\r``, ``\\x00`` ...),
    None if there is none; ``multiline`` texts may hold tab, CR and LF."""
    match = (_CONTROL_MULTILINE if multiline else _CONTROL).search(text)
    return None if match is None else repr(match.group(0))


def check_text(what: str, text: str, limit: int, *, multiline: bool = False) -> None:
    """Raise ValueError naming ``what`` if ``text`` is too long or holds a forbidden
    control character."""
    if len(text) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    bad = control_character(text, multiline=multiline)
    if bad is not None:
        raise ValueError(f"{what} contains the control character {bad}")


def unique_events(events: Iterable[str]) -> list[str]:
    """The event names without blanks and repeats, in their first order; ValueError
    when there are too many or one is too long or holds a control character."""
    out = list(dict.fromkeys(e.strip() for e in events if e and e.strip()))
    if len(out) > MAX_EVENTS:
        raise ValueError(f"more than {MAX_EVENTS} events")
    for name in out:
        check_text(f"the event name {name[:40]!r}", name, MAX_EVENT_NAME)
    return out


__all__ = [
    "MAX_CONDITION_VALUE",
    "MAX_DEFINITIONS",
    "MAX_EVENTS",
    "MAX_EXPRESSION",
    "MAX_OFFSET",
    "MAX_OPTIONS_TOTAL",
    "MAX_OPTION_VALUE",
    "check_text",
    "control_character",
    "unique_events",
]
