"""Event definitions as configuration: export to and import from YAML (or JSON).

The export is one YAML document::

    format: factorflow-events
    version: 1
    definitions:
    - uid: 3f6c...            # stable identity; import matches on it
      name: lock notice
      event: [validate_check]
      handlermodule: Logging
      action: logging
      position: post
      ordering: 10
      active: true
      abort_on_error: false
      unknown_is_match: false
      condition_expression: ''
      options: {message: locked {serial}, level: WARNING}
      conditions: {token_locked: 'True'}

A scheduled definition also has ``schedule`` (``every 1d`` or a cron expression) and
``sweep`` (``tokens`` or ``users``), and its ``event`` is ``[scheduled]``; the scheduler's
bookkeeping (``next_run_at``, ``last_run_at``) is not exported and ignored on import.
A definition with follow-up steps exports them as ``steps`` (a list, as ``POST /event``
takes it); its running workflows are state, not configuration, and are not exported.

Import accepts that document, a bare list of definitions, a single definition, or a
privacyIDEA export: its list of serialized bindings (``id``, ``name``, ``event``,
``handlermodule``, ``action``, ``options``, ``conditions``, ``position``,
``ordering``, ``active``, ``condition``), bare or under the key ``event`` as
``pi-manage config export`` writes it. An entry without ``uid`` but with
privacyIDEA's ``id`` gets the uid ``privacyidea-<id>``, so re-importing the same
privacyIDEA export changes nothing either. Database ids are local and never
imported; ``condition`` (privacyIDEA's unused legacy field) is ignored.

Parsing is strict and bounded: safe YAML only, no anchors or aliases (no "billion
laughs"), at most :data:`MAX_DEFINITIONS` entries; every refusal is a
:class:`~factorflow.errors.ParameterError` naming the entry and the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from factorflow.core.params import is_true, split_list
from factorflow.core.untrusted import UntrustedInputError, json_loads, yaml_load
from factorflow.errors import ParameterError
from factorflow.events.service import DefinitionInput

FORMAT = "factorflow-events"
VERSION = 1
MAX_DEFINITIONS = 10_000

#: The order of the fields in an exported definition.
EXPORT_FIELDS = (
    "uid",
    "name",
    "event",
    "handlermodule",
    "action",
    "position",
    "ordering",
    "active",
    "abort_on_error",
    "chain_events",
    "unknown_is_match",
    "condition_expression",
    "options",
    "conditions",
    "schedule",
    "sweep",
    "steps",
    "max_subjects",
    "max_share",
)
#: Accepted on import but not used: the local database id, the legacy field and the
#: scheduler's bookkeeping (``GET /event`` output imports as it is).
IGNORED_FIELDS = frozenset({"id", "condition", "next_run_at", "last_run_at"})


# -- export -------------------------------------------------------------------------------


def export_document(definitions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Serialized definitions (``EventService.all``) → the export document."""
    return {
        "format": FORMAT,
        "version": VERSION,
        # Request-bound definitions have no schedule fields: exports stay as they were.
        "definitions": [{key: d[key] for key in EXPORT_FIELDS if key in d} for d in definitions],
    }


class _NoAliasDumper(yaml.SafeDumper):
    """Never writes anchors / aliases (import refuses them), even for shared objects."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(document: Mapping[str, Any]) -> str:
    header = "# Factorflow event definitions; import with `factorflow event import`.\n"
    body = yaml.dump(
        dict(document),
        Dumper=_NoAliasDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return header + body


def select_definitions(
    definitions: Sequence[dict[str, Any]],
    *,
    names: Sequence[str] = (),
    ids: Sequence[int] = (),
    uids: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Definitions matching any of the given names, ids or uids (all without filters)."""
    if not (names or ids or uids):
        return list(definitions)
    return [d for d in definitions if d["name"] in names or d["id"] in ids or d["uid"] in uids]


# -- import -------------------------------------------------------------------------------


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors/aliases: a small file cannot expand into a
    huge structure."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def parse_text(text: str) -> Any:
    """YAML or JSON text → data; a ParameterError when it does not parse."""
    if not text.strip():
        raise ParameterError("The import data is empty")
    stripped = text.lstrip()
    if stripped[:1] in ("[", "{"):
        try:
            return json_loads(text, "import data")
        except UntrustedInputError:
            pass  # YAML flow style also starts with [ or {; too deep is refused below
    try:
        return yaml_load(text, "import data", _NoAliasLoader)
    except UntrustedInputError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ParameterError(
            f"The import data is not valid YAML or JSON: {exc.problem or exc.context}{where}"
        ) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise ParameterError(
            f"The import data is not valid YAML or JSON ({type(exc).__name__})"
        ) from None


def document_entries(data: Any) -> list[Any]:
    """The list of definition entries in a parsed document."""
    if isinstance(data, Mapping):
        if "definitions" in data:
            fmt = data.get("format", FORMAT)
            if fmt != FORMAT:
                raise ParameterError(f"Invalid import data: unknown format {fmt!r}")
            version = data.get("version", VERSION)
            if version != VERSION:
                raise ParameterError(f"Invalid import data: unsupported version {version!r}")
            entries = data["definitions"]
        elif "event" in data and isinstance(data["event"], list):
            entries = data["event"]  # pi-manage config export: {"event": [...], ...}
        elif "handlermodule" in data:
            entries = [data]
        else:
            raise ParameterError(
                "Invalid import data: expected a list of definitions or a mapping with "
                "'definitions'"
            )
    elif isinstance(data, list):
        entries = data
    else:
        raise ParameterError(
            "Invalid import data: expected a list of definitions or a mapping with "
            f"'definitions', not {type(data).__name__}"
        )
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise ParameterError("Invalid import data: 'definitions' must be a list")
    if len(entries) > MAX_DEFINITIONS:
        raise ParameterError(f"Invalid import data: more than {MAX_DEFINITIONS} definitions")
    return entries


def entry_label(index: int, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, Mapping) else None
    if isinstance(name, str) and name:
        return f"definition {index} ({name[:64]!r})"
    return f"definition {index}"


def _text(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ParameterError(f"Invalid parameter {key!r}: not a text")
    return str(value).strip()


def _flag(entry: Mapping[str, Any], key: str) -> bool | None:
    value = entry.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int):
        return is_true(value)
    raise ParameterError(f"Invalid parameter {key!r}: not a boolean")


def _integer(entry: Mapping[str, Any], key: str) -> int | None:
    value = entry.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ParameterError(f"Invalid parameter {key!r}: not an integer")
    try:
        number = int(value) if isinstance(value, int | str) else int(str(value), 10)
    except (TypeError, ValueError):
        raise ParameterError(f"Invalid parameter {key!r}: not an integer") from None
    if not -(2**31) <= number < 2**31:
        raise ParameterError(f"Invalid parameter {key!r}: out of range")
    return number


def _strings(entry: Mapping[str, Any], key: str) -> dict[str, str] | None:
    """An options / conditions mapping; scalar values become privacyIDEA's strings."""
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ParameterError(f"Invalid parameter {key!r}: must be a mapping")
    out: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str):
            raise ParameterError(f"Invalid parameter {key!r}: {name!r} is not a text key")
        if item is None:
            out[name] = ""
        elif isinstance(item, str | int | float | bool):
            out[name] = str(item)
        else:
            raise ParameterError(f"Invalid parameter '{key}.{name}': must be a text")
    return out


def _events(entry: Mapping[str, Any]) -> list[str] | None:
    value = entry.get("event")
    if value is None:
        return None
    if isinstance(value, str):
        return split_list(value)
    if isinstance(value, list) and all(isinstance(e, str) for e in value):
        return [e.strip() for e in value]
    raise ParameterError("Invalid parameter 'event': a list of event names")


def _steps(entry: Mapping[str, Any]) -> list[Any] | None:
    value = entry.get("steps")
    if value is None or isinstance(value, list):
        return value
    raise ParameterError("Invalid parameter 'steps': a list of steps")


def entry_input(entry: Any) -> DefinitionInput:
    """One parsed entry → a full definition for ``EventService.import_definitions``."""
    if not isinstance(entry, Mapping):
        raise ParameterError("must be a mapping of definition fields")
    unknown = [k for k in entry if k not in EXPORT_FIELDS and k not in IGNORED_FIELDS]
    if unknown:
        raise ParameterError(f"Unknown field {str(unknown[0])!r}")
    uid = _text(entry, "uid")
    if not uid:
        legacy = _integer(entry, "id")
        if legacy is None:
            raise ParameterError("Missing parameter: 'uid'")
        uid = f"privacyidea-{legacy}"
    return DefinitionInput(
        uid=uid,
        name=_text(entry, "name"),
        events=_events(entry),
        handlermodule=_text(entry, "handlermodule"),
        action=_text(entry, "action"),
        position=_text(entry, "position") or None,
        ordering=_integer(entry, "ordering"),
        active=_flag(entry, "active"),
        abort_on_error=_flag(entry, "abort_on_error"),
        chain_events=_flag(entry, "chain_events"),
        unknown_is_match=_flag(entry, "unknown_is_match"),
        condition_expression=_text(entry, "condition_expression"),
        options=_strings(entry, "options"),
        conditions=_strings(entry, "conditions"),
        schedule=_text(entry, "schedule"),
        sweep=_text(entry, "sweep"),
        steps=_steps(entry),
        max_subjects=_integer(entry, "max_subjects"),
        max_share=_integer(entry, "max_share"),
    )


def import_entries(data: Any) -> list[tuple[str, DefinitionInput]]:
    """Parsed data (or YAML / JSON text) → labelled definitions; refuses the whole
    file on the first bad entry, naming it and the field."""
    if isinstance(data, str | bytes):
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ParameterError("The import data is not valid UTF-8") from None
        data = parse_text(data)
    out: list[tuple[str, DefinitionInput]] = []
    for index, entry in enumerate(document_entries(data), start=1):
        label = entry_label(index, entry)
        try:
            out.append((label, entry_input(entry)))
        except ParameterError as exc:
            raise ParameterError(f"{label}: {exc.message}") from None
    return out


def summary(report: Sequence[Mapping[str, Any]], *, dry_run: bool) -> dict[str, Any]:
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for item in report:
        counts[item["result"]] += 1
    return {**counts, "dry_run": dry_run, "definitions": list(report)}
