"""Event streams as configuration: export to and import from YAML (or JSON), as event
definitions are (:mod:`factorflow.events.transfer`: the same bounded parsing)::

    format: factorflow-eventstreams
    version: 1
    streams:
    - identifier: siem          # import matches on it
      kind: amqp
      description: SIEM
      active: true
      events: [validate_check]
      conditions: {result_value: 'False'}
      condition_expression: ''
      unknown_is_match: false
      options: {url: 'amqp://rabbit:5672/', exchange: security, password: __CENSORED__}

**Secrets never leave**: ``password`` / ``token`` are exported as ``__CENSORED__``, and
importing ``__CENSORED__`` keeps the stored value (a stream that has none is refused:
write the secret into the file, or remove it). **An entry is the whole stream**:
omitted fields take the defaults of a new stream. **All or nothing**, validated as
``POST /eventstream/<identifier>`` validates (a bad entry refuses the file with a 400
naming it); **idempotent**: an entry equal to the stored stream writes nothing
(``unchanged``). Streams missing from the file are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from factorflow.errors import ParameterError
from factorflow.events.streams.options import SECRET_OPTIONS
from factorflow.events.transfer import dump_yaml, parse_text

if TYPE_CHECKING:
    from factorflow.events.streams.service import StreamService

FORMAT = "factorflow-eventstreams"
VERSION = 1
MAX_STREAMS = 1000
#: The exported fields, in order; ``options`` holds the broker's.
FIELDS = ("identifier", "kind", "description", "active", "events", "conditions",
          "condition_expression", "unknown_is_match", "options")  # fmt: skip
#: What a field omitted from an entry becomes (a new stream's defaults).
DEFAULTS: dict[str, Any] = {"description": "", "active": True, "events": [], "conditions": {},
                            "condition_expression": "", "unknown_is_match": False}  # fmt: skip


def export_text(
    streams: Mapping[str, Mapping[str, Any]], *, identifiers: Sequence[str] = ()
) -> str:
    """The YAML export of the described (censored) streams; only ``identifiers`` if given."""
    header = "# Factorflow event streams; import with POST /eventstream/import.\n"
    return header + dump_yaml(export_document(streams, identifiers=identifiers)).split("\n", 1)[1]


def export_document(
    streams: Mapping[str, Mapping[str, Any]], *, identifiers: Sequence[str] = ()
) -> dict[str, Any]:
    chosen = [s for name, s in sorted(streams.items()) if not identifiers or name in identifiers]
    return {"format": FORMAT, "version": VERSION,
            "streams": [{key: s[key] for key in FIELDS} for s in chosen]}  # fmt: skip


def entries(data: Any) -> list[tuple[str, dict[str, Any]]]:
    """(identifier, the fields ``StreamService.save`` takes) of each entry of the text
    or parsed document; ParameterError naming the entry."""
    document = parse_text(data) if isinstance(data, str) else data
    if isinstance(document, Mapping):
        fmt, version = document.get("format", FORMAT), document.get("version", VERSION)
        if fmt != FORMAT:
            raise ParameterError(f"Invalid import data: unknown format {fmt!r}")
        if version != VERSION:
            raise ParameterError(f"Invalid import data: unsupported version {version!r}")
        items = document.get("streams") if "streams" in document else [document]
    else:
        items = document
    if not isinstance(items, list):
        raise ParameterError("Invalid import data: expected a list of streams or 'streams'")
    if len(items) > MAX_STREAMS:
        raise ParameterError(f"Invalid import data: more than {MAX_STREAMS} streams")
    return [_entry(index, item) for index, item in enumerate(items, 1)]


def _entry(index: int, item: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(item, Mapping):
        raise ParameterError(f"stream {index}: expected a mapping")
    identifier = item.get("identifier")
    if not isinstance(identifier, str) or not identifier:
        raise ParameterError(f"stream {index}: Missing parameter: 'identifier'")
    where = f"stream {index} ({identifier[:64]!r})"
    unknown = sorted(str(key) for key in item if key not in FIELDS)
    if unknown:
        raise ParameterError(f"{where}: unknown field {unknown[0][:64]!r}")
    options = item.get("options", {})
    if not isinstance(options, Mapping) or not all(
        isinstance(v, str | int | float | bool) and not isinstance(k, bool | int)
        for k, v in options.items()
    ):
        raise ParameterError(f"{where}: 'options' must map option names to values")
    fields = {**DEFAULTS, **{k: v for k, v in item.items() if k not in ("identifier", "options")}}
    if options.keys() & fields.keys():
        raise ParameterError(f"{where}: 'options' may not hold stream fields")
    return identifier, {**fields, **options}


def import_streams(
    service: StreamService,
    session: Session,
    items: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    dry_run: bool = False,
) -> list[dict[str, str]]:
    """Save each entry in one SAVEPOINT (all or nothing; rolled back for ``dry_run``);
    ``[{identifier, result}]`` with ``created``, ``updated`` or ``unchanged``."""
    report = []
    outer = session.begin_nested()
    try:
        for index, (identifier, fields) in enumerate(items, 1):
            before = _state(service, session, identifier)
            step = session.begin_nested()
            try:
                service.save(session, identifier, fields)
            except ParameterError as exc:
                where = f"stream {index} ({identifier[:64]!r})"
                raise ParameterError(f"{where}: {exc.message}") from None
            after = _state(service, session, identifier)
            if before == after:
                step.rollback()  # equal: nothing written, no new ciphertext
                result = "unchanged"
            else:
                step.commit()
                result = "created" if before is None else "updated"
            report.append({"identifier": identifier, "result": result})
    except BaseException:
        outer.rollback()
        raise
    if dry_run:
        outer.rollback()
    else:
        outer.commit()
    return report


def _state(service: StreamService, session: Session, identifier: str) -> dict[str, Any] | None:
    """The stream as stored, its secrets opened (so a changed secret counts)."""
    row = service.rows.find(session, identifier)
    if row is None:
        return None
    state = service.describe(row)
    del state["id"]
    for name in SECRET_OPTIONS & set(row.options or {}):
        state["options"][name] = service.secrets.open(str(row.options[name]), identifier, name)
    return state


def summary(report: Sequence[Mapping[str, str]], *, dry_run: bool) -> dict[str, Any]:
    results = [entry["result"] for entry in report]
    counts = {name: results.count(name) for name in ("created", "updated", "unchanged")}
    return {**counts, "dry_run": dry_run, "streams": list(report)}


__all__ = ["FORMAT", "entries", "export_document", "export_text", "import_streams", "summary"]
