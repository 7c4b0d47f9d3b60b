"""Parameter conventions of privacyIDEA's API, free of HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

_TRUE = {"1", "true", "True", "TRUE"}


def is_true(value: Any) -> bool:
    """privacyIDEA's truthiness for parameters: 1, "1", True and "true" in three spellings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    return isinstance(value, str) and value.strip() in _TRUE


def _loose_bool(value: Any) -> bool:
    return is_true(value)


#: A boolean parameter with privacyIDEA's is_true semantics (never a validation error).
PiBool = Annotated[bool, BeforeValidator(_loose_bool)]


def split_list(value: Any) -> list[str]:
    """A comma-separated string or a list, as privacyIDEA accepts list parameters."""
    if value is None:
        return []
    items = [str(v) for v in value] if isinstance(value, list | tuple) else str(value).split(",")
    return [item.strip() for item in items if item.strip()]
