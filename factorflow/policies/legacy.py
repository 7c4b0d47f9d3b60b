"""Factorflow's earlier policy names, translated to privacyIDEA 3.14's.

Before issue 13 Factorflow named some actions as LinOTP did (``lostTokenValid``),
spelled ``last_auth`` without the underscore and kept the PIN rules and the forced
HOTP/TOTP values in the ``enrollment`` scope, where privacyIDEA has them in the
``admin`` and ``user`` scopes. Policies written with those names — through
``POST /policy/<name>``, a policy import, or stored before the upgrade (migration
0006) — keep working: :func:`translate` renames each action and says which actions
belong in another scope, with a warning per change that the API answers in
``detail.warnings`` and the log records.

An action that moves from ``enrollment`` to ``admin`` and ``user`` keeps its old
meaning, "applies to every enrolment of the matching users, by an admin or by the
user", in two policies with the same conditions (:func:`sibling_names`). Neither
takes rights away: only a policy holding a right makes its scope restrictive.

The functions are pure (no database) so that the migration uses them too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Where privacyIDEA keeps the PIN rules and forced enrolment values.
ROLE_SCOPES = ("admin", "user")

#: (scope, earlier name) → (scopes privacyIDEA keeps it in, privacyIDEA's name).
RENAMED: Mapping[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("authorization", "lastauth"): (("authorization",), "last_auth"),
    ("enrollment", "lostTokenPWLen"): (("enrollment",), "losttoken_PW_length"),
    ("enrollment", "lostTokenPWContents"): (("enrollment",), "losttoken_PW_contents"),
    ("enrollment", "lostTokenValid"): (("enrollment",), "losttoken_valid"),
    ("enrollment", "otp_pin_random"): (ROLE_SCOPES, "otp_pin_set_random"),
    ("enrollment", "otp_pin_random_content"): (ROLE_SCOPES, "otp_pin_random_content"),
    **{
        ("enrollment", name): (ROLE_SCOPES, name)
        for name in (
            "otp_pin_minlength", "otp_pin_maxlength", "otp_pin_contents",
            "hotp_otplen", "hotp_hashlib", "totp_otplen", "totp_hashlib", "totp_timestep",
        )
    },
}  # fmt: skip


@dataclass
class Translation:
    """The actions of one policy after :func:`translate`."""

    #: The actions that stay in the policy's scope.
    actions: dict[str, Any] = field(default_factory=dict)
    #: Other scope → the actions privacyIDEA keeps there.
    moved: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def translate(scope: str, actions: Mapping[str, Any]) -> Translation:
    """Rename the earlier action names of a ``scope`` policy; a name given in both
    spellings keeps the value of privacyIDEA's."""
    out = Translation()
    for name, value in actions.items():
        target = RENAMED.get((scope, name))
        if target is None:
            out.actions[name] = value
            continue
        scopes, new_name = target
        for other in scopes:
            bucket = out.actions if other == scope else out.moved.setdefault(other, {})
            if new_name in actions and new_name != name:
                continue  # privacyIDEA's spelling is given as well and wins
            bucket[new_name] = value
        where = " and ".join(f"{s!r}" for s in scopes)
        out.warnings.append(
            f"The action {name!r} of scope {scope!r} is now {new_name!r} in scope {where} "
            "(privacyIDEA's name); Factorflow's earlier name is accepted but deprecated."
        )
    return out


def sibling_names(name: str, scope: str) -> Iterator[str]:
    """The names the ``scope`` part of policy ``name`` may take, in order:
    ``<name>.<scope>``, ``<name>.<scope>2`` ..., shortened to privacyIDEA's 64
    characters."""
    for index in range(1, 1000):
        suffix = f".{scope}" + (str(index) if index > 1 else "")
        yield name[: 64 - len(suffix)] + suffix


def sibling_name(name: str, scope: str, taken: Collection[str]) -> str:
    """The first of :func:`sibling_names` not in ``taken``."""
    for candidate in sibling_names(name, scope):
        if candidate not in taken:
            return candidate
    raise ValueError(f"no free policy name for {name!r}")
