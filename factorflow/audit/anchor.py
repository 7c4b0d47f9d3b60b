"""The anchor: the newest chain point this node wrote, kept outside the database.

A writer records the head it committed in ``audit.anchor`` in the data directory
(next to the audit key, out of reach of someone who can only write to the database)
and checks, before it moves the anchor on, that the database still holds the point
the anchor names. ``factorflow audit verify`` then finds a rolled-back head or
deleted newest entries by the anchor even when the database is consistent in itself.

The file has two fixed-size slots, written in turn in place (one ``pwrite``, no
rename: renaming a file per request costs milliseconds on ext4), each a signed record
with a write counter; the valid slot with the higher counter is the anchor, so a write
torn by a crash leaves the previous anchor. It is written only after the database
commit, so it never names a point the database did not commit; a crash between the
two leaves it one write behind, which is no alarm.

``held()`` serialises the audit writers of every process on this data directory (a
thread lock and an ``flock`` on the file), so that the anchor is also their shared,
always-current view of the head.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from factorflow.audit.chain import ChainPoint, ChainSigner
from factorflow.db.base import utcnow

ANCHOR_KIND = "audit-anchor"
SLOT = 320


@dataclass(frozen=True)
class AnchorState:
    """What the anchor file says: a signed point, nothing (no file yet) or a problem."""

    point: ChainPoint | None = None
    problem: str = ""
    #: The counter of the slot it came from (the next write uses the other slot).
    counter: int = 0

    @property
    def absent(self) -> bool:
        return self.point is None and not self.problem


def _parse_slot(raw: bytes, signer: ChainSigner) -> AnchorState | None:
    try:
        data = json.loads(raw.decode("utf-8"))
        point = ChainPoint(int(data["genesis"]), int(data["seq"]), str(data["hash"]))
        counter, signature = int(data["counter"]), str(data["signature"])
    except (ValueError, KeyError, TypeError):
        return None
    if not signer.same(signature, signer.point(ANCHOR_KIND, point, counter)):
        return None
    return AnchorState(point=point, counter=counter)


def parse_anchor(raw: bytes, signer: ChainSigner) -> AnchorState:
    """The newest valid slot of an anchor file's contents."""
    if not raw.strip(b"\0 \n"):
        return AnchorState()
    slots = [_parse_slot(raw[at : at + SLOT], signer) for at in (0, SLOT)]
    valid = [slot for slot in slots if slot is not None]
    if not valid:
        return AnchorState(problem="the anchor file is unreadable or its signature does not verify")
    return max(valid, key=lambda slot: slot.counter)


def read_anchor(path: Path, signer: ChainSigner) -> AnchorState:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return AnchorState()
    except OSError as exc:
        return AnchorState(problem=f"the anchor file cannot be read ({exc.strerror})")
    return parse_anchor(raw, signer)


class AnchorFile:
    def __init__(self, path: Path, signer: ChainSigner, node: str) -> None:
        self.path = path
        self._signer = signer
        self._node = node
        self._mutex = threading.Lock()
        self._fd = -1
        self._fd_pid = 0
        self._cached: tuple[bytes, AnchorState] = (b"", AnchorState())

    @contextmanager
    def held(self) -> Iterator[None]:
        """The node-wide audit write lock (threads of this process, then processes)."""
        with self._mutex:
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int:
        # One open file per process: flock locks belong to the open file description.
        if self._fd < 0 or self._fd_pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._fd_pid = os.getpid()
        return self._fd

    def close(self) -> None:
        with self._mutex:
            if self._fd >= 0 and self._fd_pid == os.getpid():
                os.close(self._fd)
            self._fd = -1

    def read(self) -> AnchorState:
        """The anchor as the file says now (parsed again only when its bytes changed).
        Call it under :meth:`held`."""
        raw = os.pread(self._open(), 2 * SLOT, 0)
        if raw != self._cached[0]:
            self._cached = (raw, parse_anchor(raw, self._signer))
        return self._cached[1]

    def write(self, point: ChainPoint) -> None:
        """Record ``point`` in the slot that does not hold the current anchor. Call it
        under :meth:`held`."""
        current = self.read()
        counter = current.counter + 1
        record = {
            "genesis": point.genesis,
            "seq": point.seq,
            "hash": point.hash,
            "counter": counter,
            "node": self._node[:60],
            "written": utcnow().isoformat(timespec="seconds"),
            "signature": self._signer.point(ANCHOR_KIND, point, counter),
        }
        slot = json.dumps(record, sort_keys=True).encode("utf-8").ljust(SLOT - 1) + b"\n"
        at = (counter % 2) * SLOT
        os.pwrite(self._open(), slot, at)
        raw = self._cached[0].ljust(2 * SLOT, b"\0")
        self._cached = (raw[:at] + slot + raw[at + SLOT :], AnchorState(point, counter=counter))
