"""Loading a seed file: the whole file checked, then imported in bulk, or refused.

The order is what makes a file all-or-nothing: every line or element is parsed, every
serial compared with the others of the file and with the tokens that exist, the
realms and owners looked up — and only when nothing was rejected are the tokens
written, with :func:`factorflow.tokens.bulk.insert_rows` in batches (keys sealed
by their type with this server's key, as enrolment seals them), in the caller's one
transaction. A serial that exists already is rejected: an import never overwrites a
token (privacyIDEA updates it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.crypto import SecretBox
from factorflow.errors import FactorflowError, ParameterError
from factorflow.registry import Registry
from factorflow.tokens.access import UserDirectory
from factorflow.tokens.base import TokenType
from factorflow.tokens.bulk import CHUNK, NewRows, insert_rows
from factorflow.tokens.imports import ImportedToken, TokenOwnerRef
from factorflow.tokens.models import Token
from factorflow.tokens.seeds import gpg
from factorflow.tokens.seeds.csvfiles import parse_oath_csv, parse_yubikey_csv
from factorflow.tokens.seeds.model import Parsed, Placed, Rejected, SeedFileError
from factorflow.tokens.seeds.pskcfile import MacCheck, parse_pskc, psk_bytes
from factorflow.users.realms import get_realm

#: privacyIDEA's file types (and the aliases its web UI sends) → the parser's.
FILE_TYPES = {
    "pskc": "pskc",
    "oathcsv": "oathcsv",
    "OATH CSV": "oathcsv",
    "yubikeycsv": "yubikeycsv",
    "Yubikey CSV": "yubikeycsv",
}
#: Tokens per bulk insert (and per step of a progress bar).
BATCH = 1000


@dataclass(frozen=True)
class LoadOptions:
    file_type: str
    realms: tuple[str, ...] = ()
    psk: str = ""
    password: str = ""
    validate_mac: MacCheck = "check_fail_hard"
    #: The key ring that decrypts GPG-encrypted files.
    gnupg_home: Path | None = None


@dataclass
class LoadReport:
    imported: list[ImportedToken] = field(default_factory=list)
    not_imported: list[Rejected] = field(default_factory=list)

    @property
    def value(self) -> dict[str, int]:
        """privacyIDEA 3.14's ``result.value`` of ``POST /token/load``."""
        return {"n_imported": len(self.imported), "n_not_imported": len(self.not_imported)}

    @property
    def detail(self) -> dict[str, Any]:
        if not self.not_imported:
            return {}
        return {"not_imported": [r.as_dict() for r in self.not_imported]}

    def owner_realms(self) -> set[str]:
        return {t.owner.realm.lower() for t in self.imported if t.owner is not None}


def parse_file(text: str, options: LoadOptions) -> Parsed:
    kind = FILE_TYPES.get(options.file_type)
    if kind is None:
        known = ", ".join(FILE_TYPES)
        raise ParameterError(
            f"Unknown file type {options.file_type[:30]!r}. Supported file types are: {known}"
        )
    if not text.strip():
        raise ParameterError("Error loading token file. File empty!")
    if gpg.is_encrypted(text):
        text = gpg.decrypt(text, options.gnupg_home)
    if options.psk:
        psk_bytes(options.psk)  # refused even when the file turns out to be plain
    if kind == "oathcsv":
        return parse_oath_csv(text)
    if kind == "yubikeycsv":
        return parse_yubikey_csv(text)
    return parse_pskc(
        text, psk=options.psk, password=options.password, validate_mac=options.validate_mac
    )


def check_file(
    session: Session,
    types: Registry[TokenType],
    users: UserDirectory,
    text: str,
    options: LoadOptions,
) -> LoadReport:
    """The tokens of the file ready to import; raises :class:`SeedFileError` naming
    every rejected line or element when there is one. Writes nothing."""
    parsed = parse_file(text, options)
    rejected = list(parsed.rejected)
    seen: dict[str, str] = {}
    for placed in parsed.tokens:
        token = placed.token
        if token.tokentype not in types:
            rejected.append(
                Rejected(placed.where, f"token type {token.tokentype!r} is not installed")
            )
        # Compared without case: MariaDB's collation would take them for one serial.
        first = seen.setdefault(token.serial.lower(), placed.where)
        if first != placed.where:
            reason = f"serial {token.serial!r} is also on {first}"
            rejected.append(Rejected(placed.where, reason, token.serial))
    for placed in _existing(session, parsed.tokens):
        reason = f"a token with serial {placed.token.serial!r} exists already"
        rejected.append(Rejected(placed.where, reason, placed.token.serial))
    realms = tuple(get_realm(session, name).name for name in options.realms)
    tokens = []
    for placed in parsed.tokens:
        try:
            owner = _owner(session, users, placed)
        except FactorflowError as exc:
            rejected.append(Rejected(placed.where, exc.message, placed.token.serial))
            continue
        tokens.append(replace(placed.token, realms=realms, owner=owner))
    if rejected:
        raise SeedFileError(rejected)
    if not tokens and not parsed.skipped:
        raise ParameterError("The file holds no tokens")
    return LoadReport(imported=tokens, not_imported=parsed.skipped)


def load_file(
    session: Session,
    types: Registry[TokenType],
    box: SecretBox,
    report: LoadReport,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write the tokens :func:`check_file` accepted (all new), :data:`BATCH` at a time."""
    realm_ids: dict[str, int] = {}

    def realm_id(name: str) -> int:
        if name not in realm_ids:
            realm_ids[name] = get_realm(session, name).id
        return realm_ids[name]

    for start in range(0, len(report.imported), BATCH):
        batch = report.imported[start : start + BATCH]
        insert_rows(session, [_rows(types, box, data, realm_id) for data in batch])
        if progress is not None:
            progress(len(batch))


def _rows(
    types: Registry[TokenType], box: SecretBox, data: ImportedToken, realm_id: Callable[[str], int]
) -> NewRows:
    # The key is sealed by the type, as enrolment and imports.import_tokens seal it.
    token = Token(serial=data.serial, tokentype=data.tokentype)
    types[data.tokentype](token, box).store_secret(data.secret)
    row = {
        "serial": data.serial,
        "tokentype": data.tokentype,
        "secret_enc": token.secret_enc,
        "description": data.description,
        "otplen": data.otplen,
        "otp_counter": data.otp_counter,
        "count_window": data.count_window,
        "sync_window": data.sync_window,
        "maxfail": data.maxfail,
        "rollout_state": data.rollout_state,
    }
    owner = data.owner
    return NewRows(
        token=row,
        info=list(data.info.items()),
        owner=(owner.resolver, owner.user_id, realm_id(owner.realm)) if owner else None,
        realm_ids=tuple(realm_id(name) for name in data.realms),
    )


def _existing(session: Session, placed: list[Placed]) -> Iterable[Placed]:
    serials = [p.token.serial for p in placed]
    found: set[str] = set()
    for start in range(0, len(serials), CHUNK):
        chunk = serials[start : start + CHUNK]
        found.update(
            s.lower() for s in session.scalars(select(Token.serial).where(Token.serial.in_(chunk)))
        )
    return (p for p in placed if p.token.serial.lower() in found)


def _owner(session: Session, users: UserDirectory, placed: Placed) -> TokenOwnerRef | None:
    if placed.owner is None:
        return None
    login, resolver, realm = placed.owner
    user = users.resolve(session, login, realm)
    if resolver and user.resolver != resolver:
        raise ParameterError(f"user {login!r} of realm {realm!r} is not in resolver {resolver!r}")
    return TokenOwnerRef(resolver=user.resolver, user_id=user.uid, realm=user.realm)
