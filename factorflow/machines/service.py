"""Machine use cases: ``/machineresolver/``, ``/machine/``, ``/serviceid/`` and the
offline refill. The API routes and the Token handler's ``attach application`` call
the same methods (:meth:`MachineService.attach`), with the same checks."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from factorflow.core.checks import check_name
from factorflow.crypto import SecretBox
from factorflow.db.named import NamedConfigs
from factorflow.errors import ParameterError
from factorflow.machines.applications import APPLICATIONS, application, check_options
from factorflow.machines.base import Machine, MachineFilter, MachineResolver
from factorflow.machines.catalog import MachineResolverCatalog
from factorflow.machines.errors import MachineNotFoundError
from factorflow.machines.items import (
    REFILL_REFUSED,
    luks_items,
    offline_item,
    refill,
    ssh_items,
)
from factorflow.machines.links import (
    LinkFilter,
    add_link,
    delete_options,
    describe_link,
    find_links,
    options_of,
    set_options,
)
from factorflow.machines.models import MachineResolverConfig, MachineToken, ServiceId
from factorflow.machines.offline_cache import OfflineTokens
from factorflow.registry import Registry
from factorflow.tokens.errors import TokenNotFoundError
from factorflow.tokens.models import Token
from factorflow.tokens.service import TokenService


def missing_serviceid(name: str) -> MachineNotFoundError:
    return MachineNotFoundError(f"The service id {name[:130]!r} does not exist.")


@dataclass(frozen=True)
class Target:
    """Where a link points: a machine (``hostname``, or ``machineid`` + ``resolver``),
    or nothing (a service id or any machine)."""

    hostname: str = ""
    machineid: str = ""
    resolver: str = ""

    @property
    def given(self) -> bool:
        return bool(self.hostname or self.machineid or self.resolver)


@dataclass(frozen=True)
class AttachRequest:
    serial: str
    application: str
    target: Target = Target()
    #: The application's parameters and any other, stored as options of the link.
    options: dict[str, str] = field(default_factory=dict)


class MachineService:
    def __init__(
        self,
        box: SecretBox,
        types: Registry[MachineResolver],
        tokens: TokenService,
        reload_seconds: float,
    ) -> None:
        self.resolvers = MachineResolverCatalog(box, types)
        self.tokens = tokens
        self.offline_tokens = OfflineTokens(reload_seconds)
        self._serviceids = NamedConfigs(ServiceId, missing_serviceid, column="name")

    # -- machines -----------------------------------------------------------------------

    def machines(
        self, session: Session, wanted: MachineFilter, resolver: str = ""
    ) -> list[tuple[MachineResolverConfig, Machine]]:
        rows = [self.resolvers.get(session, resolver)] if resolver else self.resolvers.all(session)
        found = []
        for row in rows:
            found += [(row, m) for m in self.resolvers.resolver(row).machines(wanted)]
        return found

    def list_machines(
        self, session: Session, wanted: MachineFilter, resolver: str = ""
    ) -> list[dict[str, Any]]:
        return [machine.describe() for _, machine in self.machines(session, wanted, resolver)]

    def machine(self, session: Session, target: Target) -> tuple[MachineResolverConfig, Machine]:
        """The one machine ``target`` names; 404 for none, 400 for several."""
        if not target.given:
            raise ParameterError("Missing parameter: 'hostname' or 'machineid' and 'resolver'")
        if target.machineid or target.resolver:
            if not (target.machineid and target.resolver):
                raise ParameterError("Give machineid and resolver together, or a hostname.")
            wanted = MachineFilter(id=target.machineid, hostname=target.hostname)
            found = self.machines(session, wanted, target.resolver)
        else:
            found = self.machines(session, MachineFilter(hostname=target.hostname))
        if not found:
            raise MachineNotFoundError("No machine with this hostname or id was found.")
        if len(found) > 1:
            raise ParameterError(
                f"The hostname {target.hostname[:100]!r} names {len(found)} machines; "
                "give machineid and resolver."
            )
        return found[0]

    def _hostname(self, session: Session, link: MachineToken) -> str:
        if link.resolver is None or link.machine_id is None:
            return ""
        resolver = self.resolvers.resolver(link.resolver)
        found = resolver.machines(MachineFilter(id=link.machine_id))
        return found[0].hostname if found else ""

    # -- service ids --------------------------------------------------------------------

    def list_serviceids(self, session: Session, name: str = "") -> dict[str, dict[str, Any]]:
        return {
            row.name: {"name": row.name, "description": row.description, "id": row.id}
            for row in self._serviceids.selected(session, name)
        }

    def save_serviceid(self, session: Session, name: str, description: str) -> int:
        check_name("service id", name)
        return self._serviceids.save(session, name, {"description": description}).id

    def delete_serviceid(self, session: Session, name: str) -> None:
        row = self._serviceids.get(session, name)
        used = find_links(session, LinkFilter(application="ssh", options={"service_id": name}))
        if used:
            raise ParameterError(f"The service id {name!r} is still used by {len(used)} ssh keys.")
        self._serviceids.remove(session, row)

    # -- links --------------------------------------------------------------------------

    def _token(self, session: Session, serial: str) -> Token:
        token = self.tokens.access.find(session, serial) if serial else None
        if token is None:
            raise TokenNotFoundError(f"The token with serial {serial[:64]!r} does not exist.")
        return token

    def attach(self, session: Session, req: AttachRequest) -> MachineToken:
        """Attach a token for an application, to one machine or (ssh) a service id."""
        app = application(req.application)
        token = self._token(session, req.serial)
        if app.token_types and token.tokentype not in app.token_types:
            raise ParameterError(
                f"The application {app.name} needs a token of type "
                f"{' or '.join(sorted(app.token_types))}, not {token.tokentype}."
            )
        options = check_options(app, req.options)
        service_id = options.get("service_id", "")
        if service_id:
            self._serviceids.get(session, service_id)
        machine = self.machine(session, req.target) if req.target.given else None
        if app.needs_target and machine is None and not service_id:
            raise ParameterError(f"The application {app.name} needs a hostname or a service_id.")
        link = add_link(session, token, app.name, machine, options)
        if app.name == "offline":
            self.offline_tokens.changed(session)
        return link

    def detach(
        self,
        session: Session,
        serial: str,
        application_name: str,
        *,
        target: Target = Target(),
        mtid: int | None = None,
    ) -> int:
        """Remove links of ``serial`` for the application: one by ``mtid``, or those
        of the machine ``target`` names. 404 when none matched."""
        application(application_name)
        self._token(session, serial)
        wanted = LinkFilter(serial=serial, application=application_name, mtid=mtid)
        if mtid is None:
            row, machine = self.machine(session, target)
            wanted = LinkFilter(
                serial=serial, application=application_name, machines=((row.id, machine.id),)
            )
        links = find_links(session, wanted)
        if not links:
            raise MachineNotFoundError("The token is not attached there.")
        for link in links:
            session.delete(link)
        session.flush()
        if application_name == "offline":
            self.offline_tokens.changed(session)
        return len(links)

    def links(
        self,
        session: Session,
        *,
        serial: str = "",
        application_name: str = "",
        target: Target = Target(),
        realms: frozenset[str] | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /machine/token``: links filtered by serial, application and machine;
        ``realms`` narrows to the tokens an admin limited to them may see."""
        if application_name:
            application(application_name)
        machines = None
        if target.given:
            wanted = MachineFilter(hostname=target.hostname, id=target.machineid)
            machines = tuple(
                (r.id, m.id) for r, m in self.machines(session, wanted, target.resolver)
            )
        wanted_links = LinkFilter(
            serial=serial, application=application_name, machines=machines, realms=realms
        )
        found = find_links(session, wanted_links)
        return [describe_link(link, self._hostname(session, link)) for link in found]

    def set_link_options(
        self,
        session: Session,
        serial: str,
        application_name: str,
        *,
        target: Target = Target(),
        mtid: int | None = None,
        values: dict[str, str],
        delete: list[str],
    ) -> int:
        """``POST /machine/tokenoption``: set and delete options of the matching links;
        the application's own options are validated after the change."""
        app = application(application_name)
        self._token(session, serial)
        wanted = LinkFilter(serial=serial, application=application_name, mtid=mtid)
        if mtid is None and target.given:
            row, machine = self.machine(session, target)
            wanted = LinkFilter(
                serial=serial, application=application_name, machines=((row.id, machine.id),)
            )
        links = find_links(session, wanted)
        if not links:
            raise MachineNotFoundError("The token is not attached there.")
        changed = 0
        for link in links:
            merged = {k: v for k, v in options_of(link).items() if k not in delete}
            merged.update(values)
            checked = check_options(app, merged)
            changed += delete_options(link, delete)
            set_options(link, {k: v for k, v in checked.items() if k in values})
            changed += len(values)
        session.flush()
        return changed

    # -- authentication items -----------------------------------------------------------

    def auth_items(
        self,
        session: Session,
        application_name: str = "",
        *,
        hostname: str = "",
        service_id: str = "",
        user: str = "",
        challenge: str = "",
    ) -> dict[str, list[dict[str, Any]]]:
        """``GET /machine/authitem[/<application>]`` for the machine ``hostname`` names
        (exactly one) or the ``service_id``: ssh keys, (fetching moves counters)
        offline values, and LUKS challenge-response material (for ``challenge``)."""
        every = ["ssh", "offline", "luks"]
        apps = [application(application_name).name] if application_name else every
        if not (hostname or service_id):
            raise ParameterError("Missing parameter: 'hostname' or 'service_id'")
        machines: tuple[tuple[int, str], ...] = ()
        if hostname:
            row, machine = self.machine(session, Target(hostname=hostname))
            machines = ((row.id, machine.id),)
        if service_id:
            self._serviceids.get(session, service_id)
        items: dict[str, list[dict[str, Any]]] = {}
        if "ssh" in apps:
            links = find_links(session, LinkFilter(application="ssh", machines=machines))
            if service_id:
                by_service = LinkFilter(application="ssh", options={"service_id": service_id})
                links += [link for link in find_links(session, by_service) if link not in links]
            items["ssh"] = ssh_items(self.tokens, links, user)
        if "offline" in apps and hostname:
            links = find_links(session, LinkFilter(application="offline", machines=machines))
            items["offline"] = [
                offline_item(session, self.tokens, link)
                for link in links
                if _usable_hotp(link) and (not user or _owner_login(self, session, link) == user)
            ]
        if "luks" in apps and hostname:
            links = find_links(session, LinkFilter(application="luks", machines=machines))
            items["luks"] = luks_items(self.tokens, links, challenge)
        return items

    def offline_after_check(
        self, session: Session, token: Token, client_ip: str
    ) -> dict[str, list[dict[str, Any]]] | None:
        """The ``auth_items`` a successful ``/validate/check`` of ``token`` carries:
        offline values when the token is attached for offline use to any machine or to
        the machine at ``client_ip`` (privacyIDEA's offline post-policy). Tokens
        without an offline link cost no query (:mod:`factorflow.machines.offline_cache`)."""
        if not self.offline_tokens.attached(session, token.id):
            return None
        links = find_links(session, LinkFilter(serial=token.serial, application="offline"))
        for link in links:
            if _usable_hotp(link) and (
                link.machine_id is None or self._at(session, link, client_ip)
            ):
                return {"offline": [offline_item(session, self.tokens, link)]}
        return None

    def _at(self, session: Session, link: MachineToken, client_ip: str) -> bool:
        try:
            ip = str(ipaddress.ip_address(client_ip))
        except ValueError:
            return False
        if link.resolver is None or link.machine_id is None:
            return False
        found = self.resolvers.resolver(link.resolver).machines(MachineFilter(id=link.machine_id))
        return any(ip in machine.ips for machine in found)

    def refill(
        self, session: Session, serial: str, password: str, refilltoken: str
    ) -> dict[str, Any]:
        links = find_links(session, LinkFilter(serial=serial, application="offline"))
        if not links:
            raise ParameterError(REFILL_REFUSED)
        return {
            "offline": [
                {"serial": serial, **refill(session, self.tokens, links[0], password, refilltoken)}
            ]
        }


def _usable_hotp(link: MachineToken) -> bool:
    return link.token.tokentype in APPLICATIONS["offline"].token_types


def _owner_login(service: MachineService, session: Session, link: MachineToken) -> str:
    owner = service.tokens.access.owner_of(session, link.token)
    return owner.login if owner is not None else ""
