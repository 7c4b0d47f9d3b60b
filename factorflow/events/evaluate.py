"""Evaluating a definition's conditions against one request's facts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from factorflow.events.conditions.base import ConditionResult, Unknown, Verdict
from factorflow.events.conditions.expression import combine_and, evaluate
from factorflow.events.definition import Definition
from factorflow.events.facts import Facts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConditionTrace:
    condition: str
    value: str
    result: Verdict
    reason: str
    #: What the result counts as for this definition (unknown resolved by unknown_is_match).
    counts_as: Verdict

    def as_dict(self) -> dict[str, Any]:
        return {
            "condition": self.condition,
            "value": self.value,
            "result": self.result,
            "reason": self.reason,
            "counts_as": self.counts_as,
        }


@dataclass(frozen=True)
class Evaluation:
    fires: bool
    verdict: Verdict
    trace: tuple[ConditionTrace, ...]


def _check(definition: Definition, facts: Facts, index: int) -> ConditionResult:
    compiled = definition.conditions[index]
    try:
        return compiled.condition.check(facts, compiled.value)
    except Exception as exc:
        # A condition must never break a request; the reason says what happened.
        log.warning("condition %s of %r failed", compiled.name, definition.name, exc_info=True)
        return Unknown(f"evaluation failed ({type(exc).__name__})")


def evaluate_definition(definition: Definition, facts: Facts, *, full: bool = False) -> Evaluation:
    """Evaluate the conditions. Without ``full``, the flat form stops at the first
    condition that does not hold (later ones then cost nothing)."""
    values: dict[str, Verdict] = {}
    trace: list[ConditionTrace] = []
    stop_early = not full and definition.expression is None
    for index, compiled in enumerate(definition.conditions):
        result = _check(definition, facts, index)
        counts: Verdict = result.verdict
        if isinstance(result, Unknown) and definition.unknown_is_match:
            counts = "matched" if result.compat else "not_matched"
        values[compiled.name] = counts
        trace.append(
            ConditionTrace(compiled.name, compiled.raw, result.verdict, result.reason, counts)
        )
        if stop_early and counts != "matched":
            break
    if definition.expression is not None:
        verdict = evaluate(definition.expression, values)
    else:
        verdict = combine_and(list(values.values()))
    return Evaluation(verdict == "matched", verdict, tuple(trace))
