"""privacyIDEA tokens → :class:`~factorflow.tokens.imports.ImportedToken` items.

Facts of privacyIDEA 3.14's schema this relies on: ``token.count`` is the next HOTP
counter to accept (email and SMS tokens are HOTP underneath); for TOTP it is the
last time step used (observed: a check at step T leaves ``count = T``), which is
what Factorflow's TOTP keeps in ``otp_counter`` too. ``pin_hash`` is argon2 over
the plain PIN (older rows hold a salted SHA-256 with ``pin_seed``, which cannot be
carried). TOTP settings, validity and the email address / phone number are tokeninfo
rows.

Types whose secret is not one OTP key: ``pw``, ``registration``, ``applspec`` and
``indexedsecret`` keep the password, code or secret itself in ``key_enc``; an
``motp`` token its init-secret there and the mOTP PIN in ``user_pin`` (encrypted
with the token key, IV in ``user_pin_iv``); a ``question`` token its answers as
tokeninfo of type ``password`` keyed by the question. Factorflow keeps these
together in the token's encrypted secret. ``tan`` tokens are refused: privacyIDEA
keeps salted SHA-256 hashes of the TANs, which Factorflow's TAN check (keyed HMACs)
cannot read.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from factorflow.crypto import SecretBox
from factorflow.migrate.items import ApplyMany, Item, digest, refused
from factorflow.migrate.pi_crypto import PiDecryptionError, PiKeys
from factorflow.migrate.pi_source import PiSource, Row
from factorflow.registry import Registry
from factorflow.tokens.base import TokenType
from factorflow.tokens.imports import ImportedToken, TokenOwnerRef, import_token, import_tokens

#: Types whose stored secret is the password or code itself, not a hex OTP key.
TEXT_SECRETS = frozenset({"pw", "registration", "applspec", "indexedsecret"})
#: Types whose stored values Factorflow cannot use, and why.
NOT_CARRIED = {
    "tan": "privacyIDEA's TAN hashes cannot be carried; enrol a new TAN list",
    # The CA that signed them (key, files, index) stays on the privacyIDEA server.
    "certificate": "certificate tokens are not carried; enrol them again from a CA connector",
    # The server's private key sits in privacyIDEA's tokeninfo, not in its token key.
    "push": "push tokens are not carried yet; enrol the phone again",
    # Their credentials are kept in privacyIDEA's own encodings (and index): not read yet.
    "webauthn": "WebAuthn credentials are not carried yet; register the authenticator again",
    "passkey": "passkey credentials are not carried yet; register the passkey again",
}
#: Tokeninfo values privacyIDEA writes as floats that Factorflow reads as integers.
INTEGER_INFO = frozenset({"timeShift", "timeWindow", "timeStep"})


class TokenRows:
    """The token-related tables, indexed by token id."""

    def __init__(self, source: PiSource) -> None:
        self.realms = {row["id"]: row["name"] for row in source.rows("realm")}
        self.resolvers = {row["id"]: row["name"] for row in source.rows("resolver")}
        self.groups = {row["id"]: row["name"] for row in source.rows("tokengroup")}
        self.info: dict[int, list[Row]] = defaultdict(list)
        for row in source.rows("tokeninfo"):
            self.info[row["token_id"]].append(row)
        self.owners = {row["token_id"]: row for row in source.rows("tokenowner")}
        self.token_realms: dict[int, list[str]] = defaultdict(list)
        for row in source.rows("tokenrealm"):
            self.token_realms[row["token_id"]].append(self.realms.get(row["realm_id"], ""))
        self.token_groups: dict[int, list[str]] = defaultdict(list)
        for row in source.rows("tokentokengroup"):
            self.token_groups[row["token_id"]].append(self.groups.get(row["tokengroup_id"], ""))


def token_items(
    source: PiSource, keys: PiKeys, types: Registry[TokenType], box: SecretBox
) -> Iterator[Item]:
    rows = TokenRows(source)

    def apply_many(session: Session, items: list[Item]) -> None:
        import_tokens(
            session, types, box, [i.data for i in items if isinstance(i.data, ImportedToken)]
        )

    for row in source.rows("token"):
        yield token_item(row, rows, keys, types, box, apply_many=apply_many)


def token_item(
    row: Row,
    rows: TokenRows,
    keys: PiKeys,
    types: Registry[TokenType],
    box: SecretBox,
    *,
    apply_many: ApplyMany,
) -> Item:
    serial, tokentype = str(row["serial"]), str(row["tokentype"] or "").lower()
    if tokentype not in types:
        return refused("token", serial, f"Factorflow has no {tokentype!r} tokens")
    if tokentype in NOT_CARRIED:
        return refused("token", serial, NOT_CARRIED[tokentype])
    pin_hash = str(row.get("pin_hash") or "")
    if pin_hash and not pin_hash.startswith("$argon2"):
        return refused("token", serial, "its PIN hash is in an old format (not argon2)")
    try:
        data = _imported(row, rows, keys, tokentype, pin_hash)
    except (PiDecryptionError, ValueError) as exc:
        return refused("token", serial, f"its secret cannot be read: {exc}")

    def apply(session: Session) -> None:
        import_token(session, types, box, data)

    return Item("token", serial, digest(_state(row, rows)), apply, apply_many=apply_many, data=data)


def _imported(
    row: Row, rows: TokenRows, keys: PiKeys, tokentype: str, pin_hash: str
) -> ImportedToken:
    token_id, count = row["id"], int(row["count"] or 0)
    info_rows = rows.info.get(token_id, [])
    info = _info(info_rows, keys)
    if tokentype == "question":
        answers = {str(i["key"]): info.pop(str(i["key"])) for i in info_rows if _is_password(i)}
        secret = json.dumps(answers).encode()
    else:
        text = keys.token_secret(str(row["key_enc"] or ""), str(row["key_iv"] or ""))
        if tokentype == "motp":
            pin = keys.token_secret(str(row["user_pin"] or ""), str(row["user_pin_iv"] or ""))
            secret = json.dumps({"secret": text, "pin": pin}).encode()
        else:
            secret = text.encode() if tokentype in TEXT_SECRETS else bytes.fromhex(text)
    owner = rows.owners.get(token_id)
    return ImportedToken(
        serial=str(row["serial"]),
        tokentype=tokentype,
        secret=secret,
        pin_hash=pin_hash,
        description=str(row["description"] or ""),
        otplen=int(row["otplen"] or 6),
        otp_counter=count,
        count_window=int(row["count_window"] or 10),
        sync_window=int(row["sync_window"] or 1000),
        failcount=int(row["failcount"] or 0),
        maxfail=int(row["maxfail"] or 10),
        active=bool(row["active"]),
        revoked=bool(row["revoked"]),
        locked=bool(row["locked"]),
        rollout_state=str(row["rollout_state"] or "") or "enrolled",
        info=info,
        owner=None
        if owner is None
        else TokenOwnerRef(
            resolver=str(owner["resolver"]),
            user_id=str(owner["user_id"]),
            realm=rows.realms.get(owner["realm_id"], ""),
        ),
        realms=tuple(r for r in rows.token_realms.get(token_id, []) if r),
        groups=tuple(g for g in rows.token_groups.get(token_id, []) if g),
    )


def _info(info_rows: list[Row], keys: PiKeys) -> dict[str, str]:
    out: dict[str, str] = {}
    for info in info_rows:
        key, value = str(info["key"]), str(info["value"] or "")
        if _is_password(info) and value:
            value = keys.config_secret(value)
        if key in INTEGER_INFO:
            value = _integer(value)
        out[key] = value
    return out


def _is_password(info: Row) -> bool:
    return info.get("type") == "password"


def _integer(value: str) -> str:
    """A float privacyIDEA wrote as the integer Factorflow reads; other values (a day
    password's ``timeStep`` of ``24h``) as they are, for their type to read."""
    try:
        return str(int(float(value or 0)))
    except ValueError:
        return value


def _state(row: Row, rows: TokenRows) -> dict[str, Any]:
    token_id = row["id"]
    return {
        "token": row,
        "info": sorted((str(i["key"]), str(i["value"])) for i in rows.info.get(token_id, [])),
        "owner": rows.owners.get(token_id),
        "realms": sorted(rows.token_realms.get(token_id, [])),
        "groups": sorted(rows.token_groups.get(token_id, [])),
    }
