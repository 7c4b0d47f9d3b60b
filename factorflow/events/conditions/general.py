"""General conditions: client IP, the response (result and detail) and event counters."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from factorflow.core.compare import Comparison, ComparisonError, parse_comparison
from factorflow.core.safe_regex import check_pattern, too_long
from factorflow.events.conditions.base import (
    Condition,
    ConditionResult,
    Matched,
    NotMatched,
    Unknown,
    parse_bool,
    verdict,
)
from factorflow.events.facts import Facts

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class IpRule:
    allow: tuple[IpNetwork, ...]
    deny: tuple[IpNetwork, ...]


def parse_ip_rule(text: str) -> IpRule:
    allow: list[IpNetwork] = []
    deny: list[IpNetwork] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        negative = item[0] in "-!"
        try:
            network = ipaddress.ip_network(item[1:].strip() if negative else item, strict=False)
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network") from None
        (deny if negative else allow).append(network)
    if not allow and not deny:
        raise ValueError("no IP address given")
    return IpRule(tuple(allow), tuple(deny))


def check_client_ip(facts: Facts, rule: IpRule) -> ConditionResult:
    if not facts.inv.client_ip:
        return Unknown("the client IP is not known", compat=True)
    try:
        address = ipaddress.ip_address(facts.inv.client_ip)
    except ValueError:
        return Unknown(f"client IP {facts.inv.client_ip!r} does not parse", compat=True)
    if any(address in net for net in rule.deny):
        return NotMatched(f"{address} is excluded")
    if rule.allow and not any(address in net for net in rule.allow):
        return NotMatched(f"{address} is in none of the networks")
    return Matched(f"{address} is allowed")


def is_true(value: Any) -> bool:
    """privacyIDEA's is_true: only True, 1 and "1"/"true" in any case are true."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in ("1", "true")


def _result(facts: Facts) -> dict[str, Any] | None:
    response = facts.response
    if response is None:
        return None
    result = response.get("result")
    return result if isinstance(result, dict) else {}


def check_result_value(facts: Facts, expected: bool) -> ConditionResult:
    result = _result(facts)
    if result is None or "value" not in result:
        return Unknown("there is no result value (pre position or an error)", compat=not expected)
    actual = is_true(result["value"])
    return verdict(actual == expected, f"result.value is {actual}")


def check_result_status(facts: Facts, expected: bool) -> ConditionResult:
    result = _result(facts)
    if result is None:
        return Unknown("there is no response yet (pre position)", compat=not expected)
    actual = is_true(result.get("status"))
    return verdict(actual == expected, f"result.status is {actual}")


def parse_authentication(text: str) -> str:
    value = text.strip().upper()
    if value not in ("ACCEPT", "REJECT", "CHALLENGE", "DECLINED"):
        raise ValueError(f"{text!r} is not ACCEPT, REJECT, CHALLENGE or DECLINED")
    return value


def check_result_authentication(facts: Facts, expected: str) -> ConditionResult:
    result = _result(facts)
    actual = (result or {}).get("authentication")
    if not actual:
        return Unknown("the response carries no authentication result")
    return verdict(actual == expected, f"result.authentication is {actual}")


def parse_regex(text: str) -> re.Pattern[str]:
    """A configured regular expression, refused if it could backtrack without bound
    (:mod:`factorflow.core.safe_regex`)."""
    return check_pattern(text)


def search(pattern: re.Pattern[str], text: str) -> bool:
    """``pattern`` found in ``text``; a text too long to search safely is no match."""
    return not too_long(text) and pattern.search(text) is not None


def _detail(facts: Facts) -> dict[str, Any]:
    detail = (facts.response or {}).get("detail")
    return detail if isinstance(detail, dict) else {}


def check_detail_error_message(facts: Facts, pattern: re.Pattern[str]) -> ConditionResult:
    response = facts.response
    if response is None:
        return Unknown("there is no response yet", compat=bool(pattern.search("")))
    # privacyIDEA reads only detail.error.message, which its error envelopes lack;
    # the message lives in result.error.message, so both are looked at.
    messages = []
    for holder in (_detail(facts), _result(facts) or {}):
        error = holder.get("error")
        if isinstance(error, dict) and error.get("message"):
            messages.append(str(error["message"]))
    if not messages:
        return NotMatched("the response carries no error message")
    hit = any(search(pattern, message) for message in messages)
    return verdict(hit, f"error message {messages[0][:80]!r}")


def check_detail_message(facts: Facts, pattern: re.Pattern[str]) -> ConditionResult:
    if facts.response is None:
        return Unknown("there is no response yet", compat=bool(pattern.search("")))
    message = str(_detail(facts).get("message") or "")
    return verdict(search(pattern, message), f"detail.message is {message[:80]!r}")


def parse_counter(text: str) -> Comparison:
    try:
        return parse_comparison(text)
    except ComparisonError as exc:
        raise ValueError(str(exc)) from None


def check_counter(facts: Facts, comparison: Comparison) -> ConditionResult:
    value = facts.counter(comparison.key)
    ok = comparison.evaluate(str(value), facts.now)
    return verdict(ok, f"counter {comparison.key!r} is {value}")


BOOL = ("True", "False")

CONDITIONS: tuple[Condition[Any], ...] = (
    Condition(
        "client_ip",
        "general",
        "str",
        "The client IP is in one of these networks (-net or !net excludes).",
        parse_ip_rule,
        check_client_ip,
        label="Client IP",
    ),
    Condition(
        "result_value",
        "general",
        "str",
        "The result.value of the response.",
        parse_bool,
        check_result_value,
        choices=BOOL,
        label="Result value",
    ),
    Condition(
        "result_status",
        "general",
        "str",
        "The result.status of the response.",
        parse_bool,
        check_result_status,
        choices=BOOL,
        label="Result status",
    ),
    Condition(
        "result_authentication",
        "general",
        "str",
        "The result.authentication of the response.",
        parse_authentication,
        check_result_authentication,
        choices=("ACCEPT", "REJECT", "CHALLENGE", "DECLINED"),
        label="Authentication result",
    ),
    Condition(
        "detail_error_message",
        "general",
        "regexp",
        "A regular expression searched in the error message of the response.",
        parse_regex,
        check_detail_error_message,
        label="Error message",
    ),
    Condition(
        "detail_message",
        "general",
        "regexp",
        "A regular expression searched in detail.message of the response.",
        parse_regex,
        check_detail_message,
        label="Detail message",
    ),
    Condition(
        "counter",
        "counter",
        "str",
        "An event counter compared with a value, e.g. failures > 10.",
        parse_counter,
        check_counter,
        label="Event counter",
    ),
)
