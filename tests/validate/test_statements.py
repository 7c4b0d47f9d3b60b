"""How many SQL statements a correct /validate/check sends, per database (issue 15,
target 4). The bounds are what the check reaches; a change that adds a round trip to
the hot path has to raise them here, on purpose. ``python -m bench.queries`` prints
the same statements grouped by transaction."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from factorflow.bootstrap import Services
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, init_token

#: Statements of one correct HOTP check (user + PIN + OTP, every tokeninfo key there)
#: by dialect, BEGIN included where the driver sends one (SQLite: the prepare's read
#: transaction and the check's BEGIN IMMEDIATE; the audit entries are the last two
#: statements of the check's transaction, ADR 0014).
BOUNDS = {"sqlite": 9, "postgresql": 6, "mysql": 6}


@pytest.fixture
def hotp_realm(client: TestClient, admin_headers: dict[str, str], flatfile_realm: str) -> str:
    """The realm of alice, who has a HOTP token with PIN 1234 and the RFC 4226 key."""
    init_token(client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1234", user="alice")
    return flatfile_realm


def test_a_correct_check_stays_within_its_statements(
    services: Services, client: TestClient, hotp_realm: str, statements: list[str]
) -> None:
    for counter in range(2):  # the first success creates the tokeninfo keys it writes
        statements.clear()
        reply = client.post(
            "/validate/check",
            data={"user": "alice", "realm": hotp_realm, "pass": "1234" + RFC4226_OTPS[counter]},
        )
        assert reply.json()["result"]["authentication"] == "ACCEPT"
    assert len(statements) <= BOUNDS[services.engine.dialect.name], "\n".join(statements)
