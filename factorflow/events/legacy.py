"""Factorflow's earlier event names, translated to privacyIDEA 3.14's.

``GET /token/challenges/`` was the event ``token_challenges``; privacyIDEA calls it
``token_getchallenges``. A definition saved or imported with the earlier name is
bound to privacyIDEA's, with a warning in the log; stored definitions are renamed by
migration 0006.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Earlier event names → privacyIDEA's.
RENAMED_EVENTS: Mapping[str, str] = {"token_challenges": "token_getchallenges"}


def renamed_events(events: list[str]) -> tuple[list[str], list[str]]:
    """``events`` with earlier names replaced (duplicates dropped), and one warning per
    replaced name."""
    out: list[str] = []
    warnings: list[str] = []
    for event in events:
        new = RENAMED_EVENTS.get(event)
        if new is not None:
            warnings.append(
                f"The event {event!r} is now {new!r} (privacyIDEA's name); the earlier "
                "name is accepted but deprecated."
            )
        name = new or event
        if name not in out:
            out.append(name)
    return out, warnings
