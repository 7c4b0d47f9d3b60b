"""What a source installation calls things: privacyIDEA 3.14, or its fork eduMFA 2.x.

eduMFA 2.x keeps privacyIDEA's schema, key file, encryption and hash formats; what it
renamed after itself is all the importer needs to know to read it (docs/migration.md,
"eduMFA"). :class:`~factorflow.migrate.pi_source.PiSource` reads tables and columns
under privacyIDEA's names; the importer hands values on under privacyIDEA's names,
which are the ones Factorflow's privacyIDEA-compatible services take.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SourceNames:
    """One product's names for what the importer reads."""

    #: As the product calls itself in messages.
    product: str
    #: ``ImportedItem.source``: what one product's runs imported, apart from another's.
    marker: str
    config_file: str
    #: The config file's own settings begin with it (``PI_ENCFILE``).
    setting_prefix: str
    #: privacyIDEA's table name → the source's, where they differ.
    tables: Mapping[str, str] = field(default_factory=dict)
    #: The source's column name → privacyIDEA's, where they differ.
    columns: Mapping[str, str] = field(default_factory=dict)
    #: The source's value → privacyIDEA's, for handler modules, handler options, policy
    #: actions and SMS provider modules.
    renamed: Mapping[str, str] = field(default_factory=dict)

    @property
    def encfile_setting(self) -> str:
        return f"{self.setting_prefix}ENCFILE"

    @property
    def pepper_setting(self) -> str:
        return f"{self.setting_prefix}PEPPER"

    def source_column(self, column: str) -> str:
        """privacyIDEA's column ``column`` as the source calls it (for messages)."""
        return next((theirs for theirs, ours in self.columns.items() if ours == column), column)

    def pi_name(self, name: str) -> str:
        return self.renamed.get(name, name)

    def pi_actions(self, action: str) -> str:
        """A policy's ``action`` (``"a, b=c"``) with the source's action names renamed."""
        if not self.renamed:
            return action
        # Only whole action names, at the start of an item: values are left as they are.
        names = "|".join(re.escape(name) for name in self.renamed)
        pattern = rf"(^|,)(\s*)({names})(?=\s*(?:=|,|$))"
        return re.sub(pattern, lambda m: m[1] + m[2] + self.pi_name(m[3]), action)


PRIVACYIDEA = SourceNames("privacyIDEA", "privacyidea", "pi.cfg", "PI_")

EDUMFA = SourceNames(
    "eduMFA",
    "edumfa",
    "edumfa.cfg",
    "EDUMFA_",
    tables={"privacyideaserver": "edumfaserver"},
    columns={"edumfanode": "pinode"},
    renamed={
        "WebHookHandler": "WebHook",
        # The Federation handler's option naming its target server.
        "eduMFA": "privacyIDEA",
        "edumfaserver_read": "privacyideaserver_read",
        "edumfaserver_write": "privacyideaserver_write",
        "edumfa.lib.smsprovider.HttpSMSProvider.HttpSMSProvider": (
            "privacyidea.lib.smsprovider.HttpSMSProvider.HttpSMSProvider"
        ),
    },
)
