"""Combining condition results: the flat form (all must hold) and AND / OR / NOT.

Three-valued (Kleene) logic: AND is not matched if any part is not matched, else
unknown if any part is unknown; OR is matched if any part is matched, else
unknown if any is unknown; NOT keeps unknown. A definition fires only when the
whole is matched; with ``unknown_is_match`` each unknown condition is first
replaced by privacyIDEA's answer (its ``compat``), so such definitions fire
exactly when privacyIDEA's would.

Grammar (keywords case-insensitive, names are configured condition names)::

    expr := term ("OR" term)*      term := factor ("AND" factor)*
    factor := "NOT" factor | "(" expr ")" | NAME
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from factorflow.events.conditions.base import Verdict

_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z_][A-Za-z0-9_]*|\S)")


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


Node = Name | Not | And | Or


def _tokens(text: str) -> list[str]:
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:  # pragma: no cover - \S always matches something
            break
        tokens.append(match.group(1))
        position = match.end()
    return tokens


#: The deepest nesting of parentheses and NOTs (evaluation recurses that deep).
MAX_DEPTH = 32


class _Parser:
    def __init__(self, tokens: list[str], names: frozenset[str]) -> None:
        self.tokens = tokens
        self.names = names
        self.at = 0
        self.depth = 0

    def peek(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def take(self) -> str:
        token = self.peek()
        self.at += 1
        return token

    def expr(self) -> Node:
        parts = [self.term()]
        while self.peek().upper() == "OR":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def term(self) -> Node:
        parts = [self.factor()]
        while self.peek().upper() == "AND":
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def factor(self) -> Node:
        token = self.take()
        if not token:
            raise ExpressionError("the expression ends too early")
        if token.upper() == "NOT" or token == "(":  # noqa: S105 - not a password
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError(f"nested more than {MAX_DEPTH} levels deep")
            inner = Not(self.factor()) if token.upper() == "NOT" else self._group()
            self.depth -= 1
            return inner
        if token.upper() in ("AND", "OR") or not re.fullmatch(r"[A-Za-z_]\w*", token):
            raise ExpressionError(f"unexpected {token!r}")
        if token not in self.names:
            raise ExpressionError(f"{token!r} is not one of the definition's conditions")
        return Name(token)

    def _group(self) -> Node:
        inner = self.expr()
        if self.take() != ")":
            raise ExpressionError("a '(' is not closed")
        return inner


def parse_expression(text: str, names: frozenset[str]) -> Node | None:
    """Parse an expression over ``names``; None for an empty text."""
    tokens = _tokens(text)
    if not tokens:
        return None
    parser = _Parser(tokens, names)
    node = parser.expr()
    if parser.at != len(tokens):
        raise ExpressionError(f"unexpected {parser.peek()!r}")
    return node


def evaluate(node: Node, values: Mapping[str, Verdict]) -> Verdict:
    if isinstance(node, Name):
        return values[node.name]
    if isinstance(node, Not):
        inner = evaluate(node.operand, values)
        return {"matched": "not_matched", "not_matched": "matched"}.get(inner, "unknown")  # type: ignore[return-value]
    results = [evaluate(part, values) for part in node.parts]
    return combine_and(results) if isinstance(node, And) else combine_or(results)


def combine_and(results: list[Verdict]) -> Verdict:
    if "not_matched" in results:
        return "not_matched"
    return "unknown" if "unknown" in results else "matched"


def combine_or(results: list[Verdict]) -> Verdict:
    if "matched" in results:
        return "matched"
    return "unknown" if "unknown" in results else "not_matched"


__all__ = ["ExpressionError", "Node", "combine_and", "evaluate", "parse_expression"]
