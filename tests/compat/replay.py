"""Replaying a capture of real privacyIDEA clients against Factorflow.

The capture (``data/client-traffic-3.14.jsonl``) holds one exchange per line: the
request a client sent to privacyIDEA 3.14 and the answer it got. :func:`send` sends
the same request to Factorflow; :func:`compare` lists where Factorflow's answer
differs in what clients rely on:

* the HTTP status, the envelope's keys and ``id``;
* ``result.status``, ``result.authentication``, the error code and message;
* ``result.value``: its type, and its value where it is deterministic. In a dict
  every key the capture shows must be there (extra keys break no client); the
  capture trimmed some values (strings ending in ``...(trimmed)``, lists ending in
  ``"..."``), of which the part it kept is compared;
* ``detail``: the set of keys, at every level (``multi_challenge`` entries,
  ``googleurl``...), and the values of the keys in :data:`DETAIL_VALUES`.

Paths matched by the caller's allow-list (``fnmatch`` patterns over dotted paths,
list elements as ``[]``, e.g. ``result.value.tokens[].id``) are compared by type only;
lists matched by its ``unordered`` patterns are compared as sets (privacyIDEA builds
them from sets, so their order varies from process to process).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from httpx import Response
from starlette.testclient import TestClient

CAPTURE = Path(__file__).parent / "data" / "client-traffic-3.14.jsonl"
TRIMMED_TEXT = "...(trimmed)"
TRIMMED_LIST = "..."

#: Detail values clients read and show (the message, the token, the challenge).
DETAIL_VALUES = frozenset(
    {"message", "messages", "serial", "type", "otplen", "client_mode",
     "preferred_client_mode", "challenge_status", "rollout_state"}
)  # fmt: skip


@dataclass(frozen=True)
class Exchange:
    """One request of the capture and privacyIDEA's answer."""

    index: int
    method: str
    path: str
    query: dict[str, str]
    params: dict[str, str] | None
    headers: dict[str, str]
    status: int
    response: dict[str, Any]

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), "")

    @property
    def user_agent(self) -> str:
        return self.header("User-Agent")

    @property
    def label(self) -> str:
        return f"{self.index:02d}-{self.method}-{self.path}"

    @property
    def detail(self) -> Any:
        return self.response.get("detail")


def load(path: Path = CAPTURE) -> list[Exchange]:
    exchanges = []
    for index, line in enumerate(path.read_text().splitlines()):
        raw = json.loads(line)
        request = (raw["method"], raw["path"], raw["query"] or {}, raw["params"], raw["headers"])
        exchanges.append(Exchange(index, *request, raw["status"], raw["response"]))
    return exchanges


def send(
    client: TestClient, exchange: Exchange, params: dict[str, str] | None, jwt: str
) -> Response:
    """Send ``exchange`` with ``params`` (the captured ones with our values), encoded
    as the client did (query, form, multipart or JSON) and with our JWT."""
    headers = {"User-Agent": exchange.user_agent}
    if exchange.header("Authorization"):
        headers["Authorization"] = jwt
    kind = exchange.header("Content-Type")
    method, path, query = exchange.method, exchange.path, exchange.query
    if params is None:
        return client.request(method, path, params=query, headers=headers)
    if kind.startswith("application/json"):
        headers["Content-Type"] = "application/json"
        return client.request(method, path, params=query, content=json.dumps(params),
                              headers=headers)  # fmt: skip
    if kind.startswith("multipart/form-data"):
        fields = {name: (None, value) for name, value in params.items()}
        return client.request(method, path, params=query, files=fields, headers=headers)
    return client.request(method, path, params=query, data=params, headers=headers)


class Comparison:
    """The differences of one answer; ``allowed`` maps path patterns to the reason
    their values may differ."""

    def __init__(self, allowed: Mapping[str, str], unordered: Mapping[str, str]) -> None:
        self.allowed = allowed
        self.unordered = unordered
        self.problems: list[str] = []

    def differ(self, path: str, what: str) -> None:
        self.problems.append(f"{path}: {what}")

    def _allowed(self, path: str) -> bool:
        return any(fnmatchcase(path, pattern) for pattern in self.allowed)

    def _unordered(self, path: str) -> bool:
        return any(fnmatchcase(path, pattern) for pattern in self.unordered)

    def value(self, path: str, theirs: Any, ours: Any) -> None:
        if self._allowed(path):
            if theirs is not None and type(theirs) is not type(ours):
                self.differ(path, f"type {type(ours).__name__}, expected {type(theirs).__name__}")
            return
        if isinstance(theirs, str) and theirs.endswith(TRIMMED_TEXT):
            kept = theirs[: -len(TRIMMED_TEXT)]
            if not (isinstance(ours, str) and ours.startswith(kept)):
                self.differ(path, f"{ours!r} does not start with {kept!r}")
        elif isinstance(theirs, dict):
            self._dict_value(path, theirs, ours)
        elif isinstance(theirs, list):
            self._list_value(path, theirs, ours)
        elif type(theirs) is not type(ours) or theirs != ours:
            self.differ(path, f"{ours!r}, expected {theirs!r}")

    def _dict_value(self, path: str, theirs: dict[str, Any], ours: Any) -> None:
        if not isinstance(ours, dict):
            self.differ(path, f"{type(ours).__name__}, expected an object")
            return
        for key, item in theirs.items():
            if key not in ours:
                self.differ(f"{path}.{key}", "missing")
            else:
                self.value(f"{path}.{key}", item, ours[key])

    def _list_value(self, path: str, theirs: list[Any], ours: Any) -> None:
        if not isinstance(ours, list):
            self.differ(path, f"{type(ours).__name__}, expected a list")
        elif self._unordered(path):
            if sorted(map(str, theirs)) != sorted(map(str, ours)):
                self.differ(path, f"{sorted(ours)}, expected {sorted(theirs)} in any order")
        elif theirs and theirs[-1] == TRIMMED_LIST:
            missing = [item for item in theirs[:-1] if item not in ours]
            if missing:
                self.differ(path, f"lacks {missing}")
        elif len(theirs) != len(ours):
            self.differ(path, f"{len(ours)} elements, expected {len(theirs)}")
        else:
            for theirs_item, our_item in zip(theirs, ours, strict=True):
                self.value(f"{path}[]", theirs_item, our_item)

    def detail(self, path: str, theirs: Any, ours: Any) -> None:
        """The same keys at every level; values of :data:`DETAIL_VALUES` too."""
        if isinstance(theirs, dict) and isinstance(ours, dict):
            if set(theirs) != set(ours):
                missing, extra = sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs))
                self.differ(path, f"keys: missing {missing}, unexpected {extra}")
            for key in set(theirs) & set(ours):
                if key in DETAIL_VALUES:
                    self.value(f"{path}.{key}", theirs[key], ours[key])
                self.detail(f"{path}.{key}", theirs[key], ours[key])
        elif isinstance(theirs, list) and isinstance(ours, list):
            for theirs_item, our_item in zip(theirs, ours, strict=False):
                self.detail(f"{path}[]", theirs_item, our_item)
            if len(theirs) != len(ours):
                self.differ(path, f"{len(ours)} elements, expected {len(theirs)}")
        elif (
            isinstance(theirs, dict | list)
            or isinstance(ours, dict | list)
            or ((theirs is None) != (ours is None))
        ):
            self.differ(path, f"{type(ours).__name__}, expected {type(theirs).__name__}")


def compare(
    exchange: Exchange,
    response: Response,
    allowed: Mapping[str, str],
    unordered: Mapping[str, str],
) -> list[str]:
    """What differs between privacyIDEA's captured answer and ``response``."""
    check = Comparison(allowed, unordered)
    if response.status_code != exchange.status:
        check.differ("HTTP status", f"{response.status_code}, expected {exchange.status}")
    try:
        ours: dict[str, Any] = response.json()
    except ValueError:
        return [*check.problems, f"body: not JSON: {response.text[:200]!r}"]
    theirs = exchange.response
    if set(ours) != set(theirs):
        check.differ("envelope", f"keys {sorted(ours)}, expected {sorted(theirs)}")
    check.value("id", theirs.get("id"), ours.get("id"))
    their_result, our_result = theirs["result"], ours.get("result") or {}
    for key in ("status", "authentication", "error"):
        if key in their_result or key in our_result:
            check.value(f"result.{key}", their_result.get(key), our_result.get(key))
    if "value" in their_result:
        check.value("result.value", their_result["value"], our_result.get("value"))
    check.detail("detail", theirs.get("detail"), ours.get("detail"))
    return check.problems
