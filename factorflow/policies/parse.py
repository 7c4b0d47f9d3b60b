"""Parsing the conditions of a policy, once, on save and when the cache compiles.

Every parser raises :class:`PolicyInputError` naming the field, so bad input is
refused with a 400 and never reaches request time.

* **name lists** (realm, resolver, adminrealm): plain names, compared
  case-insensitively.
* **user specs** (user, adminuser): names with ``*``/``?`` wildcards; a ``!`` or
  ``-`` prefix excludes. A list of only exclusions means "everyone except".
* **client networks**: IPv4/IPv6 addresses or CIDRs; ``!``/``-`` excludes.
* **time windows**: privacyIDEA's ``<dow>[-<dow>]: <hh>[:<mm>]-<hh>[:<mm>]``
  entries separated by commas, e.g. ``Mon-Fri: 08:00-18:00, Sat: 9-12``. The end
  is exclusive; ``00:00-24:00`` is the whole day.
* **conditions**: ``{section, key, comparator, value, active, handle_missing_data}``
  with section ``userinfo`` or ``tokeninfo``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, Literal

from factorflow.core.params import is_true, split_list
from factorflow.errors import ParameterError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECTIONS = ("userinfo", "tokeninfo")
COMPARATORS = (
    "equals", "!equals", "contains", "!contains", "in", "!in", "matches", "!matches",
    "<", ">", "<=", ">=", "date_before", "date_after", "date_within_last", "!date_within_last",
)  # fmt: skip
MISSING = ("raise_error", "condition_is_false", "condition_is_true")
_NAME = re.compile(r"^[A-Za-z0-9_.@\- ]{1,64}$")
_USER = re.compile(r"^[^\s,]{1,255}$")
_TIME_ENTRY = re.compile(
    r"^(?P<d1>[A-Za-z]{3})(?:\s*-\s*(?P<d2>[A-Za-z]{3}))?\s*:\s*"
    r"(?P<h1>\d{1,2})(?::(?P<m1>\d{2}))?\s*-\s*(?P<h2>\d{1,2})(?::(?P<m2>\d{2}))?$"
)


class PolicyInputError(ParameterError):
    """A policy field that does not validate; the message names the field."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"Invalid parameter {field!r}: {why}")
        self.field = field


def policy_name(name: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise PolicyInputError(
            "name", "use 1-64 letters, digits, blanks and the characters _ . - @"
        )
    return name


def name_list(field: str, value: Any) -> list[str]:
    items = split_list(value)
    for item in items:
        if not _NAME.match(item):
            raise PolicyInputError(field, f"invalid name {item[:40]!r}")
    return items


@dataclass(frozen=True)
class UserSpec:
    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def matches(self, login: str) -> bool:
        if any(fnmatchcase(login, pattern) for pattern in self.exclude):
            return False
        return not self.include or any(fnmatchcase(login, p) for p in self.include)


def user_spec(field: str, items: list[str]) -> UserSpec:
    include: list[str] = []
    exclude: list[str] = []
    for item in items:
        negated = item[0] in "!-"
        name = item[1:].strip() if negated else item
        if not name or not _USER.match(name):
            raise PolicyInputError(field, f"invalid user {item[:40]!r}")
        (exclude if negated else include).append(name)
    return UserSpec(tuple(include), tuple(exclude))


def user_list(field: str, value: Any) -> list[str]:
    items = split_list(value)
    user_spec(field, items)
    return items


@dataclass(frozen=True)
class ClientSpec:
    include: tuple[Network, ...]
    exclude: tuple[Network, ...]

    def matches(self, client: str) -> bool:
        if not self.include and not self.exclude:
            return True
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        if any(address in net for net in self.exclude):
            return False
        return not self.include or any(address in net for net in self.include)


def client_spec(items: list[str]) -> ClientSpec:
    include: list[Network] = []
    exclude: list[Network] = []
    for item in items:
        negated = item[0] in "!-"
        text = item[1:].strip() if negated else item
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise PolicyInputError("client", f"invalid network {item[:60]!r}") from None
        (exclude if negated else include).append(network)
    return ClientSpec(tuple(include), tuple(exclude))


def client_list(value: Any) -> list[str]:
    items = split_list(value)
    client_spec(items)
    return items


@dataclass(frozen=True)
class TimeWindow:
    days: frozenset[int]
    start: int  # minutes after midnight, inclusive
    end: int  # exclusive

    def covers(self, moment: datetime) -> bool:
        minute = moment.hour * 60 + moment.minute
        return moment.weekday() in self.days and self.start <= minute < self.end


def _day(text: str) -> int:
    try:
        return DAYS.index(text.lower())
    except ValueError:
        raise PolicyInputError("time", f"unknown weekday {text!r}") from None


def _minutes(hours: str, minutes: str | None) -> int:
    h, m = int(hours), int(minutes or 0)
    if h > 24 or m > 59 or (h == 24 and m):
        raise PolicyInputError("time", f"invalid time {hours}:{minutes or '00'}")
    return h * 60 + m


def time_windows(text: str) -> tuple[TimeWindow, ...]:
    windows: list[TimeWindow] = []
    for entry in split_list(text):
        found = _TIME_ENTRY.match(entry)
        if found is None:
            raise PolicyInputError("time", f"expected e.g. 'Mon-Fri: 08:00-18:00', got {entry!r}")
        first = _day(found["d1"])
        last = _day(found["d2"]) if found["d2"] else first
        days = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        start, end = _minutes(found["h1"], found["m1"]), _minutes(found["h2"], found["m2"])
        if start >= end:
            raise PolicyInputError("time", f"the range in {entry!r} ends before it starts")
        windows.append(TimeWindow(frozenset(days), start, end))
    return tuple(windows)


@dataclass(frozen=True)
class Condition:
    section: Literal["userinfo", "tokeninfo"]
    key: str
    comparator: str
    value: str
    active: bool = True
    handle_missing_data: str = "raise_error"

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section, "key": self.key, "comparator": self.comparator,
            "value": self.value, "active": self.active,
            "handle_missing_data": self.handle_missing_data,
        }  # fmt: skip


def _condition(raw: Any, index: int) -> Condition:
    field = f"conditions[{index}]"
    if isinstance(raw, list | tuple) and 4 <= len(raw) <= 6:
        keys = ("section", "key", "comparator", "value", "active", "handle_missing_data")
        raw = dict(zip(keys, raw, strict=False))
    if not isinstance(raw, dict):
        raise PolicyInputError(field, "expected an object or a list")
    section, key = str(raw.get("section", "")), str(raw.get("key", "")).strip()
    comparator, value = str(raw.get("comparator", "")), raw.get("value", "")
    missing = str(raw.get("handle_missing_data") or "raise_error")
    if section not in SECTIONS:
        raise PolicyInputError(field, f"section must be one of {', '.join(SECTIONS)}")
    if not key or len(key) > 255:
        raise PolicyInputError(field, "a key is required")
    if comparator not in COMPARATORS:
        raise PolicyInputError(field, f"unknown comparator {comparator[:20]!r}")
    if not isinstance(value, str | int | float) or len(str(value)) > 2000:
        raise PolicyInputError(field, "the value must be a string")
    if missing not in MISSING:
        raise PolicyInputError(field, f"handle_missing_data must be one of {', '.join(MISSING)}")
    if comparator.endswith("matches"):
        try:
            re.compile(str(value))
        except re.error:
            raise PolicyInputError(field, "invalid regular expression") from None
    active = raw.get("active", True)
    return Condition(section, key, comparator, str(value), is_true(active), missing)  # type: ignore[arg-type]


def conditions(value: Any) -> tuple[Condition, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list | tuple):
        raise PolicyInputError("conditions", "expected a list")
    return tuple(_condition(raw, i) for i, raw in enumerate(value))
