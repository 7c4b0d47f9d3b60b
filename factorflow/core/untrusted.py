"""Parsing JSON and YAML that came from outside, within bounds.

Python's ``json`` module and PyYAML recurse once per nesting level, and ``json``
converts integers of any length: a body nested 50,000 deep raises ``RecursionError``
and an integer of 5,000 digits ``ValueError`` — both would surface as a 500. The
functions here refuse such input before (depth) or while (numbers) parsing with an
:class:`UntrustedInputError`, which is a :class:`~factorflow.errors.ParameterError`
(a 400 in the envelope) and a ``ValueError`` (so that pydantic validators report it
against the field). Every place that parses text a client sent — request bodies, JSON
or YAML carried inside parameters (options, headers, mappings), imports — goes through
here; the database's own JSON does not need to.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from factorflow.errors import ParameterError

#: Deep enough for every structure Factorflow accepts (condition groups, webhook
#: payloads, attribute mappings, exports), far below the interpreter's recursion limit.
MAX_DEPTH = 64
#: Longer than any number a parameter means (counters, lengths, ids, epoch times).
MAX_NUMBER_DIGITS = 100

# Quoted strings are skipped whole (brackets inside them do not nest); the rest of the
# text is scanned for brackets only: one regex pass over the text.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPENING = frozenset("[{")
_CLOSING = frozenset("]}")


class UntrustedInputError(ParameterError, ValueError):
    """Input refused before or while parsing it."""


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """The bracket nesting depth of ``text``, counted at most to ``limit + 1``."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        lexeme = match.group()
        if lexeme in _OPENING:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif lexeme in _CLOSING:
            depth -= 1
    return deepest


def ensure_shallow(text: str, what: str) -> None:
    if nesting_depth(text) > MAX_DEPTH:
        raise UntrustedInputError(f"The {what} is nested deeper than {MAX_DEPTH} levels")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise UntrustedInputError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
    return int(digits)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise UntrustedInputError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
    return float(text)


def _no_constant(name: str) -> Any:
    raise UntrustedInputError(f"{name} is not a JSON number")


def json_loads(text: str, what: str = "JSON") -> Any:
    """``text`` parsed as JSON; :class:`UntrustedInputError` naming ``what`` if it does
    not parse, nests deeper than :data:`MAX_DEPTH` or holds an overlong number."""
    ensure_shallow(text, what)
    try:
        return json.loads(
            text, parse_int=_bounded_int, parse_float=_bounded_float, parse_constant=_no_constant
        )
    except json.JSONDecodeError as exc:
        raise UntrustedInputError(f"The {what} does not parse: {exc.msg}") from None
    except UntrustedInputError as exc:
        raise UntrustedInputError(f"The {what} is refused: {exc.message}") from None
    except RecursionError:  # deeper than the scan saw: still the client's input
        raise UntrustedInputError(f"The {what} is nested too deeply") from None


def yaml_load(
    text: str, what: str = "YAML", loader: type[yaml.SafeLoader] = yaml.SafeLoader
) -> Any:
    """``text`` parsed with a safe YAML ``loader``; a ``yaml.YAMLError`` for text that is
    not YAML, :class:`UntrustedInputError` for text nested too deeply (in flow style,
    seen before parsing; in block style, whose depth the size limit bounds, met while
    parsing)."""
    ensure_shallow(text, what)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - only SafeLoader subclasses
    except RecursionError:
        raise UntrustedInputError(f"The {what} is nested too deeply") from None
