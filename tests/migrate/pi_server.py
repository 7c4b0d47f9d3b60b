"""A privacyIDEA 3.14 (or eduMFA 2.x) installation for the migration tests: installed
from PyPI into the benchmark's cached venv, set up with ``pi-manage`` (``edumfa-manage``),
started with gunicorn (the benchmark's :class:`bench.products.PrivacyIdea`), provisioned
through its REST API."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.products import PRIVACYIDEA, PRIVACYIDEA_DEFAULT_ARGON2, Flavour, PrivacyIdea

KEY = bytes.fromhex("3132333435363738393031323334353637383930")
#: The mOTP token's init-secret and mOTP PIN.
MOTP_SECRET, MOTP_PIN = "1234567890123456", "1234"
ADMIN_PASSWORD = "pi-admin-pass-1"
HELPDESK_PASSWORD = "helpdesk-pass-1"
TELL_OWNER = {
    "name": "tell-owner",
    "event": "token_disable",
    "handlermodule": "UserNotification",
    "action": "sendmail",
    "option.emailconfig": "mail1",
    "option.To": "tokenowner",
    "option.subject": "disabled",
    "option.body": "{serial} was disabled",
    "position": "post",
    "ordering": "3",
    # eduMFA requires the conditions (privacyIDEA takes none as none).
    "conditions": "{}",
}


def hotp(key: bytes, counter: int, digits: int = 6) -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 15
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


@dataclass
class ProvisionedPi:
    """What the provisioning left in privacyIDEA, for the checks after migrating."""

    server: PrivacyIdea
    users_file: Path
    #: The TOTP step privacyIDEA accepted last.
    totp_step: int = 0
    registration_code: str = ""
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def pi_cfg(self) -> Path:
        return self.server.cfg_path()


def copy_installation(original: Path, copy: Path) -> PrivacyIdea:
    """A copy of the SQLite installation in ``original`` (not started), its files
    naming their new place."""
    shutil.copytree(original, copy, ignore=shutil.ignore_patterns("*.log"))
    for name in ("pi.cfg", "piapp.py"):
        path = copy / name
        path.write_text(path.read_text().replace(str(original), str(copy)))
    return PrivacyIdea(
        name="privacyidea",
        label="privacyIDEA 3.14",
        data_dir=copy,
        database_url="",
        argon2=PRIVACYIDEA_DEFAULT_ARGON2,
        admin_password=ADMIN_PASSWORD,
    )


def install(data_dir: Path, database_url: str, flavour: Flavour = PRIVACYIDEA) -> PrivacyIdea:
    server = PrivacyIdea(
        name=flavour.package,
        label=f"{flavour.package} {flavour.version}",
        data_dir=data_dir,
        database_url=database_url,
        argon2=PRIVACYIDEA_DEFAULT_ARGON2,
        admin_password=ADMIN_PASSWORD,
        flavour=flavour,
    )
    server.setup()
    server.manage("admin", "add", "helpdesk", "-p", HELPDESK_PASSWORD)
    return server


def provision(server: PrivacyIdea, users_file: Path) -> ProvisionedPi:
    """Users, realm, tokens of each kind with PINs and used counters, a disabled and a
    revoked token, tokeninfo, a token group, definitions, a policy, SMTP, SMS, a
    privacyIDEA server."""
    users_file.write_text(
        "alice:x:1000:1000:Alice A,,,+4912345,alice@example.com:/home/alice:/bin/sh\n"
        "bob:x:1001:1001:Bob B:/home/bob:/bin/sh\n"
        "carol:x:1002:1002:Carol C:/home/carol:/bin/sh\n"
    )
    pi = ProvisionedPi(server, users_file)
    # eduMFA names privacyIDEA's server definitions and SMS modules after itself.
    package = server.flavour.package
    server.login()
    call = server.call
    call("POST", "/resolver/users", {"type": "passwdresolver", "fileName": str(users_file)})
    call("POST", "/realm/r1", {"resolvers": "users"})
    call("POST", "/defaultrealm/r1")
    call("POST", "/tokengroup/grp1", {"description": "group one"})
    key = KEY.hex()
    enrol = [
        {"type": "hotp", "otpkey": key, "pin": "hp1", "user": "alice", "serial": "HOTP1"},
        {"type": "totp", "otpkey": key, "pin": "tp1", "user": "bob", "serial": "TOTP1"},
        {"type": "spass", "pin": "sp1secret", "user": "alice", "serial": "SPASS1"},
        {
            "type": "email",
            "otpkey": key,
            "pin": "ep1",
            "email": "alice@example.com",
            "user": "alice",
            "serial": "EMAIL1",
        },
        {
            "type": "sms",
            "otpkey": key,
            "pin": "smp1",
            "phone": "+4912345",
            "user": "alice",
            "serial": "SMS1",
        },
        {"type": "hotp", "otpkey": key, "pin": "dis1", "serial": "HOTPDIS"},
        {"type": "hotp", "otpkey": key, "pin": "rev1", "serial": "HOTPREV"},
        {"type": "pw", "otpkey": "pwtokenpass", "serial": "PW1"},
        {"type": "motp", "otpkey": MOTP_SECRET, "motppin": MOTP_PIN, "serial": "MOTP1"},
        {"type": "tan", "tans": "111111 222222", "serial": "TAN1"},
    ]
    for params in enrol:
        call(
            "POST",
            "/token/init",
            {"realm": "r1", "description": f"pi {params['serial']}", **params},
        )
    detail = httpx_init(server, {"type": "registration", "serial": "REG1", "user": "bob"})
    pi.registration_code = detail["registrationcode"]
    call("POST", "/token/disable", {"serial": "HOTPDIS"})
    call("POST", "/token/revoke", {"serial": "HOTPREV"})
    call("POST", "/token/info/HOTP1/custom", {"value": "hello"})
    call("POST", "/token/group/HOTP1", {"groups": "grp1"})
    call("POST", "/token/set", {"serial": "HOTP1", "max_failcount": "7"})
    call("POST", "/token/set", {"serial": "SPASS1", "validity_period_end": "2099-01-01T00:00+0000"})
    call(
        "POST",
        "/smtpserver/mail1",
        {
            "server": "127.0.0.1",
            "port": "2525",
            "sender": "pi@example.com",
            "username": "u",
            "password": "smtppw",
            "tls": "0",
        },
    )
    call(
        "POST",
        "/smsgateway",
        {
            "name": "gw1",
            "module": f"{package}.lib.smsprovider.HttpSMSProvider.HttpSMSProvider",
            "option.URL": "http://127.0.0.1:9/sms",
            "option.HTTP_METHOD": "POST",
            "option.USERNAME": "smsuser",
            "option.PASSWORD": "smspw",
            "option.text": "{otp}",
            "option.phone": "{phone}",
        },
    )
    call(
        "POST",
        f"/{package}server/remote1",
        {"url": "https://mfa.example.org/", "tls": "0", "description": "the other one"},
    )
    call(
        "POST",
        "/policy/pol1",
        {"scope": "authentication", "action": "passOnNoToken", "realm": "r1", "active": "true"},
    )
    call(
        "POST",
        "/event",
        {
            "name": "count-logins",
            "event": "validate_check, token_init",
            "handlermodule": "Counter",
            "action": "increase_counter",
            "option.counter_name": "logins",
            "conditions": '{"result_value": "True"}',
            "position": "post",
            "active": "true",
        },
    )
    call("POST", "/event", TELL_OWNER)
    # Used counters: HOTP 0 and 1, TOTP now; a wrong OTP for SMS1's fail counter.
    for counter in (0, 1):
        assert check(server, "HOTP1", "hp1" + hotp(KEY, counter))
    pi.totp_step = int(time.time() // 30)
    assert check(server, "TOTP1", "tp1" + hotp(KEY, pi.totp_step))
    assert not check(server, "SMS1", "smp1000000")
    assert not check(server, "HOTPDIS", "dis1" + hotp(KEY, 0))
    return pi


def provision_edumfa_names(server: PrivacyIdea) -> None:
    """Definitions that use what eduMFA renamed: its server definitions' rights, its
    node column, its webhook handler module, its Federation handler's option."""
    call = server.call
    call(
        "POST",
        "/event",
        {
            "name": "hook",
            "event": "token_init",
            "handlermodule": "WebHookHandler",
            "action": "post_webhook",
            "option.URL": "http://127.0.0.1:9/hook",
            "option.content_type": "json",
            "option.replace": "False",
            "option.data": "{}",
            "conditions": "{}",
            "position": "post",
        },
    )
    call(
        "POST",
        "/event",
        {
            "name": "forward",
            "event": "token_unassign",
            "handlermodule": "Federation",
            "action": "forward",
            "option.eduMFA": "remote1",
            "conditions": "{}",
            "position": "post",
        },
    )
    call(
        "POST",
        "/policy/node-only",
        {"scope": "authentication", "action": "passOnNoUser", "realm": "r1", "edumfanode": "bench"},
    )
    # Last: once an admin policy exists, admins it does not name may do nothing.
    call(
        "POST",
        "/policy/helpdesk-servers",
        {
            "scope": "admin",
            "action": "edumfaserver_read, edumfaserver_write, tokenlist",
            "realm": "r1",
            "adminuser": "helpdesk",
            "active": "true",
        },
    )


def check(server: PrivacyIdea, serial: str, password: str) -> bool:
    value = server.call("POST", "/validate/check", {"serial": serial, "pass": password}, auth=False)
    return bool(value)


def httpx_init(server: PrivacyIdea, params: dict[str, str]) -> dict[str, str]:
    import httpx

    response = httpx.post(
        server.base_url + "/token/init",
        data={"realm": "r1", **params},
        headers={"Authorization": server.auth_token},
        timeout=60,
    )
    response.raise_for_status()
    detail: dict[str, str] = response.json()["detail"]
    return detail
