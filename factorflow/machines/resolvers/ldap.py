"""ldap: computer objects of an LDAP directory as machines (privacyIDEA's LDAP
machine resolver, with its option names).

Machines are the entries under ``LDAPBASE`` matching ``SEARCHFILTER``; the hostname
is ``HOSTNAMEATTRIBUTE``, the addresses ``IPATTRIBUTE`` (optional, several values
allowed) and the machine id ``IDATTRIBUTE`` (``DN`` for the entry's DN). Connections,
failover over ``LDAPURI`` and TLS (``TLS_VERIFY``, ``TLS_CA_FILE``, ``START_TLS``) are
the LDAP user store's (:mod:`factorflow.users.stores.ldap_connect`); a connection is
opened per lookup and closed after it.
"""

from __future__ import annotations

from typing import Any

from ldap3 import SUBTREE
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars
from pydantic import Field, ValidationError, field_validator

from factorflow.core.describe import Secret
from factorflow.core.params import PiBool
from factorflow.machines.base import Machine, MachineFilter, MachineResolver, MachineResolverOptions
from factorflow.machines.errors import MachineResolverError
from factorflow.users.errors import StoreUnavailableError
from factorflow.users.stores.ldap_connect import LdapConnector, describe_failure
from factorflow.users.stores.ldap_options import LdapOptions, checked_filter

ID_DN = "DN"


class LdapMachineOptions(MachineResolverOptions):
    uri: str = Field(
        alias="LDAPURI",
        min_length=1,
        max_length=2048,
        title="Server URI",
        description="ldap://host or ldaps://host[:port]; several form a pool.",
    )
    base: str = Field(alias="LDAPBASE", min_length=1, max_length=1024, title="Search base")
    bind_dn: str = Field(default="", alias="BINDDN", max_length=1024, title="Bind DN")
    bind_password: Secret = Field(
        default="", alias="BINDPW", max_length=1024, title="Bind password"
    )
    search_filter: str = Field(
        default="(objectClass=computer)",
        alias="SEARCHFILTER",
        max_length=2048,
        title="Search filter",
    )
    hostname_attribute: str = Field(
        default="dNSHostName",
        alias="HOSTNAMEATTRIBUTE",
        min_length=1,
        max_length=64,
        title="Hostname attribute",
    )
    ip_attribute: str = Field(
        default="", alias="IPATTRIBUTE", max_length=64, title="IP address attribute"
    )
    id_attribute: str = Field(
        default=ID_DN,
        alias="IDATTRIBUTE",
        min_length=1,
        max_length=64,
        title="Machine id attribute",
        description="DN or an attribute.",
    )
    no_referrals: PiBool = Field(
        default=False, alias="NOREFERRALS", title="Do not follow referrals"
    )
    tls_verify: PiBool = Field(default=True, alias="TLS_VERIFY", title="Verify TLS certificates")
    tls_ca_file: str = Field(
        default="", alias="TLS_CA_FILE", max_length=4096, title="CA certificate file"
    )
    start_tls: PiBool = Field(default=False, alias="START_TLS", title="Use STARTTLS")
    timeout: int = Field(default=5, alias="TIMEOUT", ge=1, le=120, title="Timeout (seconds)")
    size_limit: int = Field(default=1000, alias="SIZELIMIT", ge=1, le=100_000,
                            title="Size limit")  # fmt: skip

    @field_validator("search_filter")
    @classmethod
    def _check_filter(cls, value: str) -> str:
        return checked_filter(value, "(objectClass=computer)")

    def connection_options(self) -> LdapOptions:
        """The LDAP user store's connection options for the same server."""
        return LdapOptions.model_validate(
            {
                "LDAPURI": self.uri, "LDAPBASE": self.base, "BINDDN": self.bind_dn,
                "BINDPW": self.bind_password, "LOGINNAMEATTRIBUTE": self.hostname_attribute,
                "NOREFERRALS": self.no_referrals, "TLS_VERIFY": self.tls_verify,
                "TLS_CA_FILE": self.tls_ca_file, "START_TLS": self.start_tls,
                "TIMEOUT": self.timeout, "POOLSIZE": 1, "SERVERPOOL_SKIP": 0,
            }
        )  # fmt: skip


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _all(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return () if value in (None, "") else (str(value),)


class LdapMachineResolver(MachineResolver):
    type_name = "ldap"
    description = "Computer objects of an LDAP directory"
    Options = LdapMachineOptions

    @property
    def opts(self) -> LdapMachineOptions:
        assert isinstance(self.options, LdapMachineOptions)
        return self.options

    def verify_config(self) -> None:
        try:
            self.opts.connection_options()
        except ValidationError as exc:
            first = exc.errors()[0]
            raise MachineResolverError(
                f"Invalid option {'.'.join(map(str, first['loc']))!r}: {first['msg']}"
            ) from None

    def _term(self, wanted: MachineFilter) -> str:
        opts, terms = self.opts, []
        if wanted.hostname:
            terms.append(f"({opts.hostname_attribute}={escape_filter_chars(wanted.hostname)})")
        if wanted.ip and opts.ip_attribute:
            terms.append(f"({opts.ip_attribute}={escape_filter_chars(wanted.ip)})")
        if wanted.id and opts.id_attribute != ID_DN:
            terms.append(f"({opts.id_attribute}={escape_filter_chars(wanted.id)})")
        return f"(&{opts.search_filter}{''.join(terms)})"

    def _entries(self, query: str) -> list[dict[str, Any]]:
        opts = self.opts
        attributes = [opts.hostname_attribute]
        attributes += [a for a in (opts.ip_attribute, opts.id_attribute) if a and a != ID_DN]
        connector = LdapConnector(self.name, opts.connection_options())
        try:
            with connector.service(fresh=True) as (conn, _):
                conn.search(
                    opts.base, query, search_scope=SUBTREE, attributes=attributes,
                    size_limit=opts.size_limit, time_limit=opts.timeout,
                )  # fmt: skip
                result = dict(conn.result or {})
                entries = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
        except StoreUnavailableError as exc:
            raise MachineResolverError(
                exc.message.replace("User store", "Machine resolver")
            ) from None
        except (ldap_errors.LDAPException, OSError) as exc:
            raise MachineResolverError(
                f"Machine resolver {self.name!r}: {describe_failure(exc)}"
            ) from None
        finally:
            connector.close()
        if result.get("result", 0) not in (0, 4):  # success, size limit exceeded
            raise MachineResolverError(
                f"Machine resolver {self.name!r}: LDAP search failed "
                f"({result.get('description', result.get('result'))})"
            )
        return entries

    def machines(self, wanted: MachineFilter) -> list[Machine]:
        opts, found = self.opts, []
        for entry in self._entries(self._term(wanted)):
            attrs = entry.get("attributes", {})
            hostname = _first(attrs.get(opts.hostname_attribute))
            ident = (
                entry["dn"] if opts.id_attribute == ID_DN else _first(attrs.get(opts.id_attribute))
            )
            if not hostname or not ident:
                continue
            ips = _all(attrs.get(opts.ip_attribute)) if opts.ip_attribute else ()
            machine = Machine(self.name, ident, hostname, ips)
            if wanted.matches(machine):
                found.append(machine)
        return sorted(found, key=lambda m: (m.hostname.lower(), m.id))
