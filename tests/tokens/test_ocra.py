"""The ``ocra`` token (RFC 6287): Appendix C's vectors for the computation, the suite
grammar, and over HTTP the question asked by the PIN, the response accepted once,
counter suites moving their counter, the ``tokentype`` condition; bad enrolment input
refused with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.tokens.ocra import OcraSuite, OcraSuiteError, data_input, ocra_response
from tests import factories
from tests.tokens.helpers import assert_error, check, get_token
from tests.tokens.test_tokentype_condition import (
    test_tokentype_condition_matches_the_type as tokentype_condition,
)
from tests.tokens.type_adapters import ADAPTERS

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}
#: RFC 6287 Appendix C: the keys, the PIN 1234 and the time steps of
#: "Mar 25 2008, 12:06:30 GMT" (0x132d0b6 minutes).
KEY20 = bytes.fromhex("3132333435363738393031323334353637383930")
KEY32 = bytes.fromhex("3132333435363738393031323334353637383930313233343536373839303132")
KEY64 = bytes.fromhex(
    "31323334353637383930313233343536373839303132333435363738393031323334353637383930"
    "313233343536373839303132333435363738393031323334"
)
PIN, T = "1234", 0x132D0B6
DIGITS8 = [str(i) * 8 for i in range(10)]

# (suite, key, question, counter, PIN, time steps, response): C.1, C.2 and C.3.
VECTORS: list[tuple[str, bytes, str, int | None, str | None, int | None, str]] = [
    *[("OCRA-1:HOTP-SHA1-6:QN08", KEY20, q, None, None, None, r) for q, r in zip(DIGITS8, [
        "237653", "243178", "653583", "740991", "608993",
        "388898", "816933", "224598", "750600", "294470"], strict=True)],
    *[("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, "12345678", c, PIN, None, r)
      for c, r in enumerate(["65347737", "86775851", "78192410", "71565254", "10104329",
                             "65983500", "70069104", "91771096", "75011558", "08522129"])],
    *[("OCRA-1:HOTP-SHA256-8:QN08-PSHA1", KEY32, q, None, PIN, None, r) for q, r in zip(
        DIGITS8, ["83238735", "01501458", "17957585", "86776967", "86807031"], strict=False)],
    *[("OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, DIGITS8[c], c, None, None, r)
      for c, r in enumerate(["07016083", "63947962", "70123924", "25341727", "33203315",
                             "34205738", "44343969", "51946085", "20403879", "31409299"])],
    *[("OCRA-1:HOTP-SHA512-8:QN08-T1M", KEY64, q, None, None, T, r) for q, r in zip(
        DIGITS8, ["95209754", "55907591", "22048402", "24218844", "36209546"], strict=False)],
    # C.2, mutual: the server's and the client's computations.
    *[("OCRA-1:HOTP-SHA256-8:QA08", KEY32, f"CLI2222{i}SRV1111{i}", None, None, None, r)
      for i, r in enumerate(["28247970", "01984843", "65387857", "03351211", "83412541"])],
    *[("OCRA-1:HOTP-SHA256-8:QA08", KEY32, f"SRV1111{i}CLI2222{i}", None, None, None, r)
      for i, r in enumerate(["15510767", "90175646", "33777207", "95285278", "28934924"])],
    *[("OCRA-1:HOTP-SHA512-8:QA08", KEY64, f"CLI2222{i}SRV1111{i}", None, None, None, r)
      for i, r in enumerate(["79496648", "76831980", "12250499", "90856481", "12761449"])],
    *[("OCRA-1:HOTP-SHA512-8:QA08-PSHA1", KEY64, f"SRV1111{i}CLI2222{i}", None, PIN, None, r)
      for i, r in enumerate(["18806276", "70020315", "01600026", "18951020", "32528969"])],
    # C.3, plain signature.
    *[("OCRA-1:HOTP-SHA256-8:QA08", KEY32, f"SIG1{i}000", None, None, None, r)
      for i, r in enumerate(["53095496", "04110475", "31331128", "76028668", "46554205"])],
    *[("OCRA-1:HOTP-SHA512-8:QA10-T1M", KEY64, f"SIG1{i}00000", None, None, T, r)
      for i, r in enumerate(["77537423", "31970405", "10235557", "95213541", "65360607"])],
]  # fmt: skip


@pytest.mark.parametrize(("suite", "key", "question", "counter", "pin", "steps", "expected"),
                         VECTORS)  # fmt: skip
def test_rfc_6287_appendix_c(
    suite: str,
    key: bytes,
    question: str,
    counter: int | None,
    pin: str | None,
    steps: int | None,
    expected: str,
) -> None:
    parsed = OcraSuite.parse(suite)
    got = ocra_response(key, parsed, question, counter=counter, pin=pin, timestamp=steps)
    assert got == expected


def test_the_suite_grammar() -> None:
    suite = OcraSuite.parse("OCRA-1:HOTP-SHA512-8:C-QH40-PSHA256-S128-T30S")
    assert (suite.hash_name, suite.digits, suite.counter) == ("SHA512", 8, True)
    assert (suite.question_format, suite.question_length) == ("H", 40)
    assert (suite.pin_hash, suite.session_length, suite.time_step) == ("SHA256", 128, 30)
    assert OcraSuite.parse("OCRA-1:HOTP-SHA1-0:QA64").digits == 0
    assert OcraSuite.parse("OCRA-1:HOTP-SHA1-6:QN08-T2H").time_step == 7200
    for bad in [
        "OCRA-2:HOTP-SHA1-6:QN08",
        "OCRA-1:HOTP-MD5-6:QN08",
        "OCRA-1:HOTP-SHA1-3:QN08",
        "OCRA-1:HOTP-SHA1-6:QX08",
        "OCRA-1:HOTP-SHA1-6:QN03",
        "OCRA-1:HOTP-SHA1-6:QN65",
        "OCRA-1:HOTP-SHA1-6:QN08-T0M",
        "OCRA-1:HOTP-SHA1-6",
        "OCRA-1:HOTP-SHA1-6:P-QN08",
    ]:
        with pytest.raises(OcraSuiteError):
            OcraSuite.parse(bad)
    with pytest.raises(OcraSuiteError, match="counter"):
        data_input(OcraSuite.parse("OCRA-1:HOTP-SHA1-6:C-QN08"), "1234")


def test_random_questions_fit_their_suite() -> None:
    for text in ["OCRA-1:HOTP-SHA1-6:QN08", "OCRA-1:HOTP-SHA1-8:QH40", "OCRA-1:HOTP-SHA1-8:QA12"]:
        suite = OcraSuite.parse(text)
        question = suite.random_question()
        assert len(question) == suite.question_length and suite.valid_question(question)
    assert not OcraSuite.parse("OCRA-1:HOTP-SHA1-6:QN08").valid_question("12a")


def challenge(client: TestClient) -> tuple[str, str, dict[str, Any]]:
    body = check(client, **USER, **{"pass": "pin"})
    assert body["result"]["authentication"] == "CHALLENGE", body
    entry = body["detail"]["multi_challenge"][0]
    return str(body["detail"]["transaction_id"]), str(entry["attributes"]["challenge"]), body


def enrol(client: TestClient, headers: H, **params: str) -> str:
    return str(factories.enrol(client, headers, "ocra", pin="pin", **USER, **params)["serial"])


def test_the_pin_asks_a_question_and_its_response_is_accepted_once(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    suite = "OCRA-1:HOTP-SHA1-6:QN08"
    serial = enrol(client, admin_headers, otpkey=KEY20.hex(), ocrasuite=suite)
    assert serial.startswith("OCRA")
    assert get_token(client, admin_headers, serial)["info"]["ocrasuite"] == suite
    transaction_id, question, body = challenge(client)
    assert body["detail"]["message"] == "Please answer the challenge"
    assert len(question) == 8 and question.isdigit()
    right = ocra_response(KEY20, OcraSuite.parse(suite), question)
    answer = {**USER, "transaction_id": transaction_id}
    wrong = "000000" if right != "000000" else "111111"
    assert check(client, **answer, **{"pass": wrong})["result"]["value"] is False
    assert check(client, **answer, **{"pass": right})["result"]["value"] is True
    assert check(client, **answer, **{"pass": right})["result"]["value"] is False  # replay
    # A response without its challenge is no login.
    assert check(client, **USER, **{"pass": "pin" + right})["result"]["value"] is False


def test_a_counter_suite_moves_its_counter(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    suite = OcraSuite.parse("OCRA-1:HOTP-SHA512-8:C-QN08")
    serial = enrol(client, admin_headers, otpkey=KEY64.hex(), ocrasuite=suite.text)
    for counter in (0, 1, 3):  # 3: the token was used once without the server
        transaction_id, question, _ = challenge(client)
        response = ocra_response(KEY64, suite, question, counter=counter)
        body = check(client, **USER, transaction_id=transaction_id, **{"pass": response})
        assert body["result"]["value"] is True
    # An old counter's response to a new question is refused.
    transaction_id, question, _ = challenge(client)
    old = ocra_response(KEY64, suite, question, counter=2)
    assert (
        check(client, **USER, transaction_id=transaction_id, **{"pass": old})["result"]["value"]
        is False
    )
    assert get_token(client, admin_headers, serial)["count"] == 4


def test_the_default_suite_and_a_generated_key_shown_once(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    detail = factories.enrol(client, admin_headers, "ocra", pin="pin", genkey="1", **USER)
    key = bytes.fromhex(str(detail["otpkey"]["value"]))
    assert len(key) == 20
    token = get_token(client, admin_headers, str(detail["serial"]))
    assert token["info"]["ocrasuite"] == "OCRA-1:HOTP-SHA1-8:QH40" and token["otplen"] == 8
    assert "otpkey" not in str(token)
    transaction_id, question, _ = challenge(client)
    assert len(question) == 40 and int(question, 16) >= 0
    response = ocra_response(key, OcraSuite.parse("OCRA-1:HOTP-SHA1-8:QH40"), question)
    body = check(client, **USER, transaction_id=transaction_id, **{"pass": response})
    assert body["result"]["value"] is True


def test_triggerchallenge_asks_the_question(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    enrol(client, admin_headers, otpkey=KEY32.hex(), ocrasuite="OCRA-1:HOTP-SHA256-8:QA08")
    response = client.post("/validate/triggerchallenge", data=USER, headers=admin_headers)
    body = response.json()
    assert response.status_code == 200 and body["result"]["value"] == 1, body
    question = body["detail"]["multi_challenge"][0]["attributes"]["challenge"]
    suite = OcraSuite.parse("OCRA-1:HOTP-SHA256-8:QA08")
    answer = ocra_response(KEY32, suite, question)
    got = check(client, **USER, transaction_id=body["detail"]["transaction_id"], **{"pass": answer})
    assert got["result"]["value"] is True


@pytest.mark.parametrize(
    "params",
    [
        {"ocrasuite": "OCRA-1:HOTP-MD5-6:QN08"},
        {"ocrasuite": "nonsense"},
        {"ocrasuite": "OCRA-1:HOTP-SHA256-8:QN08-PSHA1"},  # the PIN hash is not kept
        {"ocrasuite": "OCRA-1:HOTP-SHA256-8:QA08-S064"},
        {"otpkey": "zz11"},
        {"otpkey": KEY20.hex(), "genkey": "1"},
    ],
)
def test_bad_enrolment_input_is_refused_and_creates_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, params: dict[str, str]
) -> None:
    data = {"type": "ocra", "pin": "pin", **USER, **params}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []


def test_an_answer_to_an_unknown_transaction_is_refused(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    enrol(client, admin_headers, otpkey=KEY20.hex(), ocrasuite="OCRA-1:HOTP-SHA1-6:QN08")
    body = check(client, **USER, transaction_id="1" * 20, **{"pass": "123456"})
    assert body["result"]["value"] is False
    too_long = client.post(
        "/validate/check", data={**USER, "transaction_id": "1" * 65, "pass": "1"}
    )
    assert_error(too_long, 400)


def test_tokentype_condition(client: TestClient, admin_headers: H, flatfile_realm: str) -> None:
    assert "ocra" in ADAPTERS
    tokentype_condition("ocra", client, admin_headers, flatfile_realm)


def test_a_given_challenge_is_signed_hashed_and_padded_as_asked(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    """privacyIDEA's ``challenge``, ``hashchallenge`` and ``addrandomchallenge``: the
    token signs data the caller chose (QH40 takes a SHA-1 in hex)."""
    import hashlib

    suite = OcraSuite.parse("OCRA-1:HOTP-SHA1-8:QH40")
    enrol(client, admin_headers, otpkey=KEY20.hex(), ocrasuite=suite.text)
    data = {**USER, "pass": "pin", "challenge": "Pay 100 EUR to DE02", "hashchallenge": "1"}
    body = check(client, **data)
    attributes = body["detail"]["multi_challenge"][0]["attributes"]
    expected = hashlib.sha1(b"Pay 100 EUR to DE02").hexdigest()
    assert attributes["challenge"] == expected
    assert attributes["original_challenge"] == "Pay 100 EUR to DE02"
    assert attributes["qrcode"].startswith("data:image/png;base64,")
    response = ocra_response(KEY20, suite, expected)
    answer = {**USER, "transaction_id": body["detail"]["transaction_id"], "pass": response}
    assert check(client, **answer)["result"]["value"] is True

    trigger = {**USER, "challenge": "abc", "addrandomchallenge": "5", "hashchallenge": "sha1"}
    got = client.post("/validate/triggerchallenge", data=trigger, headers=admin_headers).json()
    entry = got["detail"]["multi_challenge"][0]["attributes"]
    original = entry["original_challenge"]
    assert original.startswith("abc") and len(original) == 8 and original.isalnum()
    assert entry["challenge"] == hashlib.sha1(original.encode()).hexdigest()
    # A text the suite cannot take (not hex, unhashed) gets no challenge.
    refused = check(client, **{**USER, "pass": "pin", "challenge": "not hex at all"})
    assert refused["result"]["value"] is False and "multi_challenge" not in refused["detail"]
    untaken = {**USER, "challenge": "not hex at all"}
    response = client.post("/validate/triggerchallenge", data=untaken, headers=admin_headers)
    assert_error(response, 400)


def test_bad_challenge_parameters_are_refused(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    enrol(client, admin_headers, otpkey=KEY20.hex(), ocrasuite="OCRA-1:HOTP-SHA1-6:QN08")
    for bad in ({"addrandomchallenge": "x"}, {"addrandomchallenge": "65"},
                {"challenge": "1" * 1025}):  # fmt: skip
        response = client.post("/validate/check", data={**USER, "pass": "pin", **bad})
        assert_error(response, 400)
