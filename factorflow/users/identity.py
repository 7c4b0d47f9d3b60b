"""A resolved user: who they are in which realm and store."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class User:
    login: str
    realm: str
    resolver: str
    uid: str
    attributes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def attribute(self, name: str) -> str:
        return self.attributes.get(name, "")
