"""Which custom user attributes an admin or user may set and delete (privacyIDEA 3.6+).

The values of the ``admin`` / ``user`` actions, collected from every matching policy:

* ``set_custom_user_attributes``: ``:<key>: <value> <value> ...`` groups, ``*`` for
  any key or any value — ``:department: sales finance :city: *`` allows department
  to be sales or finance and city anything, ``:*: *`` everything;
* ``delete_custom_user_attributes``: blank-separated keys, ``*`` for any.

:func:`editable` is ``GET /user/editable_attributes/``'s answer; :func:`may_set` and
:func:`may_delete` guard ``POST /user/attribute`` and ``DELETE /user/attribute/...``.
"""

from __future__ import annotations

from collections.abc import Iterable

from factorflow.policies.matching import PolicyView

SET = "set_custom_user_attributes"
DELETE = "delete_custom_user_attributes"
ANY = "*"


def set_rules(texts: Iterable[str]) -> dict[str, set[str]]:
    """``:key: v1 v2`` groups of all ``texts`` → key → allowed values."""
    rules: dict[str, set[str]] = {}
    for text in texts:
        key: str | None = None
        for word in text.split():
            if len(word) > 2 and word.startswith(":") and word.endswith(":"):
                key = word[1:-1]
                rules.setdefault(key, set())
            elif key is not None:
                rules[key].add(word)
    return rules


def _texts(view: PolicyView, action: str) -> list[str]:
    return [str(p.action[action]) for p in view.matched if action in p.action]


def editable(view: PolicyView | None) -> dict[str, object]:
    """``{"delete": [keys], "set": {key: [values]}}``; None (no restricting policy)
    allows everything."""
    if view is None:
        return {"delete": [ANY], "set": {ANY: [ANY]}}
    deletable = sorted({key for text in _texts(view, DELETE) for key in text.split()})
    rules = set_rules(_texts(view, SET))
    return {"delete": deletable, "set": {key: sorted(v) for key, v in sorted(rules.items())}}


def may_set(view: PolicyView, key: str, value: str) -> bool:
    rules = set_rules(_texts(view, SET))
    return any(allowed & {ANY, value} for allowed in (rules.get(key), rules.get(ANY)) if allowed)


def may_delete(view: PolicyView, key: str) -> bool:
    keys = {k for text in _texts(view, DELETE) for k in text.split()}
    return ANY in keys or key in keys
