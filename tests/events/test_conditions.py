"""Every condition: matched, not matched and unknown (with privacyIDEA's answer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from factorflow.bootstrap import Services
from factorflow.core.dates import VALIDITY_FORMAT, timestamp
from factorflow.core.invocation import Actor, ErrorReply, Outcome, Reply
from factorflow.events.conditions import CONDITIONS
from factorflow.events.conditions.base import ConditionResult, Unknown
from factorflow.events.facts import Facts
from factorflow.events.models import EventCounter
from factorflow.tokens.info import set_info
from tests.events.conftest import add_token, make_facts

ALICE = ("realm1", "resolver1", "1000")


def check(name: str, value: str, facts: Facts) -> ConditionResult:
    condition = CONDITIONS[name]
    return condition.check(facts, condition.parse(value))


def verdicts(name: str, value: str, facts: Facts) -> str:
    return check(name, value, facts).verdict


def test_every_privacyidea_condition_but_containers_is_registered() -> None:
    expected = {
        "client_ip", "realm", "resolver", "user_info", "logged_in_user", "result_value",
        "result_status", "result_authentication", "detail_error_message", "detail_message",
        "token_locked", "tokenrealm", "tokenresolver", "serial", "user_token_number", "counter",
        "tokentype", "token_has_owner", "token_is_orphaned", "token_validity_period",
        "otp_counter", "last_auth", "count_auth", "count_auth_success", "count_auth_fail",
        "failcounter", "tokeninfo", "rollout_state", "challenge_session", "challenge_expired",
    }  # fmt: skip
    factorflows = {"token_active"}  # Factorflow's own (a workflow step's "still disabled")
    assert set(CONDITIONS) == expected | factorflows


def test_token_active(services: Services, session: Session) -> None:
    token = add_token(session, "ACT1")
    facts = make_facts(services, session, params={"serial": "ACT1"})
    assert verdicts("token_active", "True", facts) == "matched"
    token.active = False
    facts = make_facts(services, session, params={"serial": "ACT1"})
    assert verdicts("token_active", "False", facts) == "matched"
    assert verdicts("token_active", "True", facts) == "not_matched"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("client_ip", "10.0.0.0/33"), ("client_ip", "nonsense"), ("result_value", "maybe"),
        ("result_authentication", "OK"), ("detail_message", "(unclosed"), ("serial", "[a-"),
        ("logged_in_user", "root"), ("user_token_number", "many"), ("failcounter", ">x"),
        ("tokeninfo", "no comparator"), ("user_info", "email matches (["), ("last_auth", "7w"),
        ("counter", "c1 <= lots"), ("realm", " , "), ("token_locked", "yes please"),
    ],
)  # fmt: skip
def test_bad_values_do_not_parse(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        CONDITIONS[name].parse(value)


def test_client_ip(services: Services, session: Session) -> None:
    facts = make_facts(services, session, client_ip="10.1.2.3")
    assert verdicts("client_ip", "10.0.0.0/8", facts) == "matched"
    assert verdicts("client_ip", "10.0.0.0/8, -10.1.0.0/16", facts) == "not_matched"
    assert verdicts("client_ip", "192.168.0.1", facts) == "not_matched"
    assert verdicts("client_ip", "!192.168.0.1", facts) == "matched"
    result = check("client_ip", "10.0.0.0/8", make_facts(services, session))
    assert isinstance(result, Unknown) and result.compat is True


def test_result_conditions(services: Services, session: Session) -> None:
    ok = make_facts(services, session, outcome=Outcome(value=True, authentication="ACCEPT"))
    assert verdicts("result_value", "True", ok) == "matched"
    assert verdicts("result_value", "False", ok) == "not_matched"
    assert verdicts("result_status", "True", ok) == "matched"
    assert verdicts("result_authentication", "ACCEPT", ok) == "matched"
    assert verdicts("result_authentication", "reject", ok) == "not_matched"
    as_dict = make_facts(services, session, outcome=Outcome(value={"a": 1}))
    assert verdicts("result_value", "False", as_dict) == "matched"  # privacyIDEA: a dict is false
    assert verdicts("result_authentication", "ACCEPT", as_dict) == "unknown"
    pre = make_facts(services, session)
    result = check("result_value", "False", pre)
    assert isinstance(result, Unknown) and result.compat is True  # privacyIDEA: missing = false
    assert verdicts("result_status", "True", pre) == "unknown"
    failed = make_facts(
        services, session, reply=Reply(error=ErrorReply(code=904, message="no user", status=400))
    )
    assert verdicts("result_status", "False", failed) == "matched"
    assert verdicts("result_value", "True", failed) == "unknown"


def test_detail_conditions(services: Services, session: Session) -> None:
    failed = make_facts(
        services,
        session,
        reply=Reply(
            error=ErrorReply(code=904, message="ERR904: The user can not be found", status=400)
        ),
    )
    # privacyIDEA reads only detail.error.message and misses this; Factorflow finds it.
    assert verdicts("detail_error_message", "can not be found", failed) == "matched"
    assert verdicts("detail_error_message", "^wrong", failed) == "not_matched"
    wrong = make_facts(
        services, session, outcome=Outcome(value=False, detail={"message": "wrong otp pin"})
    )
    assert verdicts("detail_message", "wrong otp", wrong) == "matched"
    assert verdicts("detail_message", "^matching", wrong) == "not_matched"
    assert verdicts("detail_error_message", ".*", wrong) == "not_matched"
    assert verdicts("detail_message", "x", make_facts(services, session)) == "unknown"


def test_counter(services: Services, session: Session) -> None:
    session.add_all(
        [
            EventCounter(counter_name="fails", node="a", value=4),
            EventCounter(counter_name="fails", node="b", value=3),
        ]
    )
    session.flush()
    facts = make_facts(services, session)
    assert verdicts("counter", "fails == 7", facts) == "matched"  # the sum over nodes
    assert verdicts("counter", "fails > 7", facts) == "not_matched"
    assert verdicts("counter", "other == 0", facts) == "matched"  # missing counter = 0


def test_user_conditions(services: Services, session: Session, flatfile_realm: str) -> None:
    facts = make_facts(services, session, params={"user": "alice", "realm": flatfile_realm})
    assert verdicts("realm", "realm1, other", facts) == "matched"
    assert verdicts("realm", "other", facts) == "not_matched"
    assert verdicts("resolver", "resolver1", facts) == "matched"
    assert verdicts("resolver", "x", facts) == "not_matched"
    assert verdicts("user_info", "email matches .*@example\\.com", facts) == "matched"
    assert verdicts("user_info", "givenname == Bob", facts) == "not_matched"
    assert verdicts("user_info", "nosuchattr == 1", facts) == "unknown"
    assert verdicts("user_token_number", "0", facts) == "matched"
    add_token(session, "T1", owner=ALICE)
    fresh = make_facts(services, session, params={"user": "alice", "realm": flatfile_realm})
    assert verdicts("user_token_number", ">0", fresh) == "matched"
    assert verdicts("user_token_number", "'<'1", fresh) == "not_matched"
    nobody = make_facts(services, session, params={"user": "ghost", "realm": flatfile_realm})
    assert verdicts("realm", "realm1", nobody) == "unknown"
    assert verdicts("resolver", "resolver1", nobody) == "unknown"
    assert verdicts("user_info", "email == x", nobody) == "unknown"
    result = check("user_token_number", "0", nobody)
    assert isinstance(result, Unknown) and result.compat is True


def test_user_of_a_user_role_caller_and_of_a_serial(
    services: Services, session: Session, flatfile_realm: str
) -> None:
    caller = make_facts(services, session, actor=Actor(role="user", username="bob", realm="realm1"))
    assert caller.user is not None and caller.user.login == "bob"
    add_token(session, "OWNED", owner=ALICE)
    by_serial = make_facts(services, session, params={"serial": "OWNED"})
    assert by_serial.user is not None and by_serial.user.login == "alice"


def test_logged_in_user(services: Services, session: Session) -> None:
    admin = make_facts(services, session, actor=Actor(role="admin", username="a"))
    assert verdicts("logged_in_user", "admin", admin) == "matched"
    assert verdicts("logged_in_user", "user", admin) == "not_matched"
    nobody = check("logged_in_user", "user", make_facts(services, session))
    assert isinstance(nobody, Unknown) and nobody.compat is True


def test_token_conditions_need_exactly_one_token(services: Services, session: Session) -> None:
    add_token(session, "A1")
    add_token(session, "A2")
    for facts in (
        make_facts(services, session),  # no serial
        make_facts(services, session, params={"serial": "A1,A2"}),  # a list
        make_facts(services, session, params={"serial": "MISSING"}),
    ):
        for name, value in [("tokentype", "spass"), ("failcounter", "0"), ("otp_counter", "0"),
                            ("token_has_owner", "False"), ("tokeninfo", "a == b")]:  # fmt: skip
            result = check(name, value, facts)
            assert isinstance(result, Unknown) and result.compat is True, (name, facts.params)
        locked = check("token_locked", "True", facts)
        assert isinstance(locked, Unknown) and locked.compat is False  # quirk fixed


def test_token_conditions(services: Services, session: Session, flatfile_realm: str) -> None:
    token = add_token(session, "HOTP1", tokentype="hotp", owner=ALICE, realms=("realm1",),
                      failcount=3, maxfail=3, otp_counter=12, rollout_state="")  # fmt: skip
    set_info(token, "count_auth", "10")
    set_info(token, "count_auth_success", "7")
    set_info(token, "locked", (datetime.now(UTC) - timedelta(days=8)).isoformat())
    set_info(token, "last_auth", timestamp(datetime.now(UTC) - timedelta(days=2)))
    session.flush()
    facts = make_facts(services, session, params={"serial": "HOTP1"})
    cases = [
        ("tokentype", "totp,hotp", "matched"), ("tokentype", "spass", "not_matched"),
        ("serial", "^HOTP", "matched"), ("serial", "TOTP", "not_matched"),
        ("tokenrealm", "realm1", "matched"), ("tokenrealm", "x", "not_matched"),
        ("tokenresolver", "resolver1", "matched"), ("tokenresolver", "x", "not_matched"),
        ("token_locked", "True", "matched"), ("token_locked", "False", "not_matched"),
        ("token_has_owner", "True", "matched"), ("token_has_owner", "False", "not_matched"),
        ("token_is_orphaned", "False", "matched"), ("token_is_orphaned", "True", "not_matched"),
        ("token_validity_period", "True", "matched"),
        ("token_validity_period", "False", "not_matched"),
        ("otp_counter", ">10", "matched"), ("otp_counter", "<10", "not_matched"),
        ("count_auth", "10", "matched"), ("count_auth", ">10", "not_matched"),
        ("count_auth_success", ">=7", "matched"), ("count_auth_success", "<7", "not_matched"),
        ("count_auth_fail", "3", "matched"), ("count_auth_fail", "'>'3", "not_matched"),
        ("failcounter", "3", "matched"), ("failcounter", "!=3", "not_matched"),
        ("last_auth", "1d", "matched"), ("last_auth", "3d", "not_matched"),
        ("tokeninfo", "locked < {now}-7d", "matched"),
        ("tokeninfo", "locked < {now} - 9d", "not_matched"),
        ("tokeninfo", "nosuchkey == 1", "unknown"),
        ("rollout_state", "enrolled", "matched"), ("rollout_state", "clientwait", "not_matched"),
        ("challenge_session", "enrollment", "unknown"), ("challenge_expired", "True", "unknown"),
    ]  # fmt: skip
    for name, value, expected in cases:
        assert verdicts(name, value, facts) == expected, (name, value)


def test_token_orphaned_validity_and_last_auth_edges(
    services: Services, session: Session, flatfile_realm: str
) -> None:
    token = add_token(session, "ORPH", owner=("realm1", "resolver1", "99999"))
    now = datetime.now(UTC)
    set_info(token, "validity_period_end", (now - timedelta(days=1)).strftime(VALIDITY_FORMAT))
    session.flush()
    facts = make_facts(services, session, params={"serial": "ORPH"})
    assert verdicts("token_is_orphaned", "True", facts) == "matched"
    assert verdicts("token_validity_period", "False", facts) == "matched"
    never_used = check("last_auth", "1d", facts)
    assert isinstance(never_used, Unknown) and never_used.compat is False
    add_token(session, "NOREALM")
    bare = make_facts(services, session, params={"serial": "NOREALM"})
    assert verdicts("tokenrealm", "realm1", bare) == "unknown"
    assert verdicts("tokenresolver", "resolver1", bare) == "unknown"
    assert verdicts("token_is_orphaned", "False", bare) == "matched"


def test_serial_list_must_all_match(services: Services, session: Session) -> None:
    facts = make_facts(services, session, params={"serial": "PAPER1, HOTP2"})
    assert verdicts("serial", "PAPER", facts) == "not_matched"
    assert verdicts("serial", "PAPER|HOTP", facts) == "matched"
    audited = make_facts(services, session, audit_serial="PAPER9")
    assert verdicts("serial", "PAPER", audited) == "matched"


def test_challenge_conditions_read_the_requests_challenge(
    services: Services, session: Session, flatfile_realm: str
) -> None:
    from factorflow.tokens.models import Challenge

    token = add_token(session, "CHAL1", owner=ALICE)
    now = datetime.now(UTC)
    session.add_all(
        [
            Challenge(transaction_id="111", serial="CHAL1", token_id=token.id, session="enrollment",
                      expiration=now + timedelta(minutes=2), data={}),
            Challenge(transaction_id="222", serial="CHAL1", token_id=token.id, session="",
                      expiration=now - timedelta(minutes=1), data={}),
        ]
    )  # fmt: skip
    session.flush()
    live = make_facts(services, session, params={"serial": "CHAL1", "transaction_id": "111"})
    assert verdicts("challenge_session", "enroll", live) == "matched"
    assert verdicts("challenge_session", "challenge_declined", live) == "not_matched"
    assert verdicts("challenge_expired", "False", live) == "matched"
    # FreeRADIUS sends the transaction id as ``state``.
    expired = make_facts(services, session, params={"serial": "CHAL1", "state": "222"})
    assert verdicts("challenge_expired", "True", expired) == "matched"
    assert verdicts("challenge_session", "enrollment", expired) == "not_matched"
    other = make_facts(services, session, params={"serial": "CHAL1", "transaction_id": "999"})
    missing = check("challenge_expired", "True", other)
    assert isinstance(missing, Unknown) and "no challenge 999" in missing.reason
    assert (
        verdicts(
            "challenge_expired", "True", make_facts(services, session, params={"serial": "CHAL1"})
        )
        == "unknown"
    )
