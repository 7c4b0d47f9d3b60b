"""On SQLite (one writer at a time) /validate/check verifies the PIN before it takes
the write lock, and the check itself reuses that verification: the argon2 cost no
longer serialises all checks of all processes."""

from __future__ import annotations

from collections.abc import Iterator

import argon2
import pytest
from fastapi.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.db.base import WRITE_GATE, SqliteWriteGate
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, init_token


class GateWatchingHasher(argon2.PasswordHasher):
    """argon2's own hasher that notes, for each verification, whether a write
    transaction held SQLite's write gate at that moment."""

    def __init__(self, gate: SqliteWriteGate, like: argon2.PasswordHasher) -> None:
        super().__init__(
            time_cost=like.time_cost, memory_cost=like.memory_cost, parallelism=like.parallelism
        )
        self.gate = gate
        self.gate_busy: list[bool] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.gate_busy.append(self.gate.busy)
        return super().verify(hash, password)


@pytest.fixture
def watching(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, services: Services
) -> Iterator[GateWatchingHasher]:
    """alice's HOTP token with PIN 1234, then every argon2 verification watched."""
    gate = services.sessions.kw.get("info", {}).get(WRITE_GATE)
    if gate is None:
        pytest.skip("only SQLite serialises writers behind the gate")
    init_token(client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1234", user="alice")
    original = services.hasher.backend
    services.hasher.backend = watcher = GateWatchingHasher(gate, original)
    yield watcher
    services.hasher.backend = original


def check(client: TestClient, password: str) -> str:
    reply = client.post("/validate/check", data={"user": "alice", "pass": password})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["result"]["authentication"])


def test_the_pin_is_verified_once_and_outside_the_write_lock(
    client: TestClient, watching: GateWatchingHasher
) -> None:
    assert check(client, "1234" + RFC4226_OTPS[0]) == "ACCEPT"
    assert watching.gate_busy == [False]

    assert check(client, "9999" + RFC4226_OTPS[1]) == "REJECT"
    assert check(client, "1234" + RFC4226_OTPS[0]) == "REJECT"  # a replay
    assert check(client, "1234" + RFC4226_OTPS[1]) == "ACCEPT"
    assert watching.gate_busy == [False] * 4


def test_challenge_response_verifies_the_pin_alone_outside_the_lock_too(
    client: TestClient, admin_headers: dict[str, str], watching: GateWatchingHasher
) -> None:
    client.post(
        "/policy/chalresp",
        data={"scope": "authentication", "action": "challenge_response=hotp"},
        headers=admin_headers,
    ).raise_for_status()

    assert check(client, "1234") == "CHALLENGE"
    assert watching.gate_busy == [False]
