"""Token links (``machinetoken`` rows): attach, find, describe and detach, and the
options they keep. The applications' logic is in :mod:`factorflow.machines.items`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from factorflow.errors import ParameterError
from factorflow.machines.applications import APPLICATIONS
from factorflow.machines.base import Machine
from factorflow.machines.models import MachineResolverConfig, MachineToken, MachineTokenOption
from factorflow.tokens.listing import visible_in
from factorflow.tokens.models import Token


@dataclass(frozen=True)
class LinkFilter:
    """Which links ``GET /machine/token`` and the auth items look at; empty fields
    match everything. ``machines`` (resolver id, machine id) narrows to those machines;
    ``machineless`` adds the links of no machine."""

    serial: str = ""
    application: str = ""
    mtid: int | None = None
    machines: tuple[tuple[int, str], ...] | None = None
    machineless: bool = False
    options: Mapping[str, str] = field(default_factory=dict)
    #: Only tokens an administrator limited to these realms (lower case) may see.
    realms: frozenset[str] | None = None


def options_of(link: MachineToken) -> dict[str, str]:
    return {option.mt_key: option.mt_value for option in link.options}


def set_options(link: MachineToken, options: Mapping[str, str]) -> None:
    current = {option.mt_key: option for option in link.options}
    for key, value in options.items():
        if key in current:
            current[key].mt_value = value
        else:
            link.options.append(MachineTokenOption(mt_key=key, mt_value=value))


def delete_options(link: MachineToken, keys: Iterable[str]) -> int:
    wanted = set(keys)
    removed = [option for option in link.options if option.mt_key in wanted]
    for option in removed:
        link.options.remove(option)
    return len(removed)


def _query(wanted: LinkFilter) -> Select[MachineToken]:
    stmt = select(MachineToken).join(Token, MachineToken.token_id == Token.id)
    if wanted.serial:
        stmt = stmt.where(Token.serial == wanted.serial)
    if wanted.application:
        stmt = stmt.where(MachineToken.application == wanted.application)
    if wanted.realms is not None:
        stmt = stmt.where(visible_in(wanted.realms))
    if wanted.mtid is not None:
        stmt = stmt.where(MachineToken.id == wanted.mtid)
    if wanted.machines is not None:
        terms: list[ColumnElement[bool]] = [
            (MachineToken.machineresolver_id == rid) & (MachineToken.machine_id == mid)
            for rid, mid in wanted.machines
        ]
        if wanted.machineless:
            terms.append(MachineToken.machine_id.is_(None))
        if not terms:
            return stmt.where(MachineToken.id.is_(None))
        stmt = stmt.where(or_(*terms))
    return stmt.order_by(MachineToken.id)


def find_links(session: Session, wanted: LinkFilter) -> list[MachineToken]:
    links: list[MachineToken] = list(session.scalars(_query(wanted)).unique())
    if wanted.options:
        links = [
            link
            for link in links
            if all(options_of(link).get(k) == v for k, v in wanted.options.items())
        ]
    return links


def add_link(
    session: Session,
    token: Token,
    application: str,
    machine: tuple[MachineResolverConfig, Machine] | None,
    options: Mapping[str, str],
) -> MachineToken:
    """A new link; the same token attached twice to one machine (or, without a machine,
    to one service id) for one application is refused."""
    if application not in APPLICATIONS:
        raise ParameterError(f"Unknown application {application[:40]!r}")
    wanted = LinkFilter(
        serial=token.serial,
        application=application,
        machines=((machine[0].id, machine[1].id),) if machine else None,
    )
    existing = [
        link
        for link in find_links(session, wanted)
        if (machine is not None or link.machine_id is None)
        and (machine is not None or options_of(link).get("service_id") == options.get("service_id"))
    ]
    if existing:
        raise ParameterError(
            f"The token {token.serial!r} is already attached to this "
            f"{'machine' if machine else 'target'} for {application}."
        )
    link = MachineToken(
        token_id=token.id,
        application=application,
        machineresolver_id=machine[0].id if machine else None,
        machine_id=machine[1].id if machine else None,
    )
    link.options = [MachineTokenOption(mt_key=k, mt_value=v) for k, v in options.items()]
    session.add(link)
    session.flush()
    return link


def describe_link(link: MachineToken, hostname: str = "") -> dict[str, Any]:
    """privacyIDEA's entry of ``GET /machine/token``."""
    return {
        "id": link.id,
        "serial": link.token.serial,
        "type": link.token.tokentype,
        "application": link.application,
        "machine_id": link.machine_id,
        "resolver": link.resolver.name if link.resolver is not None else None,
        "hostname": hostname,
        "options": options_of(link),
    }
