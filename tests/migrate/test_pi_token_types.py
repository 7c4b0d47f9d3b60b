"""How the privacyIDEA importer reads the token types whose secret is not one OTP key
(``factorflow/migrate/pi_tokens.py``), from rows encrypted as privacyIDEA encrypts
them; no privacyIDEA server needed."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from factorflow.crypto import SecretBox
from factorflow.migrate.pi_crypto import PiKeys
from factorflow.migrate.pi_tokens import TokenRows, token_item
from factorflow.registry import Registry
from factorflow.tokens.base import TokenType
from factorflow.tokens.imports import ImportedToken

RAW = secrets.token_bytes(96)
KEYS = PiKeys(RAW)
TYPES = Registry.from_entry_points("factorflow.token_types", TokenType)


def encrypt(slot: int, text: str) -> tuple[str, str]:
    """(cipher hex, iv hex) as privacyIDEA's AES-256-CBC with PKCS#7 writes them."""
    iv = secrets.token_bytes(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(text.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(RAW[32 * slot : 32 * slot + 32]), modes.CBC(iv)).encryptor()
    return (encryptor.update(data) + encryptor.finalize()).hex(), iv.hex()


def rows_with(info: list[dict[str, Any]]) -> TokenRows:
    rows = TokenRows.__new__(TokenRows)
    rows.realms, rows.resolvers, rows.groups = {}, {}, {}
    rows.info = {1: info}
    rows.owners, rows.token_realms, rows.token_groups = {}, {}, {}
    return rows


def token_row(tokentype: str, secret: str = "", **extra: Any) -> dict[str, Any]:
    key_enc, key_iv = encrypt(0, secret) if secret else ("", "")
    row = {"id": 1, "serial": f"{tokentype.upper()}1", "tokentype": tokentype,
           "key_enc": key_enc, "key_iv": key_iv, "pin_hash": "", "count": 0, "otplen": 6,
           "description": "", "active": True, "revoked": False, "locked": False,
           "failcount": 0, "maxfail": 10, "count_window": 10, "sync_window": 1000,
           "rollout_state": ""}  # fmt: skip
    row.update(extra)
    return row


def imported(row: dict[str, Any], info: list[dict[str, Any]] | None = None) -> ImportedToken:
    item = token_item(row, rows_with(info or []), KEYS, TYPES, SecretBox(bytes(32)),
                      apply_many=lambda session, items: None)  # fmt: skip
    assert not item.refused, item.refused
    assert isinstance(item.data, ImportedToken)
    return item.data


def test_motp_carries_the_init_secret_and_the_motp_pin() -> None:
    pin, pin_iv = encrypt(0, "4711")
    data = imported(token_row("motp", "1234567890123456", user_pin=pin, user_pin_iv=pin_iv))
    assert json.loads(data.secret) == {"secret": "1234567890123456", "pin": "4711"}


@pytest.mark.parametrize("tokentype", ["applspec", "indexedsecret"])
def test_text_secrets(tokentype: str) -> None:
    info = [{"key": "service_id", "value": "mail", "type": ""}]
    data = imported(token_row(tokentype, "mySecret"), info)
    assert data.secret == b"mySecret"
    assert data.info["service_id"] == "mail"


def test_question_answers_go_into_the_secret() -> None:
    answers = {"First pet?": "Rex", "Town?": "Ulm"}
    info = []
    for question, answer in answers.items():
        cipher, iv = encrypt(1, answer)
        info.append({"key": question, "value": f"{iv}:{cipher}", "type": "password"})
    info.append({"key": "tokenkind", "value": "software", "type": ""})
    data = imported(token_row("question"), info)
    assert json.loads(data.secret) == answers
    assert data.info == {"tokenkind": "software"}


def test_a_day_password_keeps_a_time_step_with_a_unit() -> None:
    info = [{"key": "timeStep", "value": "24h", "type": ""}]
    data = imported(token_row("daypassword", "3132333435363738393031323334353637383930"), info)
    assert data.info["timeStep"] == "24h"
    info = [{"key": "timeStep", "value": "86400.0", "type": ""}]
    data = imported(token_row("daypassword", "31323334"), info)
    assert data.info["timeStep"] == "86400"


def test_tan_tokens_are_refused_with_the_reason() -> None:
    item = token_item(token_row("tan", "31323334"), rows_with([]), KEYS, TYPES,
                      SecretBox(bytes(32)), apply_many=lambda session, items: None)  # fmt: skip
    assert "TAN hashes cannot be carried" in item.refused


def test_push_tokens_are_refused_with_the_reason() -> None:
    item = token_item(token_row("push", ""), rows_with([]), KEYS, TYPES,
                      SecretBox(bytes(32)), apply_many=lambda session, items: None)  # fmt: skip
    assert "enrol the phone again" in item.refused
