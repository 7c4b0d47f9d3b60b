"""Option descriptors: what a pydantic options model tells the API's clients and the
web UI about its fields.

Every pluggable model — an event handler's action options, a token type's enrolment
parameters, a user store's options, the SMTP server, SMS gateway and remote server
options — is described the same way, so that one renderer in the web UI builds every
form (ADR 0010). A descriptor, under the field's alias (privacyIDEA's option name)::

    {"type": "str" | "text" | "bool" | "int" | "float",
     "required": bool, "description": str,
     "label": str,                  # the field's title, when it has one
     "value": [choices],            # a Literal, CHOICES or a CHOICES_FROM list
     "default": value,              # when not required and not empty
     "secret": true,                # a credential: a password field in the UI
     "visibleIf": option, "visibleValue": value}

An option that holds a credential is typed :data:`Secret`; answers show its stored
value as ``__CENSORED__``, and sending that back keeps it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

__all__ = [
    "CHOICES",
    "CHOICES_FROM",
    "SECRET_OPTION",
    "UI_TYPE",
    "VISIBLE_IF",
    "Secret",
    "SecretOption",
    "describe_options",
    "is_secret",
    "secret_options",
]


@dataclass(frozen=True)
class SecretOption:
    """Marks an option whose value is a credential (see :data:`Secret`)."""


#: The marker in a field's metadata (``Annotated[str, SECRET_OPTION]``).
SECRET_OPTION = SecretOption()
#: An option text that is a credential: encrypted at rest, censored in every answer.
Secret = Annotated[str, SECRET_OPTION]

#: ``json_schema_extra`` key of an option whose value names stored configuration: the
#: name of the live list (``configured`` of :func:`describe_options`) offered as its
#: choices, as privacyIDEA lists e.g. the SMTP server identifiers.
CHOICES_FROM = "choices_from"
#: ``json_schema_extra`` key of fixed choices offered as an option's ``value`` list
#: (privacyIDEA lists e.g. the PIN lengths 1 to 31 of ``set random pin``).
CHOICES = "choices"
#: ``json_schema_extra`` key ``[option, value]``: the option is shown only while that
#: other option has that value (privacyIDEA's ``visibleIf`` / ``visibleValue``, e.g.
#: ``dynamic_phone`` only for ``tokentype`` ``sms``).
VISIBLE_IF = "visible_if"
#: ``json_schema_extra`` key naming the descriptor ``type`` of a field whose Python
#: type says too little (``"text"``: a multi-line text such as a JSON mapping).
UI_TYPE = "ui_type"


def is_secret(info: FieldInfo) -> bool:
    """Whether the option of ``info`` is declared :data:`Secret`."""
    return any(isinstance(item, SecretOption) for item in info.metadata)


def secret_options(model: type[BaseModel]) -> frozenset[str]:
    """The names (aliases where given) of ``model``'s :data:`Secret` options."""
    return frozenset(
        info.alias or name for name, info in model.model_fields.items() if is_secret(info)
    )


def _extra(info: FieldInfo) -> dict[str, Any]:
    return info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}


def _ui_type(info: FieldInfo) -> tuple[str, list[str] | None]:
    annotation = info.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if args else annotation
    if typing.get_origin(annotation) is Literal:
        return "str", [str(v) for v in typing.get_args(annotation)]
    if annotation is bool:
        return "bool", None
    if annotation is int:
        return "int", None
    if annotation is float:
        return "float", None
    return str(_extra(info).get(UI_TYPE, "str")), None


def _default(info: FieldInfo) -> Any:
    """The field's default as JSON shows it; None when it has none worth showing."""
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    if value is None or value in ("", [], {}):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def describe_options(
    model: type[BaseModel], configured: Mapping[str, list[str]] | None = None
) -> dict[str, dict[str, Any]]:
    """The option descriptors of ``model``, by alias. An option marked with
    :data:`CHOICES_FROM` gets the named list of ``configured`` as its ``value``
    (a dropdown in the UI) when that list is not empty; the value is checked on save
    by its owner (an event handler's ``check_references``), not by the list. One
    marked with :data:`CHOICES` gets that fixed list, one marked with
    :data:`VISIBLE_IF` privacyIDEA's ``visibleIf`` / ``visibleValue``."""
    out: dict[str, dict[str, Any]] = {}
    for name, info in model.model_fields.items():
        ui_type, listed = _ui_type(info)
        choices: list[Any] | None = listed
        extra = _extra(info)
        source = extra.get(CHOICES_FROM)
        fixed = extra.get(CHOICES)
        if isinstance(source, str) and configured and configured.get(source):
            choices = list(configured[source])
        elif isinstance(fixed, list):
            choices = list(fixed)
        descriptor: dict[str, Any] = {
            "type": ui_type,
            "required": info.is_required(),
            "description": info.description or "",
        }
        if info.title:
            descriptor["label"] = info.title
        if choices:
            descriptor["value"] = choices
        if is_secret(info):
            descriptor["secret"] = True
        visible = extra.get(VISIBLE_IF)
        if isinstance(visible, list | tuple) and len(visible) == 2:
            descriptor["visibleIf"], descriptor["visibleValue"] = str(visible[0]), visible[1]
        default = _default(info)
        if default is not None:
            descriptor["default"] = default
        out[info.alias or name] = descriptor
    return out
