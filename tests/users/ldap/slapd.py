"""A throw-away OpenLDAP slapd for the LDAP user-store tests.

:func:`start_slapd` writes a ``slapd.conf`` (an mdb database for ``dc=example,dc=org``,
TLS with a certificate from a CA made here, a small AD-style schema), loads the test
tree with ``slapadd`` and runs ``slapd -d 0`` in the foreground on free loopback ports
for ldap:// (STARTTLS offered) and ldaps://.

The ppolicy overlay (RFC draft behera-ldap-password-policy; its schema is built into
the module since OpenLDAP 2.5) is on, with :data:`POLICY_DN` as the default policy:
``pwdLockout: TRUE`` so that ``pwdAccountLockedTime`` takes effect, but
``pwdMaxFailure: 0`` so that failed binds never lock an account by themselves (the
other tests bind with wrong passwords on purpose). An account is locked only by an
administrator writing ``pwdAccountLockedTime: 000001010000Z`` (:data:`LOCKED_FOREVER`)
and unlocked by removing it; while locked, every bind as it fails with
invalidCredentials, as a wrong password does.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import USER_PASSWORDS
from tests.users.conftest import PEOPLE

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "root-secret-1"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PW = "reader-secret-1"
PEOPLE_BASE = f"ou=people,{SUFFIX}"
AD_BASE = f"ou=ad,{SUFFIX}"
POLICY_DN = f"cn=default,ou=policies,{SUFFIX}"
#: ppolicy's value for "locked by an administrator until an administrator unlocks".
LOCKED_FOREVER = "000001010000Z"
#: A user whose login is made of LDAP filter metacharacters.
ODD_LOGIN = "odd*(user)\\x"
ODD_PASSWORD = "odd-pass-1"
#: AD-style users: sAMAccountName → (objectGUID, password).
AD_USERS = {
    "Dave.Admin": (uuid.UUID("3f2504e0-4f89-11d3-9a0c-0305e82c3301"), "dave-pass-1"),
    "erin": (uuid.UUID("00112233-4455-6677-8899-aabbccddeeff"), "erin-pass-1"),
}
SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")

# Microsoft's OIDs for the two AD attributes (with matching rules, which the
# msuser.schema shipped with OpenLDAP lacks); the auxiliary class sits in
# OpenLDAP's experimental arc 1.3.6.1.4.1.4203.666.
AD_SCHEMA = """\
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
    EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID'
    EQUALITY octetStringMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.9.1 NAME 'factorflowAdUser'
    SUP top AUXILIARY MAY ( sAMAccountName $ objectGUID ) )
"""


def slapd_missing() -> str | None:
    """Why slapd cannot run here, or None."""
    for path in (SLAPD, SLAPADD):
        if not os.access(path, os.X_OK):
            return f"OpenLDAP's {Path(path).name} is not installed (Debian: slapd)"
    needed = (MODULE_DIR / "back_mdb.la", MODULE_DIR / "ppolicy.la", SCHEMA_DIR / "core.schema")
    if not all(path.exists() for path in needed):
        return "slapd's back_mdb or ppolicy module or core schema is missing (Debian: slapd)"
    return None


def ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # slapd's {SSHA} scheme
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Pki:
    ca_file: Path
    other_ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
    encipher_only=False, decipher_only=False,
)  # fmt: skip


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1/localhost, and an unrelated CA."""
    ca_key, ca_cert = _ca("Factorflow Test CA")
    _, other_cert = _ca("Some Other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    pki = Pki(
        directory / "ca.pem", directory / "other-ca.pem", directory / "server.pem",
        directory / "server.key",
    )  # fmt: skip
    pki.ca_file.write_bytes(ca_cert.public_bytes(pem))
    pki.other_ca_file.write_bytes(other_cert.public_bytes(pem))
    pki.cert_file.write_bytes(cert.public_bytes(pem))
    pki.key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pki.key_file.chmod(0o600)
    return pki


def _entry(dn: str, **attributes: str | list[str]) -> str:
    lines = [f"dn: {dn}"]
    for name, value in attributes.items():
        for item in value if isinstance(value, list) else [value]:
            if name.endswith("__b64"):
                lines.append(f"{name.removesuffix('__b64')}:: {item}")
            else:
                lines.append(f"{name}: {item}")
    return "\n".join(lines) + "\n"


def test_tree() -> str:
    """The test directory as LDIF."""
    entries = [
        _entry(SUFFIX, objectClass=["top", "dcObject", "organization"], o="Example", dc="example"),
        _entry(
            READER_DN,
            objectClass=["organizationalRole", "simpleSecurityObject"],
            cn="reader",
            userPassword=ssha(READER_PW),
        ),
        _entry(PEOPLE_BASE, objectClass="organizationalUnit", ou="people"),
        _entry(AD_BASE, objectClass="organizationalUnit", ou="ad"),
        _entry(f"ou=policies,{SUFFIX}", objectClass="organizationalUnit", ou="policies"),
        _entry(
            POLICY_DN,
            objectClass=["organizationalRole", "pwdPolicy"],
            cn="default",
            pwdAttribute="userPassword",
            pwdLockout="TRUE",
            pwdMaxFailure="0",
            pwdMaxAge="0",
            pwdMustChange="FALSE",
            pwdAllowUserChange="TRUE",
        ),
    ]
    for login, (_uid, given, sur, phone, mobile, mail) in PEOPLE.items():
        attributes: dict[str, str | list[str]] = {
            "objectClass": "inetOrgPerson",
            "uid": login,
            "cn": f"{given} {sur}",
            "givenName": given,
            "sn": sur,
            "mail": mail,
            "userPassword": ssha(USER_PASSWORDS[login]),
            "description": f"{given} {sur}",
        }
        if phone:
            attributes["telephoneNumber"] = phone
        if mobile:
            attributes["mobile"] = mobile
        entries.append(_entry(f"uid={login},{PEOPLE_BASE}", **attributes))
    entries.append(
        _entry(
            f"cn=Odd User,{PEOPLE_BASE}",
            objectClass="inetOrgPerson",
            uid=ODD_LOGIN,
            cn="Odd User",
            sn="User",
            givenName="Odd",
            mail="odd@example.com",
            userPassword=ssha(ODD_PASSWORD),
        )
    )
    for sam, (guid, password) in AD_USERS.items():
        entries.append(
            _entry(
                f"cn={sam},{AD_BASE}",
                objectClass=["inetOrgPerson", "factorflowAdUser"],
                cn=sam,
                sn=sam.split(".")[-1],
                givenName=sam.split(".")[0],
                sAMAccountName=sam,
                objectGUID__b64=base64.b64encode(guid.bytes_le).decode(),
                mail=f"{sam.lower()}@ad.example.org",
                userPassword=ssha(password),
            )
        )
    return "\n".join(entries)


SLAPD_CONF = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {root}/ad.schema
pidfile {root}/slapd.pid
argsfile {root}/slapd.args
modulepath {modules}
moduleload back_mdb
moduleload ppolicy
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
sizelimit 1000

database mdb
maxsize 33554432
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {root}/db
access to attrs=userPassword
    by anonymous auth
    by self write
    by * none
access to * by * read
overlay ppolicy
ppolicy_default "{policy}"
"""


@dataclass
class Slapd:
    process: subprocess.Popen[bytes]
    ldap_port: int
    ldaps_port: int
    pki: Pki
    root: Path
    log: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ldap_uri(self) -> str:
        return f"ldap://127.0.0.1:{self.ldap_port}"

    @property
    def ldaps_uri(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _wait_until_listening(slapd: Slapd, deadline: float) -> None:
    while time.monotonic() < deadline:
        if slapd.process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", slapd.ldap_port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    slapd.stop()
    raise RuntimeError(f"slapd did not start; see {slapd.log}:\n{slapd.log.read_text()[-3000:]}")


def start_slapd(root: Path) -> Slapd:
    pki = make_pki(root)
    (root / "db").mkdir()
    (root / "ad.schema").write_text(AD_SCHEMA)
    conf = root / "slapd.conf"
    conf.write_text(
        SLAPD_CONF.format(
            schema=SCHEMA_DIR, root=root, modules=MODULE_DIR, ca=pki.ca_file,
            cert=pki.cert_file, key=pki.key_file, suffix=SUFFIX, rootdn=ROOT_DN, rootpw=ROOT_PW,
            policy=POLICY_DN,
        )
    )  # fmt: skip
    (root / "tree.ldif").write_text(test_tree())
    subprocess.run(
        [SLAPADD, "-q", "-f", str(conf), "-l", str(root / "tree.ldif")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    for _attempt in range(3):  # a free port may be taken between choosing and binding it
        ldap_port, ldaps_port = free_port(), free_port()
        urls = f"ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"
        log = root / "slapd.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [SLAPD, "-f", str(conf), "-h", urls, "-d", "0"],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        slapd = Slapd(process, ldap_port, ldaps_port, pki, root, log)
        try:
            _wait_until_listening(slapd, time.monotonic() + 15)
        except RuntimeError:
            if _attempt == 2:
                raise
            continue
        return slapd
    raise AssertionError("unreachable")
