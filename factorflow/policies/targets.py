"""Which objects a request touches: the declared targets of every event.

An administrator limited by admin policies needs the right an event asks for
(:mod:`factorflow.policies.rights`) on *every* object the request touches, not on
the first one found. :data:`TARGETS` says for each event which of its parameters
name which objects; the authorizer resolves them (:mod:`factorflow.policies.objects`)
and grants the request only when each :class:`Target` is granted:

* **a token** (:class:`Tokens`; serials, comma lists, ``from`` / ``to``): an owned
  token is in its owner's realm, with the owner's resolver, login and attributes; an
  unowned token is in its token realms, and the right in *one* of them suffices
  (privacyIDEA's spare tokens shared by several realms); an unowned token in no
  realm is matched without a realm (privacyIDEA: "the condition realm is also
  evaluated to true if the token is in no realm").
* **a user** (:class:`User`): the current owner when tokens are selected by user, the
  new owner of an assignment, enrolment or copy; an unknown user is in the realm
  the request names (or the default realm). A realm alone names that realm.
* **realms** (:class:`Realms`, :class:`RealmChange`): the realms a token is put into
  (or taken out of), a realm that is written or deleted, the default realm.
* **a user store** (:class:`Resolvers`, :class:`StoreUser`, :class:`ResolverChange`):
  writing a store, or a user in it, touches every realm that contains the store
  (the same record is a user of each); a store in no realm is matched without one.

A parameter that names an object without touching it — a filter of a listing the
routes narrow to the admin's realms, the question of ``/policy/check`` — is declared
with :class:`NotTargets` and a reason. A route parameter in :data:`OBJECT_PARAMS`
that its event does not declare fails ``tests/policies/test_targets.py``: a new
route must say what it touches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from factorflow.errors import ParameterError
from factorflow.policies.matching import Facts

#: Most names one parameter may list when targets are resolved (the bound of the
#: token services' list parameters): each is looked up before the request runs.
MAX_NAMES = 1000
#: Parameter names that name tokens, users, realms or user stores.
OBJECT_PARAMS = frozenset(
    {"serial", "serials", "from", "to", "user", "username", "userid", "realm", "realms",
     "tokenrealm", "tokenrealms", "resolver", "resolvers"}
)  # fmt: skip


@dataclass(frozen=True)
class Target:
    """One object a request touches, as the policy matching sees it. No realms: the
    object is in no realm and policies are matched without one."""

    label: str
    realms: tuple[str, ...] = ()
    #: The right in one of ``realms`` suffices (an unowned token), else in each.
    any_realm: bool = False
    resolver: str | None = None
    user: str | None = None
    userinfo: Facts | None = None
    tokeninfo: Facts | None = None
    facts_key: str = ""


#: A request that names no object: matched without realm, resolver or user.
NO_TARGET = Target("the request")


class ObjectLookup(Protocol):
    """The request's objects as targets (implemented on the database session)."""

    def token(self, serial: str) -> Target | None:
        """None for an unknown serial (the service answers 404)."""

    def user(self, login: str, realm: str) -> Target: ...

    def store_user(self, login: str, resolver: str, realm: str) -> Target:
        """The user's record in its store: ``resolver`` or the store ``login`` resolves to."""

    def resolver(self, name: str, login: str | None = None) -> Target: ...

    def realm(self, name: str) -> Target: ...

    def default_realm(self) -> str | None: ...

    def token_realms(self, serial: str) -> tuple[frozenset[str], str | None] | None:
        """The token realms and the owner's realm; None for an unknown serial."""

    def realm_resolvers(self, realm: str) -> frozenset[str]: ...


Params = Mapping[str, object]


def text(value: object, *, strip: bool = True) -> str:
    """A scalar parameter as text (JSON numbers included); anything else is empty.
    A user's login and realm are taken as sent (``strip=False``): the user service
    looks them up so."""
    if isinstance(value, str):
        return value.strip() if strip else value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def names(params: Params, param: str) -> list[str]:
    """Parameter ``param`` as a comma list (or JSON list) of names, as the services
    split it; more than :data:`MAX_NAMES` is refused (400)."""
    value = params.get(param)
    items = value if isinstance(value, list | tuple) else text(value).split(",")
    found = [name for name in (text(item) for item in items) if name]
    if len(found) > MAX_NAMES:
        raise ParameterError(f"Invalid parameter {param!r}: at most {MAX_NAMES} names")
    return found


def exact(name: str) -> bool:
    """Wildcards select nothing to authorize: listings filter, other services refuse them."""
    return "*" not in name and "%" not in name


class Spec:
    """Parameters of an event that name objects, and the targets they become."""

    def __init__(self, *params: str) -> None:
        self.params: tuple[str, ...] = params

    def targets(self, params: Params, lookup: ObjectLookup) -> Iterator[Target]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.params!r}"


class Tokens(Spec):
    """Tokens by serial; every parameter may be a comma or JSON list."""

    def targets(self, params: Params, lookup: ObjectLookup) -> Iterator[Target]:
        for param in self.params:
            for serial in names(params, param):
                target = lookup.token(serial) if exact(serial) else None
                if target is not None:
                    yield target


class User(Spec):
    """The user ``login`` (the first given of ``logins``) in ``realm``; without a
    login, the realms that ``realm`` names (a comma list in listings)."""

    def __init__(self, *logins: str, realm: str = "realm") -> None:
        super().__init__(*logins, realm)
        self.logins, self.realm = logins, realm

    def targets(self, params: Params, lookup: ObjectLookup) -> Iterator[Target]:
        logins = (text(params.get(p), strip=False) for p in self.logins)
        login = next((v for v in logins if v), "")
        if login:
            yield lookup.user(login, text(params.get(self.realm), strip=False))
            return
        yield from Realms(self.realm).targets(params, lookup)


class Realms(Spec):
    """Realms by name (comma lists)."""

    def targets(self, params: Params, lookup: ObjectLookup) -> Iterator[Target]:
        for param in self.params:
            for name in names(params, param):
                if exact(name):
                    yield lookup.realm(name)


class RealmChange(Spec):
    """``/token/realm``: every realm put into or taken out of the token named by
    ``serial`` (the owner's realm always stays, so it does not change)."""

    def __init__(self, realms: str, *, serial: str = "serial") -> None:
        super().__init__(realms)
        self.realms, self.serial = realms, serial

    def targets(self, params: Params, lookup: ObjectLookup) -> Iterator[Target]:
        state = lookup.token_realms(text(params.get(self.serial)))
        if state is None:
            return
        current, owner_realm = state
        wanted = {name.lower() for name in names(params, self.realms)}
        kept = {owner_realm} if owner_realm else set()
        for name in sorted((wanted ^ current) - kept):
            yield lookup.realm(name)


class DefaultRealm(Spec):
    """The current default realm (it stops being the default)."""

    def targets(self, params: Params, lookup: ObjectLookup) -> Iterator[Target]:
        name = lookup.default_realm()
        if name:
            yield lookup.realm(name)


class Resolvers(Spec):
    """User stores by name; writing one touches every realm that contains it."""

    def __init__(self, *params: str, login: str | None = None) -> None:
        super().__init__(*params, *((login,) if login else ()))
        self.resolvers, self.login = params, login

    def targets(self, params: Params, lookup: ObjectLookup) -> Iterator[Target]:
        login = text(params.get(self.login), strip=False) if self.login else ""
        for param in self.resolvers:
            for name in names(params, param):
                yield lookup.resolver(name, login or None)


class StoreUser(Spec):
    """A user's record in its store (``resolver``, or the store the user resolves to):
    changing it changes the user in every realm that contains the store."""

    def __init__(self, login: str, *, resolver: str = "resolver", realm: str = "") -> None:
        super().__init__(login, resolver, *((realm,) if realm else ()))
        self.login, self.resolver, self.realm = login, resolver, realm

    def targets(self, params: Params, lookup: ObjectLookup) -> Iterator[Target]:
        login = text(params.get(self.login), strip=False)
        if login:
            realm = text(params.get(self.realm), strip=False) if self.realm else ""
            yield lookup.store_user(login, text(params.get(self.resolver)), realm)


class ResolverChange(Spec):
    """``POST /realm/<realm>``: every store added to the realm (its users become users
    of the realm; removing one only touches the realm itself)."""

    def __init__(self, resolvers: str, *, realm: str = "realm") -> None:
        super().__init__(resolvers)
        self.resolvers, self.realm = resolvers, realm

    def targets(self, params: Params, lookup: ObjectLookup) -> Iterator[Target]:
        current = lookup.realm_resolvers(text(params.get(self.realm)))
        for name in names(params, self.resolvers):
            if name not in current:
                yield lookup.resolver(name)


class NotTargets(Spec):
    """Parameters that name objects without touching them, with the reason."""

    def __init__(self, *params: str, why: str) -> None:
        super().__init__(*params)
        self.why = why

    def targets(self, params: Params, lookup: ObjectLookup) -> Iterator[Target]:
        return iter(())


FILTERS = "filters of a listing that the route narrows to the admin's realms"
MACHINES = "a machine resolver or an account on a machine, not a user store or user"
SELECTION = (Tokens("serial", "serials"), User("user"))
ONE_TOKEN = (Tokens("serial"),)

#: Event → the specs of what its parameters touch. Every non-public event is here.
TARGETS: dict[str, tuple[Spec, ...]] = {
    "token_init": (Tokens("serial"), User("user"), Realms("tokenrealm")),
    "token_list": (User("user"), Realms("tokenrealm"),
                   NotTargets("serial", "resolver", "userid", why=FILTERS)),
    "token_assign": (Tokens("serial"), User("user")),
    "token_unassign": SELECTION,
    "token_enable": SELECTION,
    "token_disable": SELECTION,
    "token_delete": SELECTION,
    "token_reset": SELECTION,
    "token_set": SELECTION,
    "token_resync": ONE_TOKEN,
    "token_setpin": ONE_TOKEN,
    "token_realm": (Tokens("serial"), RealmChange("realms")),
    "token_info": ONE_TOKEN,
    "token_assign_group": ONE_TOKEN,
    "token_unassign_group": ONE_TOKEN,
    "token_getchallenges": (User("user"), NotTargets("serial", why=FILTERS)),
    "token_revoke": ONE_TOKEN,
    "token_lost": ONE_TOKEN,
    "token_getserial": (NotTargets("serial", why=FILTERS),),
    "token_copypin": (Tokens("from", "to"),),
    "token_copyuser": (Tokens("from", "to"),),
    "token_setrandompin": ONE_TOKEN,
    # The realms the file's tokens go into (the route checks the owners' realms of an
    # OATH CSV version 2 file); every exported token.
    "token_load": (Realms("tokenrealms"),),
    "token_export": (Tokens("serial"),),
    "tokengroup_list": (),
    "tokengroup_add": (),
    "tokengroup_delete": (),
    "validate_triggerchallenge": (Tokens("serial"), User("user")),
    "user_list": (User("username", "user"), NotTargets("resolver", why=FILTERS)),
    "user_count": (User("username", "user"), NotTargets("resolver", why=FILTERS)),
    "get_user_attribute": (User("user"),),
    "set_custom_user_attribute": (User("user"),),
    "delete_custom_user_attribute": (User("username"),),
    "user_add": (Resolvers("resolver", login="user"), Realms("realm")),
    "user_update": (User("user"), StoreUser("user", realm="realm")),
    "user_delete": (StoreUser("username"),),
    "audit_list": (Realms("realm"), NotTargets("serial", "user", "resolver", why=FILTERS)),
    "audit_download": (Realms("realm"), NotTargets("serial", "user", "resolver", why=FILTERS)),
    "resolver_list": (NotTargets("resolver", why="store definitions are read as a whole "
                                 "(privacyIDEA); their secrets are censored"),),
    "resolver_write": (Resolvers("resolver"),),
    "resolver_test": (Resolvers("resolver"),),
    "resolver_delete": (Resolvers("resolver"),),
    "realm_list": (),
    "realm_write": (Realms("realm"), ResolverChange("resolvers")),
    "realm_delete": (Realms("realm"),),
    "defaultrealm_get": (),
    "defaultrealm_set": (Realms("realm"), DefaultRealm()),
    "defaultrealm_delete": (DefaultRealm(),),
    "policy_list": (),
    "policy_check": (NotTargets("realm", "resolver", "user", why="describe the request "
                                "to decide; nothing is touched"),),
    "policy_write": (),
    "policy_enable": (),
    "policy_disable": (),
    "policy_delete": (),
    "event_list": (),
    "event_test": (Tokens("serial"), User("user")),
    "event_write": (),
    "event_enable": (),
    "event_disable": (),
    "event_delete": (),
    "eventstream_list": (),
    "eventstream_write": (),
    "eventstream_delete": (),
    "event_workflow_list": (),
    "event_workflow_cancel": (),
    "event_paused_list": (),
    "event_paused_confirm": (),
    "event_paused_cancel": (),
    "smtpserver_list": (),
    "smtpserver_write": (),
    "smtpserver_test": (),
    "smtpserver_delete": (),
    "privacyideaserver_list": (),
    "privacyideaserver_write": (),
    "privacyideaserver_test": (NotTargets("user", "username", "realm", why="a user of the "
                                          "remote server, not of this one"),),
    "privacyideaserver_delete": (),
    "radiusserver_list": (),
    "radiusserver_write": (),
    "radiusserver_test": (NotTargets("username", why="a user of the RADIUS server, not of "
                                     "this one"),),
    "radiusserver_delete": (),
    "smsgateway_list": (),
    "smsgateway_write": (),
    "smsgateway_test": (),
    "smsgateway_delete": (),
    "jobs_list": (),
    "job_get": (),
    "job_retry": (),
    "job_discard": (),
    # Machines: "resolver" is a machine resolver and "user" an account on an SSH
    # server, neither a user store nor a user of this server; a link touches its token.
    "machineresolver_list": (NotTargets("resolver", why=MACHINES),),
    "machineresolver_write": (NotTargets("resolver", why=MACHINES),),
    "machineresolver_test": (NotTargets("resolver", why=MACHINES),),
    "machineresolver_delete": (NotTargets("resolver", why=MACHINES),),
    "machine_list": (NotTargets("resolver", why=MACHINES),),
    "machine_token_attach": (Tokens("serial"), NotTargets("resolver", "user", why=MACHINES)),
    "machine_token_detach": (Tokens("serial"), NotTargets("resolver", why=MACHINES)),
    "machine_token_list": (NotTargets("serial", "resolver", why=FILTERS),),
    "machine_tokenoption": (Tokens("serial"), NotTargets("resolver", "user", why=MACHINES)),
    "machine_authitem": (NotTargets("user", why=MACHINES),),
    "serviceid_list": (),
    "serviceid_add": (),
    "serviceid_delete": (),
    # CA connectors are system-wide, in no realm (privacyIDEA's config scope).
    "caconnector_read": (),
    "caconnector_crl": (),
    "caconnector_write": (),
    "caconnector_delete": (),
    # The caller's own enrolment rights, the types' descriptions and a resolver type's
    # defaults: no object.
    "auth_rights": (),
    "token_types": (),
    "resolver_defaults": (),
    # The caller's own attributes, or those of the user named.
    "get_editable_attributes": (User("user"),),
    # The caller's own settings, named by the JWT, never by a parameter.
    "user_settings_get": (),
    "user_settings_set": (),
    "user_settings_delete": (),
    # System-wide settings, documentation and random bytes: in no realm.
    "system_list": (),
    "system_write": (),
    "system_delete": (),
    "system_documentation": (),
    "system_random": (),
    "system_nodes": (),
    # The caller's own session; login throttling is not realm-bound.
    "auth_logout": (),
    "auth_lockout_list": (),
    "auth_lockout_delete": (),
    # Names a transaction, not a token: the route refuses unless the admin may see
    # every token of the transaction.
    "token_cancelchallenge": (),
}  # fmt: skip


def declared_params(event: str) -> frozenset[str]:
    """The parameters the event's specs read (targets and declared non-targets)."""
    return frozenset(p for spec in TARGETS.get(event, ()) for p in spec.params)


def targets_of(event: str, params: Params, lookup: ObjectLookup) -> list[Target]:
    """The distinct targets of a request (none: it names no object)."""
    found: dict[str, Target] = {}
    for spec in TARGETS.get(event, ()):
        for target in spec.targets(params, lookup):
            found.setdefault(target.label, target)
    return list(found.values())
