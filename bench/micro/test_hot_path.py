"""pytest-benchmark micro-suite for Factorflow's /validate/check hot path.

Not part of the normal test run (pyproject's ``testpaths`` is ``tests``); run it
explicitly: ``.venv/bin/python -m pytest bench/micro -p no:randomly``. Compare two
revisions with ``--benchmark-autosave`` and ``pytest-benchmark compare``.
Benchmarks whose module is not there (yet) are skipped.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

import pytest

from bench.hotp import hotp as reference_hotp

KEY = bytes.fromhex("3132333435363738393031323334353637383930")


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.skip(f"{name} is not importable yet: {exc}")


def test_hotp_value(benchmark: Any) -> None:
    oath = _module("factorflow.tokens.oath")
    assert oath.hotp_value(KEY, 1, 6, "sha1") == "287082"
    benchmark(oath.hotp_value, KEY, 1, 6, "sha1")


def test_hotp_window_miss(benchmark: Any) -> None:
    """A wrong OTP: every counter of the default window (10) is computed and compared."""
    oath = _module("factorflow.tokens.oath")

    def scan() -> bool:
        return any(oath.hotp_value(KEY, c, 6, "sha1") == "000000" for c in range(100, 110))

    assert scan() is False
    benchmark(scan)


def test_totp_value_sha256(benchmark: Any) -> None:
    oath = _module("factorflow.tokens.oath")
    step = int(time.time()) // 30
    benchmark(oath.hotp_value, KEY, step, 6, "sha256")


def test_reference_hotp_matches(benchmark: Any) -> None:
    """The benchmark's own HOTP (which the load generator uses) agrees with RFC 4226."""
    assert [reference_hotp(KEY, c) for c in range(3)] == ["755224", "287082", "359152"]
    benchmark(reference_hotp, KEY, 1)


def test_envelope_render_validate_check(benchmark: Any) -> None:
    envelope = _module("factorflow.api.envelope")
    invocation = _module("factorflow.core.invocation")
    reply = invocation.Reply(
        outcome=invocation.Outcome(
            value=True,
            authentication="ACCEPT",
            detail={"message": "matching 1 tokens", "serial": "OATH0001", "type": "hotp",
                    "otplen": 6},
        )
    )  # fmt: skip
    body = envelope.render(reply)
    assert b'"authentication":"ACCEPT"' in body
    benchmark(envelope.render, reply)


def test_pin_hash_verify_default_cost(benchmark: Any) -> None:
    """argon2id at Factorflow's default cost: the floor of a correct-PIN check."""
    crypto = _module("factorflow.crypto")
    hasher = crypto.Hasher(time_cost=2, memory_kib=19456, parallelism=1)
    stored = hasher.hash("1234")
    assert hasher.verify(stored, "1234")
    benchmark.pedantic(hasher.verify, args=(stored, "1234"), rounds=10, iterations=1)


def test_secret_decrypt(benchmark: Any) -> None:
    """AES-256-GCM decryption of a token key (done once per checked token)."""
    crypto = _module("factorflow.crypto")
    box = crypto.SecretBox(bytes(range(32)))
    sealed = box.encrypt(KEY, "otpkey")
    assert box.decrypt(sealed, "otpkey") == KEY
    benchmark(box.decrypt, sealed, "otpkey")


def test_condition_parse_and_compare(benchmark: Any) -> None:
    """A generic comparison condition (``key == value``) parsed once, evaluated per request."""
    compare = _module("factorflow.core.compare")
    comparison = compare.parse_comparison("realm == nomatch")

    assert comparison.evaluate("bench") is False
    benchmark(comparison.evaluate, "bench")


def test_integer_condition_compare(benchmark: Any) -> None:
    compare = _module("factorflow.core.compare")
    comparison = compare.parse_integer_comparison(">100")
    assert comparison.evaluate(5) is False
    benchmark(comparison.evaluate, 5)
