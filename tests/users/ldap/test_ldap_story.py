"""Issue 5's story: administrators keep LDAP in step with their tokens through scripts.

Enrolling or assigning a token writes its serial into the owner's ``description``;
reaching max fail locks the LDAP account (the script knows only the username); the
help desk resetting the fail counter (knowing only the serial) unlocks it; unassigning
or deleting the token removes the serial. The scripts call ``ldapmodify`` against the
slapd fixture. slapd here has no ppolicy overlay, so "locked" is modelled as
``employeeType: locked`` on the entry.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from ldap3 import BASE, Connection
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.users.helpers import ok
from tests.users.ldap.conftest import ldap_options
from tests.users.ldap.slapd import PEOPLE_BASE, ROOT_DN, ROOT_PW, Slapd
from tests.users.ldap.test_ldap_api import ldap_realm

pytestmark = pytest.mark.skipif(shutil.which("ldapmodify") is None, reason="no ldapmodify")

ARGS = """serial=""; user=""
while [ $# -gt 0 ]; do
  case "$1" in
    --serial) serial="$2"; shift 2;;
    --user) user="$2"; shift 2;;
    *) shift;;
  esac
done
[ -n "$user" ] && [ "$user" != none ] || { echo "no user" >&2; exit 2; }
"""


def ldapmodify(slapd: Slapd, change: str) -> str:
    return (
        f"ldapmodify -x -H '{slapd.ldap_uri}' -D '{ROOT_DN}' -w '{ROOT_PW}' <<EOF\n"
        f"dn: uid=$user,{PEOPLE_BASE}\nchangetype: modify\n{change}\nEOF\n"
    )


def install_scripts(directory: Path, slapd: Slapd) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    scripts = {
        "ldap-add-serial": ldapmodify(slapd, "add: description\ndescription: $serial\n-"),
        "ldap-remove-serial": ldapmodify(slapd, "delete: description\ndescription: $serial\n-"),
        "ldap-lock": ldapmodify(slapd, "replace: employeeType\nemployeeType: locked\n-"),
        "ldap-unlock": ldapmodify(slapd, "replace: employeeType\n-"),
    }
    for name, body in scripts.items():
        path = directory / name
        path.write_text("#!/bin/sh\n" + ARGS + body)
        path.chmod(0o755)


def define(client: TestClient, headers: dict[str, str], **fields: Any) -> None:
    data: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "options":
            data.update({f"option.{k}": v for k, v in value.items()})
        elif key == "conditions":
            data["conditions"] = json.dumps(value)
        else:
            data[key] = value
    ok(client.post("/event", data=data, headers=headers))


def entry(admin: Connection, login: str) -> dict[str, list[str]]:
    admin.search(f"uid={login},{PEOPLE_BASE}", "(objectClass=*)", BASE,
                 attributes=["description", "employeeType"])  # fmt: skip
    found = admin.entries[0]
    return {
        "description": [str(v) for v in found.description.values],
        "employeeType": [str(v) for v in found.employeeType.values],
    }


def test_ldap_kept_in_step_with_tokens(
    services: Services,
    client: TestClient,
    admin_headers: dict[str, str],
    slapd: Slapd,
    ldap_admin: Connection,
) -> None:
    install_scripts(services.settings.effective_script_directory, slapd)
    ldap_realm(client, admin_headers, ldap_options(slapd))
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

    # Enrolled for alice: the serial is in her description; deleted: it is gone.
    call("POST", "/token/init", type="spass", serial="LD1", user="alice",
         realm="ldaprealm", pin="pin1")  # fmt: skip
    assert "LD1" in entry(ldap_admin, "alice")["description"]
    call("DELETE", "/token/LD1")
    description = entry(ldap_admin, "alice")["description"]
    assert "LD1" not in description and description  # her other description stays

    # Enrolled without an owner and assigned later: the serial is written on assign.
    call("POST", "/token/init", type="spass", serial="LD2", pin="pin2")
    assert "LD2" not in entry(ldap_admin, "alice")["description"]
    call("POST", "/token/assign", serial="LD2", user="alice", realm="ldaprealm", pin="pin2")
    assert "LD2" in entry(ldap_admin, "alice")["description"]
    call("POST", "/token/set", serial="LD2", max_failcount="2")

    # Max fail: validate with the username only; the account gets locked.
    for _ in range(2):
        r = client.post("/validate/check",
                        data={"user": "alice", "realm": "ldaprealm", "pass": "wrong"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert entry(ldap_admin, "alice")["employeeType"] == [] or _ == 1
    assert entry(ldap_admin, "alice")["employeeType"] == ["locked"]

    # The help desk resets the fail counter knowing only the serial: unlocked.
    call("POST", "/token/reset", serial="LD2")
    assert entry(ldap_admin, "alice")["employeeType"] == []

    # Unassigned: the serial leaves the description.
    call("POST", "/token/unassign", serial="LD2")
    description = entry(ldap_admin, "alice")["description"]
    assert "LD2" not in description and description
