"""Issue 5's story: administrators keep LDAP in step with their tokens through scripts.

Enrolling or assigning a token writes its serial into the owner's ``description``;
reaching max fail locks the LDAP account (the script knows only the username); the
help desk resetting the fail counter (knowing only the serial) unlocks it; unassigning
or deleting the token removes the serial. The scripts call ``ldapmodify`` (bound as
the directory's root) against the slapd fixture.

The lock is OpenLDAP's own: the fixture runs the ppolicy overlay, the lock script
writes ``pwdAccountLockedTime: 000001010000Z`` (locked by an administrator) and the
unlock script removes it. The realm authenticates with ``otppin=userstore`` (the PIN
part of ``pass`` is the LDAP password, checked by binding as the user), so while the
account is locked Factorflow itself refuses the right LDAP password with the right
OTP, and accepts the very same ``pass`` once the help desk has reset the counter.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ldap3 import BASE, MODIFY_REPLACE, Connection, Server
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.conftest import USER_PASSWORDS
from tests.factories import define
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX
from tests.users.helpers import ok
from tests.users.ldap.conftest import ldap_options
from tests.users.ldap.slapd import LOCKED_FOREVER, PEOPLE_BASE, ROOT_DN, ROOT_PW, Slapd
from tests.users.ldap.test_ldap_api import ldap_realm

pytestmark = pytest.mark.skipif(shutil.which("ldapmodify") is None, reason="no ldapmodify")

ALICE_DN = f"uid=alice,{PEOPLE_BASE}"
# The arguments the Script handler passes (an argv list); a value with a line break
# could smuggle lines into the LDIF, so it is refused.
ARGS = """serial=""; user=""
while [ $# -gt 0 ]; do
  case "$1" in
    --serial) serial="$2"; shift 2;;
    --user) user="$2"; shift 2;;
    *) shift;;
  esac
done
[ -n "$user" ] && [ "$user" != none ] || { echo "no user" >&2; exit 2; }
case "$user$serial" in *"
"*) echo "line break in an argument" >&2; exit 2;; esac
"""


def ldapmodify(slapd: Slapd, change: str) -> str:
    """``ldapmodify`` as the directory's root (ppolicy's lock attribute is an
    administrator's to write) on the entry of ``$user``, the LDIF on its stdin."""
    return (
        f"exec ldapmodify -x -H '{slapd.ldap_uri}' -D '{ROOT_DN}' -w '{ROOT_PW}' <<EOF\n"
        f"dn: uid=$user,{PEOPLE_BASE}\nchangetype: modify\n{change}\nEOF\n"
    )


def install_scripts(directory: Path, slapd: Slapd) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    scripts = {
        "ldap-add-serial": ldapmodify(slapd, "add: description\ndescription: $serial\n-"),
        "ldap-remove-serial": ldapmodify(slapd, "delete: description\ndescription: $serial\n-"),
        # ppolicy: locked by an administrator, until an administrator unlocks.
        "ldap-lock": ldapmodify(
            slapd, f"replace: pwdAccountLockedTime\npwdAccountLockedTime: {LOCKED_FOREVER}\n-"
        ),
        # A replace without values removes the attribute and is fine when it is absent.
        "ldap-unlock": ldapmodify(slapd, "replace: pwdAccountLockedTime\n-"),
    }
    for name, body in scripts.items():
        path = directory / name
        path.write_text("#!/bin/sh\n" + ARGS + body)
        path.chmod(0o755)


def entry(admin: Connection, login: str) -> dict[str, list[str]]:
    admin.search(f"uid={login},{PEOPLE_BASE}", "(objectClass=*)", BASE,
                 attributes=["description", "pwdAccountLockedTime"])  # fmt: skip
    raw = admin.response[0]["raw_attributes"]
    return {name: [v.decode() for v in raw.get(name, [])]
            for name in ("description", "pwdAccountLockedTime")}  # fmt: skip


def binds(slapd: Slapd, dn: str, password: str) -> tuple[bool, str]:
    """Whether ``dn`` binds with ``password`` straight at slapd, and the result."""
    conn = Connection(Server(slapd.ldap_uri), dn, password)
    try:
        return conn.bind(), str((conn.result or {}).get("description"))
    finally:
        conn.unbind()


@pytest.fixture
def alice_unlocked_after(ldap_admin: Connection) -> Iterator[None]:
    """slapd lives for the whole session: never leave alice locked for other tests."""
    yield
    ldap_admin.modify(ALICE_DN, {"pwdAccountLockedTime": [(MODIFY_REPLACE, [])]})


@pytest.mark.usefixtures("alice_unlocked_after")
def test_ldap_kept_in_step_with_tokens(
    services: Services,
    client: TestClient,
    admin_headers: dict[str, str],
    slapd: Slapd,
    ldap_admin: Connection,
) -> None:
    install_scripts(services.settings.effective_script_directory, slapd)
    ldap_realm(client, admin_headers, ldap_options(slapd))
    # The PIN part of /validate/check's pass is the LDAP password: a bind as the user.
    ok(client.post("/policy/ldap-password-as-pin", headers=admin_headers,
                   data={"scope": "authentication", "action": "otppin=userstore",
                         "realm": "ldaprealm"}))  # fmt: skip
    wait = {"background": "wait", "raise_error": "True", "serial": "True", "user": "True"}
    owned = {"token_has_owner": "True"}
    for event, script, position in [
        ("token_init", "ldap-add-serial", "post"),
        ("token_assign", "ldap-add-serial", "post"),
        ("token_unassign", "ldap-remove-serial", "pre"),  # the owner is gone after it
        ("token_delete", "ldap-remove-serial", "pre"),
        ("token_reset", "ldap-unlock", "post"),
    ]:
        define(client, admin_headers, name=f"{event}-{script}", event=event,
               handlermodule="Script", action=script, position=position,
               options=wait, conditions=owned)  # fmt: skip
    define(client, admin_headers, name="lock-at-max-fail", event="validate_check",
           handlermodule="Script", action="ldap-lock", position="post",
           options={"background": "wait", "user": "True"},
           conditions={"token_locked": "True"})  # fmt: skip

    def call(method: str, path: str, **data: Any) -> Any:
        return ok(client.request(method, path, data=data or None, headers=admin_headers))

    def validate(password: str) -> dict[str, Any]:
        r = client.post("/validate/check",
                        data={"user": "alice", "realm": "ldaprealm", "pass": password})  # fmt: skip
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return {"authentication": body["result"].get("authentication"),
                "message": body["detail"].get("message")}  # fmt: skip

    ldap_password = USER_PASSWORDS["alice"]

    # Enrolled for alice: the serial is in her description; deleted: it is gone.
    call("POST", "/token/init", type="spass", serial="LD1", user="alice",
         realm="ldaprealm", pin="pin1")  # fmt: skip
    assert "LD1" in entry(ldap_admin, "alice")["description"]
    call("DELETE", "/token/LD1")
    description = entry(ldap_admin, "alice")["description"]
    assert "LD1" not in description and description  # her other description stays

    # Enrolled without an owner and assigned later: the serial is written on assign.
    call("POST", "/token/init", type="hotp", serial="LD2", otpkey=RFC_KEY_HEX)
    assert "LD2" not in entry(ldap_admin, "alice")["description"]
    call("POST", "/token/assign", serial="LD2", user="alice", realm="ldaprealm")
    assert "LD2" in entry(ldap_admin, "alice")["description"]
    call("POST", "/token/set", serial="LD2", max_failcount="2")

    # Alice logs in with her LDAP password and an OTP.
    assert validate(ldap_password + RFC4226_OTPS[1])["authentication"] == "ACCEPT"

    # Max fail: the validate event knows only the username; the account gets locked.
    for attempt in range(2):
        assert validate(ldap_password + "000000") == {
            "authentication": "REJECT", "message": "wrong otp value"
        }  # fmt: skip
        locked = entry(ldap_admin, "alice")["pwdAccountLockedTime"]
        assert locked == ([LOCKED_FOREVER] if attempt == 1 else [])

    # The lock is slapd's: alice's own bind is refused, as a wrong password is...
    assert binds(slapd, ALICE_DN, ldap_password) == (False, "invalidCredentials")
    assert binds(slapd, f"uid=bob,{PEOPLE_BASE}", USER_PASSWORDS["bob"]) == (True, "success")
    # ...and Factorflow refuses her right password with a right OTP: the token is at
    # max fail, so it is not asked (no bind either) and answers as for any password.
    locked_out = validate(ldap_password + RFC4226_OTPS[2])
    assert locked_out == {"authentication": "REJECT", "message": "Failcounter exceeded"}
    assert validate("wrong" + RFC4226_OTPS[2]) == locked_out

    # The help desk resets the fail counter knowing only the serial: unlocked, and the
    # very same password and OTP are accepted.
    call("POST", "/token/reset", serial="LD2")
    assert entry(ldap_admin, "alice")["pwdAccountLockedTime"] == []
    assert binds(slapd, ALICE_DN, ldap_password) == (True, "success")
    assert validate(ldap_password + RFC4226_OTPS[2])["authentication"] == "ACCEPT"

    # Unassigned: the serial leaves the description.
    call("POST", "/token/unassign", serial="LD2")
    description = entry(ldap_admin, "alice")["description"]
    assert "LD2" not in description and description
