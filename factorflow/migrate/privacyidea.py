"""``factorflow migrate privacyidea``: one privacyIDEA installation into Factorflow.

Reads ``pi.cfg`` without running it (:mod:`.pi_config`), opens the database it names
read-only (:mod:`.pi_source`), decrypts with ``PI_ENCFILE`` (:mod:`.pi_crypto`) and
writes through Factorflow's services (:mod:`.target`), in dependency order: user
stores, realms, token groups, tokens, admins, SMTP servers, SMS gateways, privacyIDEA
servers, policies, event definitions, event counters; then, if asked, the audit log
(:mod:`.pi_audit`). Items are identified by serial or name; another run imports only
what changed in privacyIDEA since (:class:`ImportedItem`), and only audit entries
newer than those imported before. eduMFA 2.x installations are read the same way,
under eduMFA's names (:data:`~factorflow.migrate.names.EDUMFA`; not its audit log).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

from factorflow.crypto import SecretBox
from factorflow.migrate import pi_objects
from factorflow.migrate.errors import MigrationSourceError
from factorflow.migrate.items import Item, Report
from factorflow.migrate.names import PRIVACYIDEA, SourceNames
from factorflow.migrate.pi_audit import AuditProgress, PiAuditLog
from factorflow.migrate.pi_config import PiConfig, read_pi_config
from factorflow.migrate.pi_crypto import PiKeys
from factorflow.migrate.pi_source import PiSource
from factorflow.migrate.pi_tokens import token_items
from factorflow.migrate.target import MigrationTarget, Progress, run
from factorflow.registry import Registry
from factorflow.tokens.base import TokenType

SOURCE = PRIVACYIDEA.marker
#: privacyIDEA tables this version does not carry over, with why (the report says so
#: when the installation has rows in them).
NOT_CARRIED = {
    "radiusserver": "RADIUS server definitions are not carried",
    "caconnector": "CA connectors are not carried (privacyIDEA's local CA is files on its "
    "server: configure the connector with their CA certificate and key)",
    "machinetoken": "machine token attachments are not carried",
    "tokencontainer": "token containers are not carried",
    "periodictask": "periodic tasks are not carried (use scheduled event definitions)",
}


@dataclass
class PiInstallation:
    """An opened privacyIDEA installation."""

    config: PiConfig
    keys: PiKeys
    source: PiSource
    #: The audit log to import, when asked for (``--with-audit``).
    audit: PiAuditLog | None = None

    @classmethod
    def open(
        cls, pi_cfg: Path, names: SourceNames = PRIVACYIDEA, *, with_audit: bool = False
    ) -> PiInstallation:
        """Read ``pi_cfg``, its key file and database (and, ``with_audit``, find the
        audit log): every check that can refuse the installation, before any change."""
        config = read_pi_config(pi_cfg, names)
        keys = PiKeys.load(config.encfile)
        source = PiSource(config.database_uri, names)
        try:
            audit = PiAuditLog.open(config, source) if with_audit else None
        except MigrationSourceError:
            source.close()
            raise
        return cls(config, keys, source, audit)

    def items(
        self, target: MigrationTarget, types: Registry[TokenType], box: SecretBox
    ) -> list[Item]:
        src, keys = self.source, self.keys
        return list(
            itertools.chain(
                pi_objects.resolver_items(src, keys, target),
                pi_objects.realm_items(src, target),
                pi_objects.tokengroup_items(src, target),
                token_items(src, keys, types, box),
                pi_objects.admin_items(src, target),
                pi_objects.smtp_items(src, keys, target),
                pi_objects.sms_items(src, keys, target),
                pi_objects.server_items(src, target),
                pi_objects.policy_items(src, target),
                pi_objects.event_items(src, target),
                pi_objects.counter_items(src, target),
            )
        )

    def notes(self) -> list[str]:
        notes = [
            f"{self.config.names.config_file} {entry} is not a literal value and was ignored"
            for entry in self.config.ignored
        ]
        for table, why in NOT_CARRIED.items():
            count = len(self.source.rows(table))
            if count:
                notes.append(f"{count} rows in {table}: {why}")
        return notes

    def close(self) -> None:
        if self.audit is not None:
            self.audit.close()
        self.source.close()


def migrate(
    installation: PiInstallation,
    target: MigrationTarget,
    types: Registry[TokenType],
    box: SecretBox,
    *,
    dry_run: bool,
    progress: Progress | None = None,
    items: list[Item] | None = None,
    audit_progress: AuditProgress | None = None,
) -> Report:
    """Import what is new or changed, then the audit log if the installation was
    opened with it; with ``dry_run`` change nothing and report what a run would do."""
    planned = items if items is not None else installation.items(target, types, box)
    report = run(target, installation.config.names.marker, planned, dry_run=dry_run,
                 progress=progress)  # fmt: skip
    if installation.audit is not None:
        # After the items' unit of work has ended: the audit chain is written in
        # transactions of its own, a batch in each.
        installation.audit.import_into(target, report, dry_run=dry_run, progress=audit_progress)
    report.notes.extend(installation.notes())
    imported_admins = report.counts["admin", "new"] + report.counts["admin", "updated"]
    if not dry_run and imported_admins and installation.config.pepper:
        write_private(target.pepper_file, installation.config.pepper)
    return report


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
