"""Issue 2's story, end to end through the HTTP API: an admin connects a flat-file
and a SQL user store, makes a realm, enrols HOTP and TOTP tokens, users authenticate,
a token locks by failing, the help desk resets it, and the audit tells it all."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from tests.factories import passwd_line
from tests.tokens.helpers import RFC_KEY, RFC_KEY_HEX, check, get_token, hotp, init_token, ok, totp
from tests.users.conftest import SqlUserDb


def test_the_core_story(
    client: TestClient, admin_headers: dict[str, str], tmp_path: object, sqlite_userdb: SqlUserDb
) -> None:
    from pathlib import Path

    passwd = Path(str(tmp_path)) / "staff.passwd"
    passwd.write_text(
        passwd_line("dora", 2000, "dora-pass-1", "Dora Diaz,,,,dora@example.com") + "\n"
    )
    ok(
        client.post(
            "/resolver/files",
            data={"type": "passwdresolver", "fileName": str(passwd)},
            headers=admin_headers,
        )
    )
    ok(
        client.post(
            "/resolver/sqlpeople",
            json={"type": "sqlresolver", **sqlite_userdb.options()},
            headers=admin_headers,
        )
    )
    ok(
        client.post(
            "/realm/staff",
            data={"resolvers": "files,sqlpeople", "priority.files": "1", "priority.sqlpeople": "2"},
            headers=admin_headers,
        )
    )

    users = ok(client.get("/user/", params={"realm": "staff"}, headers=admin_headers))["result"][
        "value"
    ]
    logins = {u["username"] for u in users}
    assert {"dora", "alice", "bob"} <= logins

    # HOTP for dora (flat file) with the RFC 4226 key, TOTP for alice (SQL store).
    hotp_serial = init_token(
        client,
        admin_headers,
        type="hotp",
        otpkey=RFC_KEY_HEX,
        pin="1234",
        user="dora",
        realm="staff",
    )["detail"]["serial"]
    enrolled = init_token(
        client,
        admin_headers,
        type="totp",
        otpkey=RFC_KEY_HEX,
        pin="9876",
        user="alice",
        realm="staff",
    )
    totp_serial = enrolled["detail"]["serial"]
    assert enrolled["detail"]["googleurl"]["value"].startswith("otpauth://totp/")
    assert enrolled["detail"]["googleurl"]["img"].startswith("data:image/png;base64,")

    accepted = check(client, user="dora", realm="staff", **{"pass": "1234" + hotp(0)})
    assert accepted["result"]["value"] is True
    assert accepted["result"]["authentication"] == "ACCEPT"
    assert accepted["detail"]["serial"] == hotp_serial
    assert (
        check(client, user="alice", realm="staff", **{"pass": "9876" + totp(RFC_KEY)})["result"][
            "value"
        ]
        is True
    )
    assert (
        check(client, user="dora", realm="staff", **{"pass": "1234" + hotp(0)})["result"]["value"]
        is False
    )  # replay

    # Lock dora's token by failing: max_failcount 3, three wrong OTPs with the right PIN.
    ok(
        client.post(
            "/token/set", data={"serial": hotp_serial, "max_failcount": 3}, headers=admin_headers
        )
    )
    for _ in range(3):
        failed = check(client, user="dora", realm="staff", **{"pass": "1234000000"})
        assert failed["result"]["authentication"] == "REJECT"
    locked = check(client, user="dora", realm="staff", **{"pass": "1234" + hotp(1)})
    assert locked["result"]["value"] is False
    assert "Failcounter exceeded" in locked["detail"]["message"]
    assert get_token(client, admin_headers, hotp_serial)["failcount"] == 3

    # The help desk resets the fail counter; the next OTP works.
    ok(client.post(f"/token/reset/{hotp_serial}", headers=admin_headers))
    assert (
        check(client, user="dora", realm="staff", **{"pass": "1234" + hotp(2)})["result"]["value"]
        is True
    )
    assert get_token(client, admin_headers, hotp_serial)["failcount"] == 0

    # The audit tells the story, signed.
    audit = ok(
        client.get(
            "/audit/",
            params={"serial": hotp_serial, "page_size": 50, "sortorder": "asc"},
            headers=admin_headers,
        )
    )
    rows = audit["result"]["value"]["auditdata"]
    actions = [(r["action"], r["authentication"], r["success"]) for r in rows]
    assert ("POST /token/init", "", 1) in actions
    assert ("POST /validate/check", "ACCEPT", 1) in actions
    assert ("POST /validate/check", "REJECT", 0) in actions
    assert ("POST /token/reset/<serial>", "", 1) in actions
    assert all(r["sig_check"] == "OK" for r in rows)
    assert {r["user"] for r in rows if r["action"] == "POST /validate/check"} == {"dora"}
    assert {r["realm"] for r in rows if r["action"] == "POST /validate/check"} == {"staff"}
    assert json.dumps(rows).count(totp_serial) == 0
