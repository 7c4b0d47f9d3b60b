"""Matching and priorities, as units: compiled policies against request contexts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from factorflow.errors import PolicyError
from factorflow.policies.matching import CompiledPolicy, MatchContext, select
from factorflow.policies.models import Policy

MONDAY_NOON = datetime(2026, 11, 23, 12, 0)  # a Monday
SATURDAY_NOON = datetime(2026, 11, 28, 12, 0)


def compiled(name: str = "p", **fields: Any) -> CompiledPolicy:
    values: dict[str, Any] = {
        "name": name, "scope": "authentication", "action": {"passOnNoToken": True},
        "priority": 1, "realm": [], "resolver": [], "user": [], "adminrealm": [],
        "adminuser": [], "client": [], "time": "", "conditions": [],
    }  # fmt: skip
    values.update(fields)
    return CompiledPolicy.from_row(Policy(**values))


def matches(policy: CompiledPolicy, now: datetime = MONDAY_NOON, **ctx: Any) -> bool:
    return policy.matches(MatchContext(**ctx), now)


def test_empty_conditions_match_everything() -> None:
    assert matches(compiled(), realm="r", user="u", client="1.2.3.4")


def test_realm_and_resolver_case_insensitive() -> None:
    policy = compiled(realm=["RealmA"], resolver=["res1"])
    assert matches(policy, realm="realma", resolver="RES1")
    assert not matches(policy, realm="realmb", resolver="res1")
    assert not matches(policy, realm="realma", resolver="res2")
    assert matches(policy)  # unknown attributes are not checked (privacyIDEA)


@pytest.mark.parametrize(
    ("spec", "login", "expected"),
    [
        (["alice"], "alice", True),
        (["alice"], "bob", False),
        (["a*"], "alice", True),
        (["*", "!bob"], "bob", False),
        (["*", "-bob"], "carol", True),
        (["!bob"], "carol", True),
        (["!b*"], "bert", False),
        (["ali?e"], "alice", True),
    ],
)
def test_user_wildcards_and_negation(spec: list[str], login: str, expected: bool) -> None:
    assert matches(compiled(user=spec), user=login) is expected


def test_adminrealm_and_adminuser() -> None:
    policy = compiled(adminrealm=["helpdesk"], adminuser=["*", "!boss"])
    assert matches(policy, adminrealm="helpdesk", adminuser="frank")
    assert not matches(policy, adminrealm="helpdesk", adminuser="boss")
    assert not matches(policy, adminrealm="", adminuser="frank")


def test_client_networks_with_exclusion() -> None:
    policy = compiled(client=["10.0.0.0/8", "!10.1.0.0/16", "2001:db8::/32"])
    assert matches(policy, client="10.2.3.4")
    assert not matches(policy, client="10.1.3.4")
    assert not matches(policy, client="192.168.1.1")
    assert matches(policy, client="2001:db8::1")
    assert not matches(policy, client="not-an-ip")
    only_exclusion = compiled(client=["!192.168.0.0/16"])
    assert matches(only_exclusion, client="10.0.0.1")
    assert not matches(only_exclusion, client="192.168.3.3")


def test_time_windows() -> None:
    policy = compiled(time="Mon-Fri: 08:00-18:00, Sat: 9-10")
    assert matches(policy, MONDAY_NOON)
    assert not matches(policy, MONDAY_NOON.replace(hour=18))
    assert not matches(policy, SATURDAY_NOON)
    assert matches(policy, SATURDAY_NOON.replace(hour=9, minute=30))
    wrapping = compiled(time="Sat-Mon: 00:00-24:00")
    assert matches(wrapping, MONDAY_NOON) and matches(wrapping, SATURDAY_NOON)
    assert not matches(wrapping, datetime(2026, 11, 25, 12, 0))


def test_attribute_and_tokeninfo_conditions() -> None:
    policy = compiled(
        conditions=[
            {"section": "userinfo", "key": "email", "comparator": "matches",
             "value": ".*@example\\.com", "active": True},
            {"section": "tokeninfo", "key": "group", "comparator": "equals", "value": "staff",
             "active": True, "handle_missing_data": "condition_is_false"},
            {"section": "userinfo", "key": "x", "comparator": "equals", "value": "y",
             "active": False},
        ]
    )  # fmt: skip

    def ctx(email: str, group: str | None) -> dict[str, Any]:
        return {
            "userinfo": lambda: {"email": email},
            "tokeninfo": lambda: {"group": group} if group else {},
        }

    assert matches(policy, **ctx("a@example.com", "staff"))
    assert not matches(policy, **ctx("a@other.org", "staff"))
    assert not matches(policy, **ctx("a@example.com", None))  # condition_is_false


def test_missing_data_raises_a_policy_error() -> None:
    policy = compiled(
        conditions=[{"section": "userinfo", "key": "email", "comparator": "equals", "value": "v"}]
    )
    with pytest.raises(PolicyError):
        matches(policy)


def test_priority_lowest_number_wins() -> None:
    policies = (
        compiled("a", action={"otppin": "userstore"}, priority=1),
        compiled("b", action={"otppin": "none"}, priority=2),
    )
    view = select(policies, "authentication", MatchContext(), MONDAY_NOON)
    assert view.value("otppin") == "userstore"
    assert view.value("challenge_text") is None
    assert view.names == ["a", "b"]


def test_same_priority_conflict_is_an_error() -> None:
    policies = (
        compiled("a", action={"otppin": "userstore"}, priority=1),
        compiled("b", action={"otppin": "none"}, priority=1),
    )
    view = select(policies, "authentication", MatchContext(), MONDAY_NOON)
    with pytest.raises(PolicyError) as raised:
        view.value("otppin")
    assert raised.value.code == 303
    assert "conflicting otppin" in raised.value.message


def test_same_value_at_same_priority_is_no_conflict() -> None:
    policies = (
        compiled("a", action={"otppin": "none"}),
        compiled("b", action={"otppin": "none"}),
    )
    assert select(policies, "authentication", MatchContext(), MONDAY_NOON).value("otppin") == "none"


def test_non_unique_values_and_booleans_are_additive() -> None:
    policies = (
        compiled("a", scope="authorization", action={"tokentype": "hotp totp"}, priority=1),
        compiled("b", scope="authorization", action={"tokentype": "email", "no_detail_on_fail": True},
                 priority=5),
    )  # fmt: skip
    view = select(policies, "authorization", MatchContext(), MONDAY_NOON)
    assert view.values("tokentype") == ["hotp", "totp", "email"]
    assert view.has("no_detail_on_fail") and not view.has("no_detail_on_success")
    assert view.granting("tokentype") == ["a", "b"]
