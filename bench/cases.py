"""The benchmark cases: what each request sends, and the event definitions a case needs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bench.products import REALM

ACCEPT = r'"authentication":\s*"ACCEPT"'
REJECT = r'"authentication":\s*"REJECT"'


@dataclass(frozen=True)
class EventSet:
    """``count`` definitions of one ``kind``: nomatch, match or other."""

    kind: str
    count: int

    def definitions(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for i in range(self.count):
            if self.kind == "nomatch":
                # Bound to validate_check; the condition never holds for the bench users.
                out.append(
                    {
                        "name": f"bench-nomatch-{i}",
                        "event": "validate_check",
                        "handlermodule": "Token",
                        "action": "set tokeninfo",
                        "position": "post",
                        "conditions": json.dumps({"realm": f"nomatch{i}"}),
                        "option.key": f"bench_nomatch_{i}",
                        "option.value": "x",
                    }
                )
            elif self.kind == "match":
                # Bound to validate_check with a condition that holds: the actions run.
                if i % 2 == 0:
                    out.append(
                        {
                            "name": f"bench-match-{i}",
                            "event": "validate_check",
                            "handlermodule": "Token",
                            "action": "set tokeninfo",
                            "position": "post",
                            "conditions": json.dumps({"realm": REALM}),
                            "option.key": f"bench_match_{i}",
                            "option.value": "seen",
                        }
                    )
                else:
                    out.append(
                        {
                            "name": f"bench-counter-{i}",
                            "event": "validate_check",
                            "handlermodule": "Counter",
                            "action": "increase_counter",
                            "position": "post",
                            "conditions": json.dumps({"realm": REALM}),
                            "option.counter_name": f"bench_counter_{i}",
                        }
                    )
            else:
                # Bound to other events only: validate_check must not pay for them.
                out.append(
                    {
                        "name": f"bench-other-{i}",
                        "event": "token_init" if i % 2 else "token_delete",
                        "handlermodule": "Token",
                        "action": "set tokeninfo",
                        "position": "post",
                        "conditions": json.dumps({"realm": REALM}),
                        "option.key": f"bench_other_{i}",
                        "option.value": "x",
                    }
                )
        return out


@dataclass(frozen=True)
class PolicySet:
    """``count`` authentication/authorization policies for issue 8's "0 and 100 policies".

    Nine in ten are bound to realms the bench users are not in (and would change the
    outcome if they applied: otppin=userstore, passthru, only TOTP allowed); one in ten
    match the bench realm but change nothing for a user with a PIN'd HOTP token
    (otppin=tokenpin, the default; passOnNoToken; HOTP allowed). Every request therefore
    has to look at all of them, and every answer stays ACCEPT."""

    count: int
    #: realms the non-matching policies are bound to (privacyIDEA refuses a policy for
    #: a realm that does not exist); they hold the same users, who are asked for in REALM
    other_realms: tuple[str, ...] = ("benchother0", "benchother1", "benchother2")

    def policies(self) -> list[tuple[str, dict[str, str]]]:
        out: list[tuple[str, dict[str, str]]] = []
        matching = self.count // 10
        for i in range(self.count - matching):
            scope, action = (
                ("authentication", "otppin=userstore"),
                ("authentication", "passthru"),
                ("authorization", "tokentype=totp"),
            )[i % 3]
            out.append(
                (
                    f"bench-pol-other-{i}",
                    {
                        "scope": scope,
                        "action": action,
                        "realm": self.other_realms[i % len(self.other_realms)],
                        "active": "true",
                    },
                )
            )
        for i in range(matching):
            scope, action = (
                ("authentication", "otppin=tokenpin"),
                ("authentication", "passOnNoToken"),
                ("authorization", "tokentype=hotp"),
            )[i % 3]
            out.append(
                (
                    f"bench-pol-match-{i}",
                    {"scope": scope, "action": action, "realm": REALM, "active": "true"},
                )
            )
        return out


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    mode: str
    path: str
    expect: str
    admin: bool = False
    events: EventSet | None = None
    policies: PolicySet | None = None
    #: also run against privacyIDEA at its default PIN-hash cost
    default_cost: bool = False
    #: paced at this fraction of the server's measured check_ok throughput (open loop)
    load_fraction: float = 0.0
    tags: tuple[str, ...] = field(default_factory=tuple)


CASES: list[Case] = [
    Case(
        "check_ok",
        "/validate/check, correct OTP",
        "check_ok",
        "/validate/check",
        ACCEPT,
        default_cost=True,
    ),
    Case(
        "check_ok_half",
        "/validate/check, correct OTP, paced at 50% of check_ok's req/s",
        "check_ok",
        "/validate/check",
        ACCEPT,
        load_fraction=0.5,
    ),
    Case(
        "check_wrong",
        "/validate/check, wrong OTP",
        "check_wrong",
        "/validate/check",
        REJECT,
        default_cost=True,
    ),
    Case(
        "unknown_user",
        "/validate/check, unknown user",
        "unknown_user",
        "/validate/check",
        r'"status":\s*false|' + REJECT,
        default_cost=True,
    ),
    Case(
        "ev_nomatch_10",
        "check_ok + 10 non-matching definitions",
        "check_ok",
        "/validate/check",
        ACCEPT,
        events=EventSet("nomatch", 10),
    ),
    Case(
        "ev_nomatch_100",
        "check_ok + 100 non-matching definitions",
        "check_ok",
        "/validate/check",
        ACCEPT,
        events=EventSet("nomatch", 100),
    ),
    Case(
        "ev_match_10",
        "check_ok + 10 definitions whose actions run",
        "check_ok",
        "/validate/check",
        ACCEPT,
        events=EventSet("match", 10),
    ),
    Case(
        "ev_other_100",
        "check_ok + 100 definitions on other events",
        "check_ok",
        "/validate/check",
        ACCEPT,
        events=EventSet("other", 100),
    ),
    Case(
        "pol_100",
        "check_ok + 100 authentication/authorization policies (90 for other realms)",
        "check_ok",
        "/validate/check",
        ACCEPT,
        policies=PolicySet(100),
    ),
    Case(
        "token_init",
        "/token/init (hotp, otpkey, pin)",
        "token_init",
        "/token/init",
        r'"status":\s*true',
        admin=True,
    ),
]

CASE_NAMES = [c.name for c in CASES]
