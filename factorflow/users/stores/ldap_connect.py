"""Connections of the LDAP user store: failover over ``LDAPURI``, TLS, a bounded
pool of bound service connections, and binds as a user to check a password.

Failover is ldap3's :class:`~ldap3.ServerPool` with the FIRST strategy: the first
reachable URI is used; a URI that failed is skipped for ``SERVERPOOL_SKIP`` seconds;
after ``SERVERPOOL_ROUNDS`` rounds without a reachable server the call fails. Every
socket operation is bounded by ``TIMEOUT`` (connect and each response).

Every ldap3 or socket failure leaves this module as
:class:`~factorflow.users.errors.StoreUnavailableError` with a message naming the
kind of failure, never the bind password.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import ldap3
from ldap3 import FIRST, SIMPLE, SYNC, Connection, Server, ServerPool, Tls
from ldap3.core import exceptions as ldap_errors

from factorflow.users.errors import StoreUnavailableError
from factorflow.users.stores.ldap_options import LdapOptions

__all__ = ["LdapConnector", "describe_failure", "is_timeout"]

RESULT_INVALID_CREDENTIALS = 49
RESULT_NO_SUCH_OBJECT = 32
RESULT_SIZE_LIMIT_EXCEEDED = 4

# ldap3 sleeps this long after every failed round of the server pool (10 s by
# default), which would make an unreachable directory hang far past TIMEOUT.
# The setting is process-wide in ldap3; only the user stores use ldap3.
ldap3.set_config_parameter("POOLING_LOOP_TIMEOUT", 0)


class _VerifyingTls(Tls):  # type: ignore[misc]  # ldap3 has no type information
    """TLS for LDAPS and STARTTLS that lets Python's ssl module check the chain
    *and* the host name (ldap3 checks names with ``ssl.match_hostname``, which is
    deprecated and gone in Python 3.12)."""

    def __init__(self, *, verify: bool, ca_file: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED if verify else ssl.CERT_NONE)
        self._verify = verify
        self._ca_file = ca_file or None

    def context(self) -> ssl.SSLContext:
        if not self._verify:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=self._ca_file)

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        connection.socket = self.context().wrap_socket(
            connection.socket,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=connection.server.host,
        )


TIMED_OUT = "the LDAP server did not answer within TIMEOUT"


def is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, ldap_errors.LDAPResponseTimeoutError | TimeoutError):
        return True
    return "timed out" in str(exc) or "timeout" in str(exc).lower()


def describe_failure(exc: BaseException) -> str:
    """A short, secret-free reason for an ldap3 or socket failure."""
    text = str(exc).lower()
    if is_timeout(exc):
        return TIMED_OUT
    if isinstance(exc, ssl.SSLError) or "certificate" in text or "ssl" in text:
        return "TLS failed (check TLS_CA_FILE, TLS_VERIFY and the server certificate)"
    if isinstance(exc, ldap_errors.LDAPStartTLSError):
        return "STARTTLS failed"
    if isinstance(exc, ldap_errors.LDAPServerPoolExhaustedError):
        return "no LDAP server of LDAPURI is reachable"
    if isinstance(exc, ldap_errors.LDAPSocketOpenError | ConnectionError):
        return "cannot connect to the LDAP server"
    return f"LDAP error ({type(exc).__name__})"


class LdapConnector:
    """Opens connections for one store configuration; thread-safe.

    ``service()`` lends a connection bound as ``BINDDN`` (anonymous when empty) from
    a pool of at most ``pool_size`` connections; ``bind_as()`` opens a connection of
    its own for every password check and closes it at once.
    """

    def __init__(self, store_name: str, options: LdapOptions) -> None:
        self.store_name = store_name
        self.options = options
        tls = _VerifyingTls(verify=options.tls_verify, ca_file=options.tls_ca_file)
        servers = [
            Server(
                s.host,
                port=s.port,
                use_ssl=s.use_ssl,
                tls=tls,
                get_info=ldap3.NONE,
                connect_timeout=options.timeout,
            )
            for s in options.servers()
        ]
        self.pool = ServerPool(
            servers,
            pool_strategy=FIRST,
            active=options.serverpool_rounds,
            exhaust=options.serverpool_skip or False,
        )
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(options.pool_size)
        self._closed = False

    @property
    def idle(self) -> tuple[Connection, ...]:
        """The pooled service connections not lent out now (at most ``pool_size``)."""
        with self._lock:
            return tuple(self._idle)

    def fail(self, reason: str) -> StoreUnavailableError:
        return StoreUnavailableError(f"User store {self.store_name!r}: {reason}")

    def _open(self, user: str | None, password: str | None) -> Connection:
        """A connection, TLS started if configured, bound as ``user``; raises
        StoreUnavailableError, or returns an unbound connection on a refused bind
        (the caller reads ``conn.result``)."""
        opts = self.options
        conn = Connection(
            self.pool,
            user=user,
            password=password,
            authentication=SIMPLE if user else ldap3.ANONYMOUS,
            client_strategy=SYNC,
            auto_bind=ldap3.AUTO_BIND_NONE,
            receive_timeout=opts.timeout,
            auto_referrals=not opts.no_referrals,
            read_only=True,
            raise_exceptions=False,
            return_empty_attributes=False,
        )
        try:
            conn.open(read_server_info=False)
            if opts.start_tls and not conn.server.ssl:
                conn.start_tls(read_server_info=False)
            conn.bind(read_server_info=False)
        except (ldap_errors.LDAPException, OSError) as exc:
            _quietly_unbind(conn)
            raise self.fail(describe_failure(exc)) from None
        return conn

    def _open_service(self) -> Connection:
        opts = self.options
        conn = self._open(opts.bind_dn or None, opts.bind_password or None)
        if not conn.bound:
            result = conn.result or {}
            _quietly_unbind(conn)
            if result.get("result") == RESULT_INVALID_CREDENTIALS:
                raise self.fail("the LDAP server refused BINDDN and BINDPW (invalid credentials)")
            raise self.fail(f"bind as BINDDN failed ({result.get('description', 'unknown')})")
        return conn

    @contextmanager
    def service(self, *, fresh: bool = False) -> Iterator[tuple[Connection, bool]]:
        """A bound service connection for one operation and whether it was reused
        from the pool (never with ``fresh``). A connection whose use raised is
        dropped, not pooled."""
        if not self._slots.acquire(timeout=self.options.timeout):
            raise self.fail("all LDAP connections are busy")
        conn: Connection | None = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle and not fresh else None
            reused = conn is not None and not conn.closed
            if conn is None or not reused:
                conn = self._open_service()
            yield conn, reused
        except BaseException:
            if conn is not None:
                _quietly_unbind(conn)
            conn = None
            raise
        finally:
            if conn is not None:
                with self._lock:
                    keep = not self._closed
                    if keep:
                        self._idle.append(conn)
                if not keep:
                    _quietly_unbind(conn)
            self._slots.release()

    def bind_as(self, dn: str, password: str) -> bool:
        """Whether ``dn`` binds with ``password``. An empty password is refused
        here: RFC 4513 §5.1.2 makes it an *unauthenticated* bind that servers may
        accept, which must never count as a correct password."""
        if not dn or not password:
            return False
        conn = self._open(dn, password)
        try:
            if conn.bound:
                return True
            result = (conn.result or {}).get("result")
            if result == RESULT_INVALID_CREDENTIALS:
                return False
            raise self.fail(f"bind as the user failed ({(conn.result or {}).get('description')})")
        finally:
            _quietly_unbind(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            _quietly_unbind(conn)


def _quietly_unbind(conn: Connection) -> None:
    # A failing unbind means the socket is gone already; nothing else to release.
    with suppress(ldap_errors.LDAPException, OSError):
        conn.unbind()
