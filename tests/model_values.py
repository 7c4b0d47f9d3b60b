"""Values an options model must refuse, derived from its fields, for the contract
suites: whatever a plug-in's model refuses, the API that validates with it must
refuse with a 400 and store nothing.

The candidates follow the field's declared type and bounds (a word for an integer or
a strict boolean, a value outside a ``Literal``, one character more than
``max_length``, one less than ``ge``); only those the model itself refuses are kept,
so a deliberately lenient field (privacyIDEA's booleans, which never fail) asks
nothing of the API.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from annotated_types import Ge, Le, MaxLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class BadValue:
    option: str
    value: str
    why: str

    def __str__(self) -> str:
        return f"{self.option}={self.why}"


def option_name(name: str, info: FieldInfo) -> str:
    """The name a client sends: the alias where the model declares one."""
    return info.alias or name


def _base_type(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _bound(info: FieldInfo, kind: type[Any]) -> Any:
    for item in info.metadata:
        if isinstance(item, kind):
            return item
    return None


def _candidates(info: FieldInfo) -> Iterator[tuple[str, str]]:
    annotation = _base_type(info.annotation)
    if typing.get_origin(annotation) is Literal:
        yield "not-one-of-the-choices", "a value outside the choices"
    elif annotation is bool:
        yield "perhaps", "a word for a boolean"
    elif annotation is int:
        yield "seven", "a word for an integer"
        low, high = _bound(info, Ge), _bound(info, Le)
        if low is not None:
            yield str(int(low.ge) - 1), "below the minimum"
        if high is not None:
            yield str(int(high.le) + 1), "above the maximum"
    else:
        longest = _bound(info, MaxLen)
        if longest is not None:
            yield "7" * (int(longest.max_length) + 1), "one character too long"


def bad_values(model: type[BaseModel], valid: Mapping[str, Any]) -> list[BadValue]:
    """One refused value per bound of each field of ``model``; ``valid`` is a set of
    options the model accepts, which each bad value is tried against."""
    try:
        model.model_validate(dict(valid))
    except ValidationError as exc:
        raise AssertionError(f"the valid options {dict(valid)} are refused: {exc}") from None
    found: list[BadValue] = []
    for name, info in model.model_fields.items():
        option = option_name(name, info)
        for value, why in _candidates(info):
            try:
                model.model_validate({**valid, option: value})
            except ValidationError:
                found.append(BadValue(option, value, why))
    return found


def required_options(model: type[BaseModel]) -> list[str]:
    return [
        option_name(name, info) for name, info in model.model_fields.items() if info.is_required()
    ]
