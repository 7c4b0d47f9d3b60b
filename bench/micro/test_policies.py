"""pytest-benchmark: the cost of the authentication decisions of one /validate/check
with 0 and 100 policies (issue 8: "100 policies cost little"). A request matches the
compiled, scope-indexed policies of the cache; nothing touches the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from factorflow.policies.matching import CompiledPolicy, MatchContext, select
from factorflow.policies.models import Policy


def _policies(count: int) -> tuple[CompiledPolicy, ...]:
    out = []
    for i in range(count):
        row = Policy(
            name=f"p{i}", scope="authentication", action={"otppin": "tokenpin"},
            priority=i % 5 + 1, realm=[f"realm{i % 10}"], resolver=[], user=["*", f"!u{i}"],
            adminrealm=[], adminuser=[], client=["10.0.0.0/8", "!10.9.0.0/16"],
            time="Mon-Sun: 00:00-24:00", conditions=[],
        )  # fmt: skip
        out.append(CompiledPolicy.from_row(row))
    return tuple(sorted(out, key=lambda p: (p.priority, p.name)))


@pytest.mark.parametrize("count", [0, 100])
def test_authentication_decision(benchmark: Any, count: int) -> None:
    policies = _policies(count)
    now = datetime(2026, 11, 23, 12, 0)

    def decide() -> object:
        ctx = MatchContext(realm="realm3", user="alice", client="10.1.2.3")
        view = select(policies, "authentication", ctx, now)
        return view.value("otppin")

    assert decide() == ("tokenpin" if count else None)
    benchmark(decide)
