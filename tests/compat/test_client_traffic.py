"""Real privacyIDEA clients, replayed: every request of a capture of the admin CLI,
the PHP client (simpleSAMLphp, Nextcloud), an SSH-CA plugin (ekca), the LDAP proxy,
FreeRADIUS and two PAM modules talking to privacyIDEA 3.14 is sent to Factorflow in
order, and the answer must match what the clients rely on (see
:mod:`tests.compat.replay`).

The installation is the one the capture implies:

* realm ``realm1`` (the default) with the flat-file resolver ``files``: alice (1001),
  bob (1002) and carol (1003), GECOS ``Alice Test,,,,alice@example.com``;
* alice: the spass token ``SPASS01``, PIN ``alicepin`` (she logs in with it alone);
* bob: the HOTP token ``HOTP01`` with RFC 4226's test key, PIN ``bobpin``, and an
  authentication policy ``challenge_response=hotp`` (his PIN alone is answered with
  "please enter otp: ", the answers are 755224 and 287082);
* carol: the HOTP tokens ``ADM001`` and ``ADM002`` ("command line enrolled");
* the system settings ``GET /system/`` shows, and no admin policies (the admin has
  every right, triggerchallenge included).

The capture's harness re-enrolled ``HOTP01`` before each client: the RFC 4226 value
for counter 0 (755224) is accepted again by every client. The replay does the same
when the client (its User-Agent) changes, and computes each OTP from the counter
rather than trusting the captured one (a mismatch means the inference is wrong).
JWTs come from Factorflow's own ``/auth``; transaction ids (``transaction_id``, and
``state`` as FreeRADIUS sends it) are the ones Factorflow answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from factorflow.api.app import create_app
from factorflow.bootstrap import Services, build_services
from factorflow.db.base import transaction
from factorflow.db.models import ConfigSetting
from factorflow.tokens.models import Token
from tests.compat.replay import Exchange, compare, load, send
from tests.conftest import empty_tables
from tests.conftest import test_settings as settings_for
from tests.factories import passwd_line
from tests.tokens.helpers import RFC_KEY_HEX, hotp, ok

ADMIN_PASSWORD = "replay-admin-1"
EXCHANGES = load()

#: Values that differ from run to run (compared by type only). Keep it small.
NON_DETERMINISTIC = {
    "result.value.token": "a JWT signed with this server's key",
    "result.value.tokens[].id": "database ids depend on the installation's history",
    "result.value.tokens[].info.*_date": "enrolment and assignment times",
    "result.value.realm1.id": "database id",
    "result.value.count": "GET /audit/: the number of audit entries the server has",
    "result.value.auditdata[].*": "GET /audit/: entries of earlier requests (times, ids)",
    "result.value.__timestamp__": "GET /system/: when the configuration last changed",
    "detail.threadid": "the id of the thread that answered",
    "detail.transaction_id": "a random 20-digit transaction id",
    "detail.transaction_ids[]": "a random 20-digit transaction id",
    "detail.multi_challenge[].transaction_id": "a random 20-digit transaction id",
    "detail.googleurl.value": "the otpauth URI names the issuer (Factorflow)",
    "detail.googleurl.img": "the QR code of that URI",
    # Not random, but Factorflow's by design (the README's compatibility section):
    "result.value.menus": "Factorflow's web UI has an events menu and no machines menu",
}

#: Lists privacyIDEA builds from sets: compared in any order.
UNORDERED = {
    "result.value.tokens[].*_info_keys": "privacyIDEA 3.14 lists tokeninfo key sets",
}


def users_file(directory: Path) -> Path:
    path = directory / "passwd"
    lines = [
        passwd_line(login, uid, f"{login}-password", f"{login.title()} Test,,,,{login}@example.com")
        for login, uid in (("alice", 1001), ("bob", 1002), ("carol", 1003))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def install(services: Services, client: TestClient, directory: Path) -> dict[str, str]:
    """The installation the capture talks to; returns admin headers."""
    with transaction(services.sessions) as session:
        services.admins.add(session, "admin", ADMIN_PASSWORD)
        for key in ("IncFailCountOnFalsePin", "PrependPin", "splitAtSign"):
            session.add(ConfigSetting(key=key, value="True"))
    login = ok(client.post("/auth", data={"username": "admin", "password": ADMIN_PASSWORD}))
    headers = {"Authorization": login["result"]["value"]["token"]}
    resolver = {"type": "passwdresolver", "fileName": str(users_file(directory))}
    ok(client.post("/resolver/files", data=resolver, headers=headers))
    ok(client.post("/realm/realm1", data={"resolvers": "files"}, headers=headers))
    for serial in ("ADM001", "ADM002"):
        enrol = {"type": "hotp", "genkey": 1, "user": "carol", "serial": serial,
                 "description": "command line enrolled"}  # fmt: skip
        ok(client.post("/token/init", data=enrol, headers=headers))
    enrol = {"type": "spass", "user": "alice", "serial": "SPASS01", "pin": "alicepin"}
    ok(client.post("/token/init", data=enrol, headers=headers))
    enrol = {"type": "hotp", "otpkey": RFC_KEY_HEX, "user": "bob", "serial": "HOTP01",
             "pin": "bobpin"}  # fmt: skip
    ok(client.post("/token/init", data=enrol, headers=headers))
    policy = {"scope": "authentication", "action": "challenge_response=hotp", "realm": "realm1"}
    ok(client.post("/policy/challenge-response-hotp", data=policy, headers=headers))
    return headers


class Replay:
    """Sends the exchanges in order, with our JWTs, transaction ids and OTPs."""

    def __init__(self, services: Services, client: TestClient, jwt: str) -> None:
        self.services = services
        self.client = client
        self.jwt = jwt
        self.transaction_ids: dict[str, str] = {}
        self.user_agent = ""
        self.hotp_counter = 0
        self.problems: dict[int, list[str]] = {}

    def run(self, exchanges: list[Exchange]) -> dict[int, list[str]]:
        for exchange in exchanges:
            if exchange.user_agent != self.user_agent:
                self.next_client(exchange.user_agent)
            response = send(self.client, exchange, self.params(exchange), self.jwt)
            self.problems[exchange.index] = compare(
                exchange, response, NON_DETERMINISTIC, UNORDERED
            )
            self.remember(exchange, response.json() if response.content else {})
        return self.problems

    def next_client(self, user_agent: str) -> None:
        """A new client starts: HOTP01 is freshly enrolled, as in the capture."""
        self.user_agent = user_agent
        self.hotp_counter = 0
        with transaction(self.services.sessions) as session:
            session.execute(update(Token).where(Token.serial == "HOTP01").values(otp_counter=0))

    def params(self, exchange: Exchange) -> dict[str, str] | None:
        if exchange.params is None:
            return None
        params = dict(exchange.params)
        if exchange.path == "/auth":
            params["password"] = ADMIN_PASSWORD
        for name in ("transaction_id", "state"):
            if name in params:
                params[name] = self.transaction_ids[params[name]]
        if "transaction_id" in params or "state" in params:
            otp = hotp(self.hotp_counter)
            assert otp == params["pass"], f"{exchange.label}: HOTP01 is not at counter {otp}"
            params["pass"] = otp
            self.hotp_counter += 1
        return params

    def remember(self, exchange: Exchange, body: dict[str, object]) -> None:
        result = body.get("result")
        value = result.get("value") if isinstance(result, dict) else None
        if exchange.path == "/auth" and isinstance(value, dict):
            self.jwt = str(value["token"])
        theirs, ours = exchange.detail, body.get("detail")
        if isinstance(theirs, dict) and isinstance(ours, dict) and "transaction_id" in theirs:
            self.transaction_ids[theirs["transaction_id"]] = str(ours.get("transaction_id"))


@pytest.fixture(scope="module")
def replayed(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[int, list[str]]]:
    directory = tmp_path_factory.mktemp("compat")
    services = build_services(settings_for(directory / "data", database_url), migrate=False)
    empty_tables(services.engine)
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            headers = install(services, client, directory)
            yield Replay(services, client, headers["Authorization"]).run(EXCHANGES)
    finally:
        services.close()


@pytest.mark.parametrize(
    "exchange", [pytest.param(exchange, id=exchange.label) for exchange in EXCHANGES]
)
def test_answer_as_privacyidea_does(exchange: Exchange, replayed: dict[int, list[str]]) -> None:
    problems = replayed[exchange.index]
    assert not problems, f"{exchange.label} ({exchange.user_agent}):\n" + "\n".join(problems)
