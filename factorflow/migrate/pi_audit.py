"""privacyIDEA's audit log (table ``pidea_audit``) into Factorflow's audit chain.

Entries are read by id, a batch at a time, and appended through
:meth:`AuditService.import_entries`: each batch becomes the next entries of the chain,
signed and linked under Factorflow's audit key, so ``factorflow audit verify`` covers
them like any other. Each keeps privacyIDEA's columns (dates, action, success, serial,
user, realm, administrator, info, node, client, policies, ...) and is marked by its
request id ``pi-audit-<privacyIDEA id>``; the trace holds the privacyIDEA-only columns
and the outcome of its signature check. The newest such request id is where the next
run goes on: the mark is written in the same transaction as the entries, so an
interrupted run neither loses nor repeats any.

privacyIDEA signs each row with RSA-PSS (SHA-256, MGF1 with SHA-256, the longest salt)
under ``PI_AUDIT_KEY_PRIVATE`` and stores ``rsa_sha256_pss:<hex>``. The signed text is
a comma-separated ``name=value`` list of some of the row's columns as Python prints
them (see :func:`signed_text`); it is not documented, and was taken from the behaviour
of privacyIDEA 3.14. Each row is checked with ``PI_AUDIT_KEY_PUBLIC`` when that key
can be read: valid, invalid (imported all the same, its info starting with
:data:`INVALID_MARK`), or not checked (no key, or an old-style signature).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from factorflow.audit.record import AuditRecord
from factorflow.audit.service import AuditService
from factorflow.db.base import transaction, utcnow
from factorflow.migrate.errors import MigrationSourceError
from factorflow.migrate.items import Report
from factorflow.migrate.pi_config import PiConfig
from factorflow.migrate.pi_source import PiSource, Row
from factorflow.migrate.target import BATCH, MigrationTarget

TABLE = "pidea_audit"
KIND = "audit entry"
#: The request id prefix of every imported entry (``GET /audit/?request_id=pi-audit-*``).
MARK = "pi-audit-"
#: What the info of an entry whose privacyIDEA signature does not verify starts with.
INVALID_MARK = "privacyIDEA signature INVALID: "
VALID, INVALID, NOT_CHECKED = "valid", "invalid", "not checked"
#: privacyIDEA columns Factorflow's audit has no column for: kept in the trace.
EXTRA_COLUMNS = ("loglevel", "clearance_level", "thread_id", "container_serial", "container_type")
_SIGNATURE_KIND = "rsa_sha256_pss"
#: SQLite and MariaDB keep privacyIDEA's durations (SQLAlchemy ``Interval``) as a date
#: after the epoch.
_EPOCH = datetime(1970, 1, 1)

#: Entries done so far and how many this run imports.
AuditProgress = Callable[[int, int], None]


def _interval(value: object) -> timedelta | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) - _EPOCH
    if isinstance(value, timedelta):
        return value
    return None


def signed_text(row: Row) -> str:
    """The text privacyIDEA 3.14 signs for an audit row: values as Python prints them
    (``None`` for NULL); the start date, duration and container columns only when set."""
    r = row
    text = (
        f"id={r['id']},date={r['date']},action={r['action']},succ={r['success']},"
        f"serial={r['serial']},t={r['token_type']},u={r['user']},r={r['realm']},"
        f"adm={r['administrator']},ad={r['action_detail']},i={r['info']},"
        f"ps={r['privacyidea_server']},c={r['client']},l={r['loglevel']},"
        f"cl={r['clearance_level']}"
    )
    if r.get("startdate"):
        text += f",{r['startdate']}"
    duration = _interval(r.get("duration"))
    if duration:
        text += f",{duration}"
    if r.get("container_serial"):
        text += f",c_serial={r['container_serial']}"
    if r.get("container_type"):
        text += f",ct={r['container_type']}"
    return text


def _utc(value: object) -> datetime:
    """privacyIDEA writes its server's local time without a zone; read on the same
    machine (or one in the same zone), the local zone is the right one."""
    if not isinstance(value, datetime):
        return utcnow()
    return value.astimezone(UTC)


def _text(row: Row, name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value)


def to_record(row: Row, verdict: str) -> AuditRecord:
    """The Factorflow entry of one privacyIDEA audit row."""
    duration = _interval(row.get("duration"))
    info = _text(row, "info")
    extra = {name: row[name] for name in EXTRA_COLUMNS if row.get(name) not in (None, "")}
    trace = {"imported_from": "privacyIDEA", "entry": row["id"], "signature": verdict, **extra}
    return AuditRecord(
        action=_text(row, "action"),
        request_id=f"{MARK}{row['id']}",
        date=_utc(row.get("date") or row.get("startdate")),
        startdate=_utc(row.get("startdate") or row.get("date")),
        duration=duration.total_seconds() if duration else 0.0,
        success=bool(row.get("success")),
        node=_text(row, "privacyidea_server"),
        info=INVALID_MARK + info if verdict == INVALID else info,
        trace=json.dumps(trace, default=str, separators=(",", ":")),
        authentication=_text(row, "authentication"),
        serial=_text(row, "serial"),
        token_type=_text(row, "token_type"),
        user=_text(row, "user"),
        realm=_text(row, "realm"),
        resolver=_text(row, "resolver"),
        administrator=_text(row, "administrator"),
        action_detail=_text(row, "action_detail"),
        client=_text(row, "client"),
        user_agent=_text(row, "user_agent"),
        user_agent_version=_text(row, "user_agent_version"),
        policies=_text(row, "policies"),
    )


def _public_key(config: PiConfig) -> tuple[rsa.RSAPublicKey | None, str]:
    """privacyIDEA's audit public key, or None and why not."""
    if config.values.get("PI_AUDIT_NO_SIGN") is True:
        return None, "privacyIDEA does not sign its audit log (PI_AUDIT_NO_SIGN)"
    path = config.audit_public_key
    if path is None:
        return None, "PI_AUDIT_KEY_PUBLIC is not set"
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        return None, f"PI_AUDIT_KEY_PUBLIC {path} cannot be read ({exc.strerror or exc})"
    except (ValueError, UnsupportedAlgorithm):
        return None, f"PI_AUDIT_KEY_PUBLIC {path} is not a PEM public key"
    if not isinstance(key, rsa.RSAPublicKey):
        return None, f"PI_AUDIT_KEY_PUBLIC {path} is not an RSA key"
    return key, ""


@dataclass
class PiAuditLog:
    """privacyIDEA's SQL audit log, opened for import."""

    source: PiSource
    key: rsa.RSAPublicKey | None
    #: Why signatures are not checked (empty when they are).
    unchecked_why: str = ""
    #: Whether ``source`` is a database of its own (``PI_AUDIT_SQL_URI``) to close.
    own_source: bool = False

    @classmethod
    def open(cls, config: PiConfig, main: PiSource) -> PiAuditLog:
        """Find the audit table (in the main database or ``PI_AUDIT_SQL_URI``) and the
        public key; raise :class:`MigrationSourceError` if there is no table to read."""
        uri = config.audit_uri
        key, why = _public_key(config)
        if uri == config.database_uri:
            if not main.has(TABLE):
                raise MigrationSourceError(f"The privacyIDEA database has no audit table ({TABLE})")
            return cls(main, key, why)
        return cls(
            PiSource(uri, tables=(TABLE,), setting="PI_AUDIT_SQL_URI"), key, why, own_source=True
        )

    def verdict(self, row: Row) -> str:
        if self.key is None:
            return NOT_CHECKED
        kind, _, signature = str(row.get("signature") or "").partition(":")
        if kind.isdigit() and not signature:
            # A text-book RSA signature of privacyIDEA before 3.0: not checked.
            return NOT_CHECKED
        try:
            self.key.verify(
                bytes.fromhex(signature),
                signed_text(row).encode(),
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return INVALID
        return VALID if kind == _SIGNATURE_KIND else INVALID

    def import_into(
        self,
        target: MigrationTarget,
        report: Report,
        *,
        dry_run: bool,
        progress: AuditProgress | None = None,
    ) -> None:
        """Append the entries newer than the last imported one (count them only, with
        ``dry_run``); count outcomes and signature checks in ``report``."""
        audit: AuditService = target.audit
        with transaction(target.sessions) as session:
            newest = audit.newest_with_request_id(session, MARK)
        after = int(newest.removeprefix(MARK)) if newest else 0
        earlier, todo = self.source.count_after(TABLE, after)
        report.counts[KIND, "unchanged"] += earlier
        done = 0
        if progress is not None:
            progress(done, todo)
        for batch in self.source.batches(TABLE, after, BATCH):
            verdicts = [self.verdict(row) for row in batch]
            if not dry_run:
                pairs = zip(batch, verdicts, strict=True)
                audit.import_entries([to_record(row, verdict) for row, verdict in pairs])
            report.signatures.update(verdicts)
            report.counts[KIND, "new"] += len(batch)
            done += len(batch)
            if progress is not None:
                progress(done, max(todo, done))
        if self.unchecked_why and report.counts[KIND, "new"]:
            report.notes.append(f"audit signatures not checked: {self.unchecked_why}")
        if report.signatures[INVALID]:
            verb = "would be imported" if dry_run else "were imported"
            report.notes.append(
                f"{report.signatures[INVALID]} audit entries whose privacyIDEA signature "
                f"does not verify {verb}, flagged: GET /audit/?info={INVALID_MARK}*"
            )

    def close(self) -> None:
        if self.own_source:
            self.source.close()
