"""The audit hash chain: what each signature covers.

Entry ``n`` of the chain (its ``id`` is its sequence number) is signed with
HMAC-SHA256 under the audit key over a canonical serialisation of its columns, its
sequence number and the signature of entry ``n - 1``; that signature is the entry's
hash, the link the next entry covers. The chain starts after the *genesis*: the id
of the last entry written before the chain existed (0 for a log that never had
entries without it); entry ``genesis + 1`` links to the genesis entry's signature.
Entries up to the genesis keep their own signature over their columns and id.

The head (the newest sequence number and hash) is kept in ``audit_chain`` and in
the anchor file of each node's data directory; both are signed too, each under its
own label, so that no signature can stand in for another kind.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

#: The columns every signature covers, as privacyIDEA's audit has them plus the trace.
SIGNED_FIELDS = (
    "date", "startdate", "duration", "action", "success", "authentication", "serial",
    "token_type", "user", "realm", "resolver", "administrator", "action_detail", "info",
    "privacyidea_server", "client", "user_agent", "user_agent_version", "policies",
    "request_id", "trace",
)  # fmt: skip

#: The link of the first entry when there was no entry before the chain.
NO_HASH = ""


@dataclass(frozen=True)
class ChainPoint:
    """One position of the chain: the entry ``seq`` whose signature is ``hash``."""

    genesis: int
    seq: int
    hash: str

    @property
    def is_genesis(self) -> bool:
        return self.seq == self.genesis


def _legacy_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


#: The text columns, in the order a chain entry's canonical form lists them.
TEXT_FIELDS = tuple(
    name for name in SIGNED_FIELDS if name not in ("date", "startdate", "duration", "success")
)

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def _instant(value: object) -> str:
    assert isinstance(value, datetime)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def chained_form(row: Mapping[str, object], seq: int, prev: str) -> bytes:
    """A chain entry's canonical form: a JSON list in a fixed order (verifying a
    million entries spends most of its time here, so no dict and no key sorting)."""
    duration = row["duration"]
    assert isinstance(duration, float | int)
    head = [
        "audit-entry",
        seq,
        prev,
        _instant(row["date"]),
        _instant(row["startdate"]),
        round(duration, 6),
        bool(row["success"]),
    ]
    return _ENCODE(head + [row[name] for name in TEXT_FIELDS]).encode()


def _dump(data: Mapping[str, object]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


class ChainSigner:
    """Computes every signature of the audit log under the audit key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, data: bytes) -> str:
        return hmac.digest(self._key, data, "sha256").hex()

    def legacy(self, row: Mapping[str, object]) -> str:
        """The signature of an entry written before the chain: its columns and id."""
        data = {name: _legacy_value(row[name]) for name in SIGNED_FIELDS}
        data["id"] = row["id"]
        return self._mac(_dump(data))

    def entry(self, row: Mapping[str, object], seq: int, prev: str) -> str:
        """The signature (and hash) of chain entry ``seq`` that follows hash ``prev``."""
        return self._mac(chained_form(row, seq, prev))

    def point(self, kind: str, point: ChainPoint, counter: int = 0) -> str:
        """The signature of a head (``kind`` "audit-head") or of an anchor record
        ("audit-anchor", with its write ``counter``)."""
        data = {"kind": kind, "genesis": point.genesis, "seq": point.seq, "hash": point.hash}
        if counter:
            data["counter"] = counter
        return self._mac(_dump(data))

    @staticmethod
    def same(left: str, right: str) -> bool:
        return hmac.compare_digest(left, right)
