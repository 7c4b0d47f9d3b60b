"""Reading privacyIDEA's ``pi.cfg`` (eduMFA's ``edumfa.cfg``) without executing it.

``pi.cfg`` is a Python module that privacyIDEA (Flask) imports. A migration must not
run it: the file may come from another machine, and importing it would execute
whatever it holds. :func:`read_pi_config` parses it with :mod:`ast` and evaluates only
assignments of literals (strings, numbers, booleans, None, and lists, tuples, dicts
and sets of those) to upper-case names. An assignment of anything else to a setting
the migration needs is refused with the line it is on; other non-literal statements
(imports, computed values of settings it does not need) are reported and ignored.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from factorflow.migrate.errors import MigrationSourceError
from factorflow.migrate.names import PRIVACYIDEA, SourceNames

#: The settings a migration reads; a non-literal value of one of these is an error.
NEEDED = ("SQLALCHEMY_DATABASE_URI", "PI_ENCFILE", "PI_PEPPER")
KNOWN = (*NEEDED, "PI_AUDIT_KEY_PRIVATE", "PI_AUDIT_KEY_PUBLIC", "SECRET_KEY")
#: Where privacyIDEA's audit log is; needed (as literals) only to import it.
AUDIT_SETTINGS = ("PI_AUDIT_MODULE", "PI_AUDIT_SQL_URI")
SQL_AUDIT_MODULE = "privacyidea.lib.auditmodules.sqlaudit"


def needed(names: SourceNames) -> tuple[str, ...]:
    """:data:`NEEDED` under the source's names (eduMFA: ``EDUMFA_ENCFILE``, ...)."""
    return ("SQLALCHEMY_DATABASE_URI", names.encfile_setting, names.pepper_setting)


@dataclass(frozen=True)
class PiConfig:
    """The literal settings of one ``pi.cfg``."""

    path: Path
    values: dict[str, object]
    #: ``line N: NAME`` for every setting whose value is not a literal (ignored).
    ignored: list[str] = field(default_factory=list)
    names: SourceNames = PRIVACYIDEA

    def text(self, name: str, default: str = "") -> str:
        value = self.values.get(name, default)
        if not isinstance(value, str):
            raise MigrationSourceError(f"{self.path}: {name} must be a string")
        return value

    @property
    def database_uri(self) -> str:
        uri = self.text("SQLALCHEMY_DATABASE_URI")
        if not uri:
            raise MigrationSourceError(f"{self.path}: SQLALCHEMY_DATABASE_URI is not set")
        return uri

    @property
    def encfile(self) -> Path:
        setting = self.names.encfile_setting
        name = self.text(setting)
        if not name:
            raise MigrationSourceError(f"{self.path}: {setting} is not set")
        return self._file(name)

    def _file(self, name: str) -> Path:
        path = Path(name)
        # privacyIDEA resolves a relative path against its working directory; the
        # config file's directory is the only sensible guess here.
        return path if path.is_absolute() else self.path.parent / path

    @property
    def audit_uri(self) -> str:
        """The database of privacyIDEA's SQL audit module (``PI_AUDIT_SQL_URI``, else
        the main database); refused if the audit log is not kept in SQL."""
        for entry in self.ignored:
            if entry.endswith(tuple(f": {name}" for name in AUDIT_SETTINGS)):
                raise MigrationSourceError(
                    f"{self.path} {entry} is not a literal value; the audit log cannot be found"
                )
        module = self.text("PI_AUDIT_MODULE", SQL_AUDIT_MODULE)
        if module != SQL_AUDIT_MODULE:
            raise MigrationSourceError(
                f"{self.path}: PI_AUDIT_MODULE is {module}: only privacyIDEA's SQL audit "
                "log can be imported"
            )
        return self.text("PI_AUDIT_SQL_URI") or self.database_uri

    @property
    def audit_public_key(self) -> Path | None:
        """``PI_AUDIT_KEY_PUBLIC``, the key privacyIDEA's audit signatures verify
        with (None if unset)."""
        name = self.text("PI_AUDIT_KEY_PUBLIC")
        return self._file(name) if name else None

    @property
    def pepper(self) -> str:
        return self.text(self.names.pepper_setting)


def read_pi_config(path: Path, names: SourceNames = PRIVACYIDEA) -> PiConfig:
    """Parse ``path``; raise :class:`MigrationSourceError` if it cannot be read, is not
    Python, or gives a needed setting a value that is not a literal."""
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MigrationSourceError(f"Cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MigrationSourceError(f"{path} is not UTF-8 text") from None
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise MigrationSourceError(f"{path} line {exc.lineno}: not valid Python") from None
    values: dict[str, object] = {}
    ignored: list[str] = []
    for node in tree.body:
        for name, value in _assignments(node):
            try:
                values[name] = ast.literal_eval(value)
            except ValueError:
                if name in needed(names):
                    raise MigrationSourceError(
                        f"{path} line {node.lineno}: {name} is not a literal value; "
                        f"the migration reads {names.config_file} without running it"
                    ) from None
                ignored.append(f"line {node.lineno}: {name}")
                values.pop(name, None)
    return PiConfig(path=path, values=values, ignored=ignored, names=names)


def _assignments(node: ast.stmt) -> list[tuple[str, ast.expr]]:
    if isinstance(node, ast.Assign):
        targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        return [(name, node.value) for name in targets if name.isupper()]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
        return [(node.target.id, node.value)] if node.target.id.isupper() else []
    return []
