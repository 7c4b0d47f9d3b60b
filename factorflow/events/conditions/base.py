"""The condition plug-in API: a condition is a small registered function.

A condition has a privacyIDEA name, a descriptor for the UI (``type`` str / multi /
regexp, ``desc``, ``group``, optional ``value`` choices) and two functions:

* ``parse(text) -> T`` turns the configured string into a checked, compiled value
  when the definition is saved (raise ``ValueError`` naming the problem: the API
  answers 400 and nothing is stored) and when the cache loads it;
* ``check(facts, value) -> Matched | NotMatched | Unknown`` evaluates it against
  one request. A condition never raises for missing data: it answers
  :class:`Unknown` with a reason and ``compat`` — what privacyIDEA 3.14 answers in
  that case (its "lenient" conditions match, the others do not).

Honest semantics: an unknown result counts as a match only if the definition's
``unknown_is_match`` says so; then ``compat`` decides, so such definitions behave
exactly like privacyIDEA's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from factorflow.events.facts import Facts

T = TypeVar("T")

Verdict = Literal["matched", "not_matched", "unknown"]


@dataclass(frozen=True)
class Matched:
    reason: str
    verdict: Verdict = "matched"


@dataclass(frozen=True)
class NotMatched:
    reason: str
    verdict: Verdict = "not_matched"


@dataclass(frozen=True)
class Unknown:
    reason: str
    #: privacyIDEA 3.14's answer when this data is missing (used if unknown_is_match).
    compat: bool = False
    verdict: Verdict = "unknown"


ConditionResult = Matched | NotMatched | Unknown


def verdict(ok: bool, reason: str) -> ConditionResult:
    return Matched(reason) if ok else NotMatched(reason)


@dataclass(frozen=True)
class Condition(Generic[T]):
    name: str
    group: str
    ui_type: str
    desc: str
    parse: Callable[[str], T]
    check: Callable[[Facts, T], ConditionResult]
    #: Fixed choices for the UI (e.g. True/False); dynamic lists are named by ``choices_from``.
    choices: tuple[str, ...] = ()
    #: "realms", "resolvers" or "tokentypes": the API fills the list from the configuration.
    choices_from: str = ""
    #: Words for people ("Successful authentications"); the UI shows the name as a hint.
    #: A Factorflow addition to privacyIDEA's descriptor, which clients ignore.
    label: str = ""

    def descriptor(self, dynamic: Mapping[str, list[str]]) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.ui_type, "desc": self.desc, "group": self.group}
        if self.label:
            out["label"] = self.label
        if self.choices:
            out["value"] = list(self.choices)
        elif self.choices_from:
            out["value"] = [{"name": name} for name in dynamic.get(self.choices_from, [])]
        return out


class ConditionRegistry(Mapping[str, Condition[Any]]):
    """All known conditions by name; a duplicate name is a programming error."""

    def __init__(self) -> None:
        self._items: dict[str, Condition[Any]] = {}

    def add(self, condition: Condition[Any]) -> None:
        if condition.name in self._items:
            raise ValueError(f"condition {condition.name!r} registered twice")
        self._items[condition.name] = condition

    def __getitem__(self, name: str) -> Condition[Any]:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ValueError(f"{text!r} is not True or False")


def parse_list(text: str) -> frozenset[str]:
    items = frozenset(item.strip() for item in text.split(",") if item.strip())
    if not items:
        raise ValueError("an empty list")
    return items


def parse_text(text: str) -> str:
    return text.strip()


__all__ = [
    "Condition",
    "ConditionRegistry",
    "ConditionResult",
    "Matched",
    "NotMatched",
    "Unknown",
    "Verdict",
    "parse_bool",
    "parse_list",
    "parse_text",
    "verdict",
]
