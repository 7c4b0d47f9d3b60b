"""One importable item of a source server, and the report of a run."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

Apply = Callable[[Session], None]
#: Writes several items of one kind at once, as their ``apply`` would one by one.
ApplyMany = Callable[[Session, "list[Item]"], None]


def digest(data: object) -> str:
    """A stable digest of an item's source state (secrets included, so a changed key
    or password counts as a change)."""
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Item:
    """``kind`` and ``key`` (serial or name) identify the item across runs; ``apply``
    writes it through Factorflow's services. ``refused`` says why it cannot be
    imported at all (then ``apply`` is None). Items that share an ``apply_many``
    may be written together by it, given ``data`` (what ``apply`` writes)."""

    kind: str
    key: str
    digest: str
    apply: Apply | None
    refused: str = ""
    apply_many: ApplyMany | None = None
    data: object = None


def refused(kind: str, key: str, reason: str) -> Item:
    return Item(kind, key, "", None, reason)


@dataclass
class Report:
    """Counts per kind and outcome (``new``, ``updated``, ``unchanged``,
    ``not imported``), every item not imported with the reason, and how the source's
    audit signatures checked (``valid``, ``invalid``, ``not checked``)."""

    dry_run: bool = False
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    signatures: Counter[str] = field(default_factory=Counter)
    not_imported: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, item: Item, outcome: str) -> None:
        self.counts[item.kind, outcome] += 1

    def refuse(self, item: Item, reason: str) -> None:
        self.count(item, "not imported")
        self.not_imported.append((item.kind, item.key, reason))

    def kinds(self) -> list[str]:
        return list(dict.fromkeys(kind for kind, _ in self.counts))

    def total(self, outcome: str) -> int:
        return sum(n for (_, seen), n in self.counts.items() if seen == outcome)
